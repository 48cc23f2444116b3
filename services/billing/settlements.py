"""The end of a candidate-worker's or a plan's course: the abandonment fee and pro rata credit
note (``plan.candidate_abandoned``), and a cancelled plan's schedule closed with its credit
notes (``plan.cancelled``).
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.events import (
    PlanCancelled,
    PlanCandidateAbandoned,
)
from rac_shared.formatting import long_date
from services.billing import estimates as E
from services.billing import pricing as P
from services.billing.credit_notes import issue_credit_note
from services.billing.invoicing import issue_invoice
from services.billing.models import (
    CANCELLED,
    COUNTER_CREDIT,
    COUNTER_INVOICE,
    INVOICED,
    KIND_ABANDONMENT,
    PLAN_CANCELLED,
    SCHEDULED,
    Abandonment,
    BillingPlan,
    Installment,
    Invoice,
)
from services.billing.numbering import fiscal_year, lock_counters
from services.billing.schedule import locked_plan

log = logging.getLogger(__name__)


def contract_estimate(session: Session, plan: BillingPlan, version: int | None = None):
    version = version or plan.accepted_version
    if version is None:
        return None
    return E.find(session, plan.plan_id, version)


def record_abandonment(session: Session, payload: PlanCandidateAbandoned) -> dict:
    """Abandonment fee (after the validation interview) and pro rata credit note."""
    try:
        ratio = Decimal(str(payload.work_done_ratio))
    except Exception:  # noqa: BLE001 - a malformed contract value
        raise ValueError(f"work_done_ratio is not a decimal: {payload.work_done_ratio!r}") from None
    if not (P.ZERO <= ratio <= Decimal(1)):
        raise ValueError(f"work_done_ratio outside 0..1: {ratio}")
    plan = session.get(BillingPlan, payload.plan_id, with_for_update=True)
    if plan is None or plan.accepted_version is None:
        log.warning("abandonment on plan %s that billing never saw accepted", payload.plan_id)
        return {}
    if plan.status == PLAN_CANCELLED:
        return {}
    if session.scalar(
        select(Abandonment.id).where(
            Abandonment.plan_id == payload.plan_id,
            Abandonment.candidate_id == payload.candidate_id,
        )
    ):
        return {}
    estimate = contract_estimate(session, plan)
    abandonment = Abandonment(
        plan_id=plan.plan_id,
        candidate_id=payload.candidate_id,
        abandoned_on=payload.abandoned_on,
        after_validation_interview=payload.after_validation_interview,
        work_done_ratio=ratio,
    )
    session.add(abandonment)
    if estimate is None:
        return {}
    rates = [P.Rate(t["name"], Decimal(t["rate"]), date.min) for t in estimate.taxes]
    today = clock.today()
    # Lock both counters in the global order before taking any number.
    lock_counters(
        session,
        [
            (plan.institution_id, fiscal_year(today), COUNTER_CREDIT),
            (plan.institution_id, fiscal_year(today), COUNTER_INVOICE),
        ],
    )
    result: dict = {}
    fee = Decimal(estimate.abandonment_fee)
    if payload.after_validation_interview and fee > P.ZERO:
        current_rates = P.rates_on(E.load_rates(session), today)
        taxes = P.compute_taxes(fee if estimate.abandonment_fee_taxable else P.ZERO, current_rates)
        invoice = issue_invoice(
            session,
            kind=KIND_ABANDONMENT,
            plan=plan,
            version=estimate.version,
            lines=[
                {
                    "description": "Frais d'abandon de la démarche de RAC après l'entrevue de "
                    f"validation (candidat-travailleur n° {payload.candidate_id}, le "
                    f"{long_date(payload.abandoned_on)})",
                    "detail": f"Selon l'estimation des coûts du plan {plan.reference}",
                    "quantity": "1",
                    "unit_price": str(fee),
                    "amount": str(fee),
                }
            ],
            subtotal=fee,
            taxes=taxes,
            payment_term_days=estimate.payment_term_days,
        )
        abandonment.fee_invoice_id = invoice.id
        result["invoice"] = invoice
    credit_lines = P.pro_rata_lines(E.pricing_of(estimate).lines, estimate.candidate_count, ratio)
    if credit_lines:
        pricing = P.price_lines(credit_lines, rates)
        credit = issue_credit_note(
            session,
            source_key=f"abandonment:{plan.plan_id}:{payload.candidate_id}",
            reason_kind="abandonment",
            reason=(
                f"Abandon d'un candidat-travailleur le {long_date(payload.abandoned_on)} : "
                f"remboursement au prorata de l'accompagnement et des évaluations non réalisés "
                f"({E.rate_label(Decimal(1) - ratio)} du travail prévu pour cette personne)."
            ),
            plan=plan,
            version=estimate.version,
            lines=[
                {
                    "description": line.description,
                    "quantity": "1",
                    "unit_price": str(line.amount),
                    "amount": str(line.amount),
                }
                for line in pricing.lines
            ],
            subtotal=pricing.subtotal,
            taxes=pricing.taxes,
            invoice_id=None,
        )
        if credit is not None:
            abandonment.credit_note_id = credit.id
            result["credit_note"] = credit
    session.flush()
    return result


def cancel_plan(session: Session, payload: PlanCancelled) -> dict:
    """Installments not due by the cancellation date are cancelled; those due by then stay
    to be invoiced; invoices issued for installments due after it are credited (applied to
    what is still owed, the rest owed back to the employer). The work done since the last of
    the installments kept is billed once the institution records it
    (``cancellation.record_costs``), per candidate-worker where a line is per person: the
    candidate-workers of the version in force are kept for that."""
    plan = locked_plan(session, payload)
    if plan.status == PLAN_CANCELLED:
        return {}
    plan.status = PLAN_CANCELLED
    plan.cancelled_on = payload.cancelled_on
    plan.cancellation_reason = payload.reason
    plan.candidates = [c.model_dump() for c in payload.candidates] or None
    cancelled_on = payload.cancelled_on
    installments = session.scalars(
        select(Installment).where(Installment.plan_id == plan.plan_id).with_for_update()
    ).all()
    cancelled = 0
    for installment in installments:
        if installment.status != SCHEDULED:
            continue
        if installment.due_on is None or installment.due_on > cancelled_on:
            installment.status = CANCELLED
            installment.cancelled_reason = (
                f"Plan annulé le {long_date(cancelled_on)} : versement non engagé."
            )
            cancelled += 1
    not_incurred = [
        i
        for i in installments
        if i.status == INVOICED and i.due_on is not None and i.due_on > cancelled_on
    ]
    credits = []
    for installment in sorted(not_incurred, key=lambda i: i.id):
        invoice = session.get(Invoice, installment.invoice_id)
        credit = issue_credit_note(
            session,
            source_key=f"cancellation:{invoice.id}",
            reason_kind="cancellation",
            reason=(
                f"Annulation du plan le {long_date(cancelled_on)} : le versement « "
                f"{installment.label} » (exigible le {long_date(installment.due_on)}) ne "
                "correspond à aucun coût engagé."
            ),
            plan=plan,
            version=invoice.version,
            lines=[
                {
                    "description": f"Crédit de la facture {invoice.number} — {installment.label}",
                    "quantity": "1",
                    "unit_price": str(invoice.subtotal),
                    "amount": str(invoice.subtotal),
                }
            ],
            subtotal=Decimal(invoice.subtotal),
            taxes=[P.TaxAmount.from_dict(t) for t in invoice.taxes],
            invoice_id=invoice.id,
        )
        if credit is not None:
            credits.append(credit)
    session.flush()
    return {"cancelled_installments": cancelled, "credit_notes": credits}
