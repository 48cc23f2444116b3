"""The billing service's scheduled jobs: invoicing and overdue reminders (run by its
``JobScheduler`` each day, or by hand with ``rac jobs run NAME --as-of YYYY-MM-DD``).

Each batch is its own transaction: a process killed in the middle loses only its current,
uncommitted batch, which the next run (or another replica) picks up.
"""

from __future__ import annotations

import sys
from datetime import date, time

from sqlalchemy import func, select

from rac_shared.db import SessionFactory
from rac_shared.scheduler import ScheduledJob, outbox_housekeeping
from services.billing import invoicing, reminders
from services.billing.config import billing_settings
from services.billing.models import Base


def _factory() -> SessionFactory:
    return SessionFactory("billing", Base.metadata)


def run_invoicing(
    as_of: date,
    batch_size: int | None = None,
    progress: bool | None = None,
    session_factory=None,
) -> dict:
    """Invoice every installment due on or before ``as_of`` that no invoice covers yet."""
    from tqdm import tqdm

    factory = session_factory or _factory()
    batch_size = batch_size or billing_settings().invoicing_batch_size
    with factory() as session:
        due = session.scalar(
            select(func.count()).select_from(invoicing.due_installments_query(as_of).subquery())
        )
    bar = tqdm(
        total=due,
        desc="Facturation",
        unit=" facture",
        disable=not (sys.stderr.isatty() if progress is None else progress),
    )
    issued = 0
    run = invoicing.InvoicingRun(as_of)  # rates, estimates, parties: read once per run
    try:
        while True:
            with factory() as session, session.begin():
                batch = invoicing.issue_due_invoices(session, as_of, batch_size, run=run)
            if not batch:
                break
            issued += len(batch)
            bar.update(len(batch))
    finally:
        bar.close()
    return {"due": due, "issued": issued}


def run_overdue_reminders(as_of: date, session_factory=None) -> dict:
    """Publish ``invoice.overdue`` for each configured step reached, once per invoice."""
    factory = session_factory or _factory()
    steps = billing_settings().steps
    published, after_id = 0, 0
    while after_id is not None:
        with factory() as session, session.begin():
            count, after_id = reminders.overdue_batch(session, as_of, steps, after_id)
        published += count
    return {"steps": steps, "reminders": published}


JOBS = (
    ScheduledJob(
        name="invoicing",
        service="billing",
        description="émet une facture par versement échu non encore facturé",
        run=run_invoicing,
        at=time(5, 0),  # early morning, before anyone reads the day's invoices
    ),
    ScheduledJob(
        name="overdue-reminders",
        service="billing",
        description="publie les relances des factures en retard (7 et 30 jours par défaut)",
        run=run_overdue_reminders,
        at=time(8, 0),
    ),
    outbox_housekeeping("billing", Base.metadata),
)
