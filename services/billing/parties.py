"""The parties a document names (a copy of each organisation kept with it) and the payment
instructions printed on an invoice.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.billing.models import (
    Organisation,
)


def party_snapshot(session: Session, organisation_id: int, cache: dict | None = None) -> dict:
    if cache is not None and organisation_id in cache:
        return cache[organisation_id]
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        snapshot = {
            "id": organisation_id,
            "code": f"E{organisation_id}",
            "name": f"Organisation n° {organisation_id}",
            "address": "",
            "gst_number": "",
            "qst_number": "",
            "payment_instructions": "",
        }
    else:
        snapshot = {
            "id": organisation.id,
            "code": organisation.code,
            "name": organisation.name,
            "address": organisation.address or "",
            "gst_number": organisation.gst_number or "",
            "qst_number": organisation.qst_number or "",
            "payment_instructions": organisation.payment_instructions or "",
        }
    if cache is not None:
        cache[organisation_id] = snapshot
    return snapshot


def payment_instructions(institution: dict, number_hint: str = "") -> str:
    if institution.get("payment_instructions"):
        return institution["payment_instructions"]
    return (
        f"Par virement bancaire ou par chèque à l'ordre de {institution['name']}, en indiquant "
        "le numéro de la facture en référence."
    )
