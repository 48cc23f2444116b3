"""The applications service's scheduled jobs (run by its ``JobScheduler``, or by hand with
``rac jobs run NAME --as-of YYYY-MM-DD``).

``report-deadlines``: reminders of the reports' due dates. For each report never submitted
(draft), the step reached on ``as_of`` (``j-30``, ``j-7`` or ``late``, see
``reporting.reminder_step``) publishes one ``cerac.report_due_soon``. The unique key (report,
step, due date) of ``report_reminders`` is written in the same transaction as the event: a
rerun, or two replicas at once, publish each reminder once; a due date moved by the ministry
gets its own reminders.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.db import SessionFactory
from rac_shared.events import CeracReportDueSoon
from rac_shared.outbox import record_event
from rac_shared.scheduler import ScheduledJob, outbox_housekeeping
from services.applications.config import applications_settings
from services.applications.models import REPORT_DRAFT, Base, CeracReport, ReportReminder
from services.applications.reporting import reminder_step

BATCH = 200


def reminders_batch(
    session: Session, as_of: date, after_id: int = 0, batch_size: int = BATCH
) -> tuple[int, int | None]:
    """Publish the reminders of one batch of draft reports (ids after ``after_id``).
    Returns (reminders published, last report id seen, or None when done)."""
    steps = applications_settings().report_reminder_steps
    horizon = as_of + timedelta(days=max(days for _, days in steps))
    reports = session.scalars(
        select(CeracReport)
        .where(
            CeracReport.id > after_id,
            CeracReport.status == REPORT_DRAFT,
            CeracReport.due_date <= horizon,
        )
        .order_by(CeracReport.id)
        .limit(batch_size)
    ).all()
    if not reports:
        return 0, None
    published = 0
    for report in reports:
        step = reminder_step(report.due_date, as_of)
        if step is None or report.cerac.organisation_id is None:
            continue  # nothing due yet, or a CERAC without anyone on the platform
        exists = session.scalar(
            select(ReportReminder.id).where(
                ReportReminder.report_id == report.id,
                ReportReminder.step == step,
                ReportReminder.due_date == report.due_date,
            )
        )
        if exists is not None:
            continue
        try:
            with session.begin_nested():
                session.add(
                    ReportReminder(
                        report_id=report.id, step=step, due_date=report.due_date, sent_on=as_of
                    )
                )
        except IntegrityError:
            continue  # another run sent it
        record_event(
            session,
            CeracReportDueSoon(
                cerac_id=report.cerac_id,
                organisation_id=report.cerac.organisation_id,
                organisation_name=report.cerac.organisation_name,
                period_label=report.period_label,
                special_mandate_id=report.special_mandate_id,
                due_date=report.due_date,
                step=step,
            ),
        )
        published += 1
    return published, reports[-1].id


def run_report_deadlines(as_of: date, session_factory=None) -> dict:
    factory = session_factory or SessionFactory("applications", Base.metadata)
    published, after_id = 0, 0
    while after_id is not None:
        with factory() as session, session.begin():
            count, after_id = reminders_batch(session, as_of, after_id)
        published += count
    return {"reminders": published}


JOBS = (
    ScheduledJob(
        name="report-deadlines",
        service="applications",
        description="rappels des redditions de comptes des CERAC (30 et 7 jours avant "
        "l'échéance, retard)",
        run=run_report_deadlines,
        at=time(8, 0),  # reminders reach people in the morning
    ),
    outbox_housekeeping("applications", Base.metadata),
)
