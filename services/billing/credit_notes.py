"""Credit notes: issued with their own gapless numbers, applied to the plan's open invoices
(the one they answer first); whatever remains is applied to the plan's next invoices, or is
owed back to the employer.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.events import (
    CreditNoteApplication,
    CreditNoteIssued,
)
from rac_shared.outbox import record_event
from services.billing import pricing as P
from services.billing.models import (
    COUNTER_CREDIT,
    BillingPlan,
    CreditAllocation,
    CreditNote,
    Invoice,
)
from services.billing.numbering import document_number, fiscal_year, lock_counters, take_number
from services.billing.parties import party_snapshot


def issue_credit_note(
    session: Session,
    *,
    source_key: str,
    reason_kind: str,
    reason: str,
    plan: BillingPlan,
    version: int,
    lines: list[dict],
    subtotal: Decimal,
    taxes: list[P.TaxAmount],
    invoice_id: int | None,
    issued_on: date | None = None,
) -> CreditNote | None:
    """Issue a credit note once per ``source_key`` and apply it to open invoices."""
    if session.scalar(select(CreditNote.id).where(CreditNote.source_key == source_key)):
        return None
    total = subtotal + sum((t.amount for t in taxes), P.ZERO)
    if total <= P.ZERO:
        return None
    issued_on = issued_on or clock.today()
    year = fiscal_year(issued_on)
    key = (plan.institution_id, year, COUNTER_CREDIT)
    counter = lock_counters(session, [key])[key]
    institution = party_snapshot(session, plan.institution_id)
    employer = party_snapshot(session, plan.employer_id)
    sequence = take_number(counter)
    credit = CreditNote(
        number=document_number(institution["code"], year, sequence, COUNTER_CREDIT),
        reason_kind=reason_kind,
        reason=reason,
        source_key=source_key,
        institution_id=plan.institution_id,
        employer_id=plan.employer_id,
        plan_id=plan.plan_id,
        plan_reference=plan.reference,
        invoice_id=invoice_id,
        fiscal_year=year,
        sequence=sequence,
        issued_on=issued_on,
        lines=lines,
        subtotal=subtotal,
        taxes=[t.as_dict() for t in taxes],
        total=total,
        parties={"institution": institution, "employer": employer},
        created_at=clock.now(),
        applied_total=P.ZERO,
    )
    session.add(credit)
    session.flush()
    open_invoices = session.scalars(
        select(Invoice)
        .where(Invoice.plan_id == plan.plan_id)
        .order_by(Invoice.issued_on, Invoice.id)
        .with_for_update()
    ).all()
    ordered = sorted(open_invoices, key=lambda i: (i.id != invoice_id, i.issued_on, i.id))
    applied = allocate(session, credit, ordered, issued_on)
    record_event(
        session,
        CreditNoteIssued(
            credit_note_id=credit.id,
            number=credit.number,
            institution_id=credit.institution_id,
            employer_id=credit.employer_id,
            plan_id=credit.plan_id,
            plan_reference=credit.plan_reference,
            issued_on=credit.issued_on,
            total=credit.total,
            reason=credit.reason,
            reason_kind=credit.reason_kind,
            applications=[
                CreditNoteApplication(invoice_number=invoice.number, amount=part)
                for invoice, part in applied
            ],
            unapplied=credit.unapplied,
        ),
    )
    return credit


def allocate(
    session: Session, credit: CreditNote, invoices: list[Invoice], on: date
) -> list[tuple[Invoice, Decimal]]:
    """Apply what is left of ``credit`` to the balances of ``invoices``, in order; returns
    the parts applied."""
    applied = []
    for invoice in invoices:
        available = Decimal(credit.total) - Decimal(credit.applied_total)
        if available <= P.ZERO:
            break
        part = min(available, invoice.balance)
        if part <= P.ZERO:
            continue
        session.add(
            CreditAllocation(
                credit_note_id=credit.id, invoice_id=invoice.id, amount=part, applied_on=on
            )
        )
        invoice.credited_total = Decimal(invoice.credited_total) + part
        credit.applied_total = Decimal(credit.applied_total) + part
        applied.append((invoice, part))
    return applied


def apply_available_credits(session: Session, invoices: list[Invoice]) -> None:
    """Credit left over on a plan (e.g. an abandonment refund) pays its next invoices."""
    by_plan: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_plan[invoice.plan_id].append(invoice)
    credits = session.scalars(
        select(CreditNote)
        .where(
            CreditNote.plan_id.in_(list(by_plan)),
            CreditNote.total > CreditNote.applied_total,
        )
        .order_by(CreditNote.id)
        .with_for_update()
    ).all()
    for credit in credits:
        allocate(session, credit, by_plan[credit.plan_id], invoices[0].issued_on)
