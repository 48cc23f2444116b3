"""Mandats particuliers: the ministry entrusts a CERAC with a special mandate (object,
deliverables, due date, amount) and the CERAC reports on it with the same mechanics as its
yearly report, one section per deliverable (see ``reporting.py``).

The amount is Decimal, rounded once to the cent; it is outside the operating cap of
250 000 $ (funding is the billing service's concern: it learns of the mandate from the
``cerac.special_mandate_assigned`` event).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, Role
from rac_shared.clock import clock
from rac_shared.errors import forbidden, invalid, not_found
from rac_shared.events import CeracSpecialMandateAssigned
from rac_shared.formatting import round_money
from rac_shared.outbox import record_event
from services.applications import reporting
from services.applications.models import CeracRecord, SpecialMandate


def ensure_admin(actor: Actor) -> None:
    if actor.role != Role.MINISTRY_ADMIN:
        raise forbidden("Seule l'administration du Ministère confie des mandats particuliers.")


def assign(session: Session, actor: Actor, data) -> SpecialMandate:
    """Create the mandate and its report (draft), and announce it (``SpecialMandateIn``)."""
    ensure_admin(actor)
    cerac = session.get(CeracRecord, data.cerac_id)
    if cerac is None:
        raise invalid("CERAC inconnu.", {"cerac_id": "Choisissez un CERAC du réseau."})
    if data.due_date < clock.today():
        raise invalid(
            "L'échéance d'un mandat particulier ne peut pas être dans le passé.",
            {"due_date": "Choisissez une date à venir."},
        )
    mandate = SpecialMandate(
        cerac_id=cerac.id,
        object=data.object,
        deliverables=list(data.deliverables),
        due_date=data.due_date,
        amount=round_money(data.amount),
        assigned_by_user_id=actor.user_id,
        assigned_by_name=actor.full_name,
        assigned_at=clock.now(),
    )
    session.add(mandate)
    session.flush()
    reporting.create_mandate_report(session, mandate)
    if cerac.organisation_id is not None:
        record_event(
            session,
            CeracSpecialMandateAssigned(
                special_mandate_id=mandate.id,
                cerac_id=cerac.id,
                organisation_id=cerac.organisation_id,
                organisation_name=cerac.organisation_name,
                object=mandate.object,
                deliverables=list(mandate.deliverables),
                due_date=mandate.due_date,
                amount=mandate.amount,
                assigned_by_user_id=actor.user_id,
            ),
        )
    return mandate


def list_mandates(session: Session, actor: Actor) -> list[SpecialMandate]:
    reporting.ensure_reporting_area(actor)
    query = select(SpecialMandate).join(CeracRecord, CeracRecord.id == SpecialMandate.cerac_id)
    if actor.role not in reporting.STAFF_ROLES:
        query = query.where(CeracRecord.organisation_id == actor.organisation_id)
    return list(session.scalars(query.order_by(SpecialMandate.due_date, SpecialMandate.id)))


def get(session: Session, actor: Actor, mandate_id: int) -> SpecialMandate:
    reporting.ensure_reporting_area(actor)
    mandate = session.get(SpecialMandate, int(mandate_id))
    if mandate is None or not (
        actor.role in reporting.STAFF_ROLES
        or mandate.cerac.organisation_id == actor.organisation_id
    ):
        raise not_found("Mandat particulier introuvable.")
    return mandate
