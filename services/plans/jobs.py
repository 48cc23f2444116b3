"""The plans service's scheduled jobs (run by its ``JobScheduler``, see rac_shared/scheduler)."""

from __future__ import annotations

from datetime import time

from rac_shared.scheduler import ScheduledJob, outbox_housekeeping
from services.plans.deadline_job import run_plan_deadlines
from services.plans.models import Base
from services.plans.retention import run_retention

JOBS = (
    ScheduledJob(
        name="plan-deadlines",
        service="plans",
        description="rappels avant l'échéance d'acceptation des plans; plans non acceptés caducs",
        run=run_plan_deadlines,
        # Just after midnight: an offer whose 30th day has ended lapses first thing.
        at=time(0, 5),
    ),
    ScheduledJob(
        name="personal-information-retention",
        service="plans",
        description="anonymise les personnes candidates des plans terminés depuis la durée "
        "de conservation (PLAN_RETENTION_MONTHS)",
        run=run_retention,
        at=time(3, 15),
    ),
    outbox_housekeeping("plans", Base.metadata),
)
