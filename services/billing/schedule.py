"""From an accepted plan to its installments: on ``plan.accepted`` the accepted version's
schedule becomes installments with due dates (a date, the acceptance date, or a milestone's
date once ``plan.milestone_reached`` arrives); an amendment's acceptance replaces the
installments not yet invoiced.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.clock import MONTREAL
from rac_shared.events import (
    PlanAccepted,
    PlanMilestoneReached,
)
from rac_shared.formatting import long_date
from services.billing import estimates as E
from services.billing import pricing as P
from services.billing.credit_notes import issue_credit_note
from services.billing.models import (
    CANCELLED,
    FROZEN,
    KIND_INSTALLMENT,
    PLAN_ACTIVE,
    PLAN_CANCELLED,
    SCHEDULED,
    BillingPlan,
    Estimate,
    Installment,
    Invoice,
    PlanMilestone,
)

log = logging.getLogger(__name__)


def _resolve_due(kind, due_date, milestone, offset_days, accepted_on, reached) -> date | None:
    if kind == "date":
        return due_date
    if milestone == "acceptance":
        return accepted_on + timedelta(days=offset_days)
    if milestone in reached:
        return reached[milestone] + timedelta(days=offset_days)
    return None  # known when the milestone is reached


def locked_plan(session: Session, payload) -> BillingPlan:
    """Billing's record of the plan an event names, locked for the handler's transaction;
    made from the event (an active plan) when this is the first billing hears of it."""
    plan = session.get(BillingPlan, payload.plan_id, with_for_update=True)
    if plan is None:
        plan = BillingPlan(
            plan_id=payload.plan_id,
            reference=payload.reference,
            institution_id=payload.institution_id,
            employer_id=payload.employer_id,
            status=PLAN_ACTIVE,
        )
        session.add(plan)
    return plan


def accept_plan(session: Session, payload: PlanAccepted) -> list[Installment]:
    """The accepted version's schedule becomes installments (once per plan version)."""
    accepted_on = payload.accepted_at.astimezone(MONTREAL).date()
    plan = locked_plan(session, payload)
    if plan.status == PLAN_CANCELLED:
        log.warning("plan %s accepted after its cancellation: ignored", payload.plan_id)
        return []
    elif plan.accepted_version is not None and plan.accepted_version >= payload.version:
        return []  # this version (or a later one) is already the contract
    previous_version = plan.accepted_version
    plan.reference = payload.reference
    plan.accepted_version = payload.version
    plan.accepted_on = accepted_on
    session.flush()

    estimate = E.find(session, payload.plan_id, payload.version, lock=True)
    if estimate is None or estimate.institution_id != payload.institution_id:
        log.warning("plan %s v%s accepted without an estimate", payload.plan_id, payload.version)
        return []
    if estimate.status != FROZEN and estimate.lines:
        E.freeze(estimate)  # the accepted version is the contract: its estimate never changes

    if previous_version is not None:
        _replace_previous_versions(session, plan, estimate, accepted_on)

    reached = {
        m.milestone: m.reached_on
        for m in session.scalars(select(PlanMilestone).where(PlanMilestone.plan_id == plan.plan_id))
    }
    created = []
    count = len(estimate.schedule)
    for item in estimate.schedule:
        installment = Installment(
            plan_id=plan.plan_id,
            version=estimate.version,
            estimate_id=estimate.id,
            position=item.position,
            count=count,
            label=item.label,
            institution_id=estimate.institution_id,
            employer_id=estimate.employer_id,
            subtotal=item.subtotal,
            taxable_base=item.taxable_base,
            taxes=item.taxes,
            amount=item.amount,
            due_kind=item.due_kind,
            milestone=item.milestone,
            offset_days=item.offset_days,
            due_on=_resolve_due(
                item.due_kind,
                item.due_date,
                item.milestone,
                item.offset_days,
                accepted_on,
                reached,
            ),
            status=SCHEDULED,
        )
        if Decimal(item.amount) == P.ZERO:
            installment.status = CANCELLED
            installment.cancelled_reason = "Montant nul : rien à facturer."
        session.add(installment)
        created.append(installment)
    session.flush()
    return created


