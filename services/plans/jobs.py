"""The plans service's scheduled jobs (run by its ``JobScheduler``, see rac_shared/scheduler,
or by hand with ``rac jobs run NAME --as-of YYYY-MM-DD``).

``plan-deadlines``: reminders before the acceptance deadline, and lapsing after it (the
clock is frozen at the end of the as-of day). For every issued version still awaiting
acceptance:

- ``PLAN_REMINDER_DAYS`` days before its deadline (default 10, 3 and 1), one
  ``plan.reminder_due`` event per threshold;
- from the day after its deadline, the version is lapsed and ``plan.lapsed`` is published:
  a first offer makes the plan « résolu de plein droit »; a lapsed amendment leaves the
  version it modifies in force, and the event says which (``amends_version``).

Idempotent: each fact has a unique key (``plan_event_keys``), so running the job twice, or
in two replicas at once, publishes every event once. Index-backed: it reads only issued
versions whose deadline falls before the furthest reminder horizon
(``ix_plan_versions_due`` on status and deadline). Rows are claimed with
``FOR UPDATE SKIP LOCKED`` so a second replica skips what the first is handling, and a plan
that a user is accepting at that very moment is left for the next run.

``personal-information-retention`` is ``retention.run_retention``.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.clock import aware, clock, end_of_day
from rac_shared.db import SessionFactory
from rac_shared.events import PlanLapsed, PlanReminderDue
from rac_shared.outbox import record_event
from rac_shared.scheduler import ScheduledJob, outbox_housekeeping
from services.plans import deadlines
from services.plans.config import plans_settings
from services.plans.lifecycle import claim_key
from services.plans.models import ISSUED, LAPSED, Base, Plan, PlanVersion
from services.plans.retention import run_retention


def due_versions_query(as_of: date, thresholds: tuple[int, ...]):
    horizon = end_of_day(as_of + timedelta(days=max(thresholds, default=0)))
    return (
        select(PlanVersion)
        .where(PlanVersion.status == ISSUED, PlanVersion.acceptance_deadline <= horizon)
        .order_by(PlanVersion.acceptance_deadline, PlanVersion.id)
        .with_for_update(skip_locked=True)
    )


def process_deadlines(session: Session, as_of: date, thresholds: tuple[int, ...]) -> dict:
    """One pass in the caller's transaction."""
    result = {"examined": 0, "reminders": 0, "lapsed": 0, "skipped_locked": 0}
    for version in session.scalars(due_versions_query(as_of, thresholds)).all():
        plan = session.scalar(
            select(Plan).where(Plan.id == version.plan_id).with_for_update(skip_locked=True)
        )
        if plan is None:  # being changed right now (an acceptance?): next run
            result["skipped_locked"] += 1
            continue
        result["examined"] += 1
        deadline = aware(version.acceptance_deadline)
        deadline_day = deadlines.local_date(deadline)
        if deadline_day < as_of:
            if claim_key(session, f"version:{version.id}:lapse"):
                _lapse(session, plan, version, deadline_day + timedelta(days=1))
                result["lapsed"] += 1
            continue
        days_before = (deadline_day - as_of).days
        threshold = deadlines.reminder_due(days_before, thresholds)
        if threshold is not None and claim_key(
            session, f"version:{version.id}:reminder:{threshold}"
        ):
            record_event(
                session,
                PlanReminderDue(
                    plan_id=plan.id,
                    version=version.number,
                    reference=plan.reference,
                    institution_id=plan.institution_id,
                    employer_id=plan.employer_id,
                    days_left=days_before,
                    acceptance_deadline=deadline,
                    amends_version=plan.accepted_version,
                ),
            )
            result["reminders"] += 1
    return result


def _lapse(session: Session, plan: Plan, version: PlanVersion, lapsed_on: date) -> None:
    """Résolu de plein droit: the first offer makes the plan caduc; a lapsed amendment
    leaves the accepted version in force."""
    version.status = LAPSED
    version.lapsed_on = lapsed_on
    version.updated_at = clock.now()
    if plan.status == ISSUED:
        plan.status = LAPSED
    plan.updated_at = clock.now()
    in_force = plan.version(plan.accepted_version) if plan.accepted_version else None
    record_event(
        session,
        PlanLapsed(
            plan_id=plan.id,
            version=version.number,
            reference=plan.reference,
            institution_id=plan.institution_id,
            employer_id=plan.employer_id,
            issued_on=version.issued_on,
            lapsed_on=lapsed_on,
            amends_version=in_force.number if in_force else None,
            amends_issued_on=in_force.issued_on if in_force else None,
        ),
    )


def run_plan_deadlines(as_of: date, session_factory=None) -> dict:
    thresholds = plans_settings().reminders
    factory = session_factory or SessionFactory("plans", Base.metadata)
    session = factory()
    try:
        with session.begin():
            result = process_deadlines(session, as_of, thresholds)
    finally:
        session.close()
    return {**result, "reminder_days": list(thresholds)}


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
