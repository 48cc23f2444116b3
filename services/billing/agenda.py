"""Installments due, as calendar events (``rac_shared.contracts.calendar``).

An accepted plan's installments get their due dates from the acceptance or a milestone; the
institution that invoices them and the employer that pays them can keep those dates in
their calendars. Only dated installments still to come or invoiced are shown (a cancelled
one is gone). The ministry reads billing's figures, not calendars.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery
from rac_shared.formatting import money
from services.billing.models import CANCELLED, INVOICED, BillingPlan, Installment

UID_DOMAIN = "facturation.rac.quebec"


def calendar_events(session: Session, actor: Actor, query: CalendarQuery) -> list[CalendarEvent]:
    if query.call_id is not None or not (actor.is_institution or actor.is_employer):
        return []
    party = Installment.employer_id if actor.is_employer else Installment.institution_id
    rows = select(Installment, BillingPlan.reference).join(
        BillingPlan, BillingPlan.plan_id == Installment.plan_id
    )
    rows = rows.where(
        party == actor.organisation_id,
        Installment.due_on.is_not(None),
        Installment.status != CANCELLED,
    )
    if query.plan_id is not None:
        rows = rows.where(Installment.plan_id == query.plan_id)
    events = []
    for installment, reference in session.execute(rows.order_by(Installment.due_on)):
        state = "facturé" if installment.status == INVOICED else "à facturer"
        events.append(
            CalendarEvent(
                uid=f"versement-{installment.id}@{UID_DOMAIN}",
                title=(
                    f"Versement {installment.position} de {installment.count}, plan "
                    f"{reference} : {money(installment.amount)} ({state})"
                ),
                start=installment.due_on,
                description=(
                    f"{installment.label} : {money(installment.amount)} taxes comprises, "
                    "facturé à cette date par la plateforme."
                ),
                path="/facturation",
            )
        )
    return events
