"""The applications service's scheduled jobs (run by its ``JobScheduler``)."""

from __future__ import annotations

from datetime import time

from rac_shared.scheduler import ScheduledJob, outbox_housekeeping
from services.applications.models import Base
from services.applications.report_jobs import run_report_deadlines

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