def _replace_previous_versions(
    session: Session, plan: BillingPlan, estimate: Estimate, accepted_on: date
) -> None:
    """An amendment's acceptance: the older versions' installments not yet invoiced are
    cancelled, and what was invoiced under them is credited (the new schedule bills the
    whole revised estimate)."""
    older = session.scalars(
        select(Installment)
        .where(Installment.plan_id == plan.plan_id, Installment.version < estimate.version)
        .with_for_update()
    ).all()
    for installment in older:
        if installment.status == SCHEDULED:
            installment.status = CANCELLED
            installment.cancelled_reason = (
                f"Remplacé par la version {estimate.version} du plan (avenant accepté le "
                f"{long_date(accepted_on)})."
            )
    invoices = session.scalars(
        select(Invoice).where(
            Invoice.plan_id == plan.plan_id,
            Invoice.kind == KIND_INSTALLMENT,
            Invoice.version < estimate.version,
        )
    ).all()
    if not invoices:
        return
    subtotal = sum((Decimal(i.subtotal) for i in invoices), P.ZERO)
    taxes = _sum_taxes([i.taxes for i in invoices])
    versions = sorted({i.version for i in invoices})
    issue_credit_note(
        session,
        source_key=f"amendment:{plan.plan_id}:{estimate.version}",
        reason_kind="amendment",
        reason=(
            f"Avenant : l'estimation de la version {estimate.version} remplace celle de la "
            f"version {', '.join(map(str, versions))} ; les montants déjà facturés sont crédités "
            "et le nouvel échéancier facture l'estimation révisée."
        ),
        plan=plan,
        version=estimate.version,
        lines=[
            {
                "description": "Montants facturés selon l'estimation remplacée "
                f"({', '.join(i.number for i in invoices)})",
                "quantity": "1",
                "unit_price": str(subtotal),
                "amount": str(subtotal),
            }
        ],
        subtotal=subtotal,
        taxes=taxes,
        invoice_id=None,
    )


def _sum_taxes(tax_lists: list[list[dict]]) -> list[P.TaxAmount]:
    sums: dict[str, list] = {}
    for taxes in tax_lists:
        for tax in taxes:
            entry = sums.setdefault(tax["name"], [Decimal(tax["rate"]), P.ZERO, P.ZERO])
            entry[1] += Decimal(tax["base"])
            entry[2] += Decimal(tax["amount"])
    return [
        P.TaxAmount(name, rate, base, amount)
        for name, (rate, base, amount) in sorted(sums.items(), key=lambda kv: _tax_rank(kv[0]))
    ]


def _tax_rank(name: str) -> int:
    return P.TAX_ORDER.index(name) if name in P.TAX_ORDER else len(P.TAX_ORDER)


def milestone_reached(session: Session, payload: PlanMilestoneReached) -> int:
    """Date the installments tied to the milestone; returns how many got a due date."""
    existing = session.scalar(
        select(PlanMilestone).where(
            PlanMilestone.plan_id == payload.plan_id, PlanMilestone.milestone == payload.milestone
        )
    )
    if existing is None:
        try:
            with session.begin_nested():
                session.add(
                    PlanMilestone(
                        plan_id=payload.plan_id,
                        milestone=payload.milestone,
                        reached_on=payload.reached_on,
                    )
                )
        except IntegrityError:
            pass
    reached_on = existing.reached_on if existing is not None else payload.reached_on
    installments = session.scalars(
        select(Installment)
        .where(
            Installment.plan_id == payload.plan_id,
            Installment.milestone == payload.milestone,
            Installment.status == SCHEDULED,
            Installment.due_on.is_(None),
        )
        .with_for_update()
    ).all()
    for installment in installments:
        installment.due_on = reached_on + timedelta(days=installment.offset_days)
    return len(installments)
