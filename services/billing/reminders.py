"""Overdue reminders: ``invoice.overdue`` once per invoice and step (e.g. 7 and 30 days late).

The unique key (invoice, step) of ``overdue_reminders`` makes a rerun, or two jobs at once,
publish each reminder exactly once (the event is written in the same transaction).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.events import InvoiceOverdue
from rac_shared.outbox import record_event
from services.billing.models import Invoice, OverdueReminder
from services.billing.reports import BALANCE


def overdue_batch(
    session: Session, as_of: date, steps: list[int], after_id: int = 0, batch_size: int = 500
) -> tuple[int, int | None]:
    """Publish the reminders of one batch of overdue invoices (ids after ``after_id``).

    Returns (reminders published, last invoice id seen or None when done).
    """
    first_step = min(steps)
    invoices = session.scalars(
        select(Invoice)
        .where(
            Invoice.id > after_id,
            BALANCE > 0,
            Invoice.due_on <= as_of - timedelta(days=first_step),
        )
        .order_by(Invoice.id)
        .limit(batch_size)
    ).all()
    if not invoices:
        return 0, None
    sent = {
        (r.invoice_id, r.step)
        for r in session.scalars(
            select(OverdueReminder).where(OverdueReminder.invoice_id.in_([i.id for i in invoices]))
        )
    }
    published = 0
    for invoice in invoices:
        days_late = (as_of - invoice.due_on).days
        for step in steps:
            if days_late < step or (invoice.id, step) in sent:
                continue
            try:
                with session.begin_nested():
                    session.add(
                        OverdueReminder(
                            invoice_id=invoice.id, step=step, days_late=days_late, sent_on=as_of
                        )
                    )
            except IntegrityError:
                continue  # another run sent it
            record_event(
                session,
                InvoiceOverdue(
                    invoice_id=invoice.id,
                    number=invoice.number,
                    institution_id=invoice.institution_id,
                    employer_id=invoice.employer_id,
                    plan_reference=invoice.plan_reference,
                    due_on=invoice.due_on,
                    step=step,
                    days_late=days_late,
                    balance=invoice.balance,
                ),
            )
            published += 1
    return published, invoices[-1].id
