"""Who sees and does what in billing (enforced here; the gateway routes mirror it).

- institution users: their institution's estimates, invoices, credit notes, payments
  (recording them, importing bank files), statements per employer and aging report;
- employer representatives: their own invoices, credit notes and statement (read only);
- the ministry: reads everything (no recording).
Another tenant's invoice or credit note is "not found", never "forbidden".
"""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.errors import forbidden, not_found
from services.billing.models import CreditNote, Invoice


def sees(actor: Actor, institution_id: int, employer_id: int) -> bool:
    return actor.is_ministry or actor.organisation_id in (institution_id, employer_id)


def scope(query: Select, actor: Actor, model) -> Select:
    """Restrict a query on invoices, credit notes or payments to the actor's tenant."""
    if actor.is_ministry:
        return query
    if actor.is_employer:
        return query.where(model.employer_id == actor.organisation_id)
    if actor.is_institution:
        return query.where(model.institution_id == actor.organisation_id)
    return query.where(False)


def ensure_institution(actor: Actor) -> None:
    if not actor.is_institution:
        raise forbidden("Cette opération est réservée aux établissements d'enseignement.")


def visible_invoice(session: Session, actor: Actor, invoice_id: int, lock: bool = False):
    if lock:
        invoice = session.get(Invoice, invoice_id, with_for_update=True)
    else:
        invoice = session.get(Invoice, invoice_id)
    if invoice is None or not sees(actor, invoice.institution_id, invoice.employer_id):
        raise not_found("Facture introuvable.")
    return invoice


def visible_credit_note(session: Session, actor: Actor, credit_note_id: int) -> CreditNote:
    credit = session.get(CreditNote, credit_note_id)
    if credit is None or not sees(actor, credit.institution_id, credit.employer_id):
        raise not_found("Note de crédit introuvable.")
    return credit
