"""Scheduled jobs that run themselves, once a day each, inside the service that owns them.

A service declares its jobs (``services/<name>/jobs.py``: a name, what it does, the function
that runs it for an as-of date, and the local time of day it runs at) and carries a
``JobScheduler`` dependency. Every ``JOB_TICK_SECONDS`` the scheduler of each replica looks
at the service's ledger of runs, the ``job_runs`` table, keyed by (job, as-of date):

- **Exactly one replica runs each day.** A run is claimed by inserting its row (the unique
  key refuses the second replica) or, for a failed or abandoned-by-a-crash run, by a
  compare-and-set update; the claimant holds a lease it renews while the job works, so a
  replica killed mid-run is taken over when the lease runs out.
- **Days are caught up in order.** After an outage the days missed (at most
  ``JOB_CATCH_UP_DAYS``) are run one by one, each with its own as-of date; a day is not
  started while the one before it is unfinished.
- **A failing run is retried, and visible.** It is retried with exponential back-off up to
  ``JOB_MAX_ATTEMPTS``, then marked abandoned (the next days go on) with its error kept for
  ``rac jobs status``; ``rac jobs retry`` makes it due again.

Jobs are idempotent on their own (unique keys, ``FOR UPDATE SKIP LOCKED``): the ledger makes
the schedule exact, the jobs make a repeated run harmless. Times are America/Montreal wall
clock (``JOB_TIMES`` overrides them); a job runs as of the local date it runs on, with the
clock pinned at the end of that day for its green thread only.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from nameko.extensions import DependencyProvider
from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from rac_shared.clock import at_local_time, aware, clock, end_of_day, local
from rac_shared.db import SessionFactory
from rac_shared.outbox import ID_TYPE, purge_published
from rac_shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"  # will be retried
ABANDONED = "abandoned"  # attempts exhausted; later days go on
STATUS_LABELS = {
    RUNNING: "en cours",
    SUCCEEDED: "réussie",
    FAILED: "en échec, nouvel essai prévu",
    ABANDONED: "abandonnée après plusieurs essais",
}


@dataclass(frozen=True)
class ScheduledJob:
    """A job of a service: ``run(as_of)`` does the day's work and returns its counts."""

    name: str
    service: str
    description: str
    run: Callable[[date], dict]
    at: time  # default local (Montréal) time of day; JOB_TIMES overrides it

    def time_of_day(self, settings: Settings | None = None) -> time:
        return (settings or get_settings()).job_time_overrides().get(self.name, self.at)


def install_job_ledger(metadata: MetaData) -> None:
    """Add the ``job_runs`` ledger to a service's metadata (its migrations create it)."""
    Table(
        "job_runs",
        metadata,
        Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        Column("job", String(60), nullable=False),
        Column("as_of", Date, nullable=False),
        Column("status", String(20), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("runner", String(120), nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Column("lease_until", DateTime(timezone=True)),
        Column("next_attempt_at", DateTime(timezone=True)),
        Column("result", JSON),
        Column("error", Text),
        UniqueConstraint("job", "as_of", name="uq_job_runs_job_as_of"),
    )


def run_as_of(job: ScheduledJob, as_of: date) -> dict:
    """Run ``job`` for ``as_of`` with the clock pinned at the end of that day (this green
    thread only: requests served beside it keep the real time)."""
    with clock.pinned_at(end_of_day(as_of)):
        return job.run(as_of)


def _runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def last_due_day(job: ScheduledJob, now: datetime, settings: Settings) -> date:
    """The latest local date whose run time has come."""
    today = local(now).date()
    if now >= at_local_time(today, job.time_of_day(settings)):
        return today
    return today - timedelta(days=1)


class JobLedger:
    """The ``job_runs`` table of one service: what is due, claims, outcomes."""

    def __init__(self, factory: SessionFactory, settings: Settings | None = None):
        self.factory = factory
        self.settings = settings or get_settings()
        self.table: Table = factory.metadata.tables["job_runs"]

    # -- what is due ------------------------------------------------------------------

    def next_day(self, job: ScheduledJob, now: datetime) -> tuple[date, dict | None] | None:
        """The next as-of date to run for ``job`` (with its ledger row if it has one), or
        None when the job is up to date. The earliest unfinished day comes first."""
        t = self.table
        last_due = last_due_day(job, now, self.settings)
        with self.factory() as session:
            unfinished = (
                session.execute(
                    select(t)
                    .where(
                        t.c.job == job.name,
                        t.c.status.in_((RUNNING, FAILED)),
                        t.c.as_of <= last_due,
                    )
                    .order_by(t.c.as_of)
                    .limit(1)
                )
                .mappings()
                .first()
            )
            if unfinished is not None:
                return unfinished["as_of"], dict(unfinished)
            latest = session.scalar(
                select(func.max(t.c.as_of)).where(t.c.job == job.name, t.c.as_of <= last_due)
            )
        if latest is None:
            return last_due, None  # a new ledger starts with the latest due day
        following = latest + timedelta(days=1)
        floor = last_due - timedelta(days=max(self.settings.job_catch_up_days, 1) - 1)
        if following < floor:
            log.warning(
                "job %s: %s day(s) missed beyond JOB_CATCH_UP_DAYS are not caught up",
                job.name,
                (floor - following).days,
                extra={"job": job.name},
            )
            following = floor
        if following > last_due:
            return None
        return following, None

    # -- claims and outcomes ----------------------------------------------------------

    def claim(self, job: ScheduledJob, as_of: date, row: dict | None, now: datetime) -> int | None:
        """Take the run of (job, as_of); None if another replica has it or it is not due."""
        t = self.table
        lease_until = now + timedelta(seconds=self.settings.job_lease_seconds)
        with self.factory() as session, session.begin():
            if row is None:
                try:
                    with session.begin_nested():
                        return session.execute(
                            insert(t)
                            .values(
                                job=job.name,
                                as_of=as_of,
                                status=RUNNING,
                                attempts=1,
                                runner=_runner_id(),
                                started_at=now,
                                lease_until=lease_until,
                            )
                            .returning(t.c.id)
                        ).scalar_one()
                except IntegrityError:
                    return None  # another replica inserted it first
            claimed = session.execute(
                update(t)
                .where(
                    t.c.id == row["id"],
                    t.c.attempts == row["attempts"],
                    or_(
                        (t.c.status == FAILED) & (t.c.next_attempt_at <= now),
                        (t.c.status == RUNNING) & (t.c.lease_until < now),
                    ),
                )
                .values(
                    status=RUNNING,
                    attempts=t.c.attempts + 1,
                    runner=_runner_id(),
                    started_at=now,
                    lease_until=lease_until,
                    next_attempt_at=None,
                )
            ).rowcount
        return row["id"] if claimed == 1 else None

    def renew(self, run_id: int) -> None:
        t = self.table
        with self.factory() as session, session.begin():
            session.execute(
                update(t)
                .where(t.c.id == run_id, t.c.status == RUNNING)
                .values(
                    lease_until=clock.now() + timedelta(seconds=self.settings.job_lease_seconds)
                )
            )

    def succeeded(self, run_id: int, result: dict) -> None:
        t = self.table
        with self.factory() as session, session.begin():
            session.execute(
                update(t)
                .where(t.c.id == run_id)
                .values(
                    status=SUCCEEDED,
                    finished_at=clock.now(),
                    lease_until=None,
                    result=_json_safe(result),
                    error=None,
                )
            )

    def failed(self, run_id: int, error: str) -> str:
        t = self.table
        with self.factory() as session, session.begin():
            attempts = session.scalar(select(t.c.attempts).where(t.c.id == run_id))
            now = clock.now()
            if attempts >= self.settings.job_max_attempts:
                status, retry_at = ABANDONED, None
            else:
                status = FAILED
                retry_at = now + timedelta(
                    seconds=self.settings.job_retry_seconds * 2 ** (attempts - 1)
                )
            session.execute(
                update(t)
                .where(t.c.id == run_id)
                .values(
                    status=status,
                    finished_at=now,
                    lease_until=None,
                    next_attempt_at=retry_at,
                    error=error[-8000:],
                )
            )
        return status

    def retry(self, job: str, as_of: date) -> bool:
        """Make a failed or abandoned run due again at once (``rac jobs retry``)."""
        t = self.table
        with self.factory() as session, session.begin():
            return (
                session.execute(
                    update(t)
                    .where(t.c.job == job, t.c.as_of == as_of, t.c.status.in_((FAILED, ABANDONED)))
                    .values(status=FAILED, attempts=0, next_attempt_at=clock.now())
                ).rowcount
                == 1
            )

    # -- reading ------------------------------------------------------------------------

    def runs(self, job: str, limit: int = 10) -> list[dict]:
        t = self.table
        with self.factory() as session:
            rows = session.execute(
                select(t).where(t.c.job == job).order_by(t.c.as_of.desc()).limit(limit)
            ).mappings()
            return [_row_view(row) for row in rows]

    def status(self, job: ScheduledJob, now: datetime) -> dict:
        """The last run of ``job`` and when the next one starts."""
        runs = self.runs(job.name, limit=1)
        due = self.next_day(job, now)
        at = job.time_of_day(self.settings)
        if due is None:
            next_day = last_due_day(job, now, self.settings) + timedelta(days=1)
            next_at = at_local_time(next_day, at)
        else:
            next_day, row = due
            retry_at = aware(row["next_attempt_at"]) if row else None
            next_at = max(retry_at or now, now)
        return {
            "job": job.name,
            "service": job.service,
            "time": at.strftime("%H:%M"),
            "description": job.description,
            "last": runs[0] if runs else None,
            "next_as_of": next_day.isoformat(),
            "next_at": local(next_at).isoformat(timespec="minutes"),
        }


def _row_view(row) -> dict:
    return {
        "as_of": row["as_of"].isoformat(),
        "status": row["status"],
        "attempts": row["attempts"],
        "runner": row["runner"],
        "started_at": aware(row["started_at"]).isoformat(timespec="seconds"),
        "finished_at": (
            aware(row["finished_at"]).isoformat(timespec="seconds") if row["finished_at"] else None
        ),
        "result": row["result"],
        "error": row["error"],
    }


def _json_safe(value):
    import json

    return json.loads(json.dumps(value, default=str))


class Scheduler:
    """One service's jobs and ledger: ``tick()`` runs every run that is due, in order."""

    def __init__(
        self,
        jobs: Sequence[ScheduledJob],
        factory: SessionFactory,
        settings: Settings | None = None,
        spawn: Callable[[Callable[[], None]], object] | None = None,
    ):
        self.jobs = list(jobs)
        self.ledger = JobLedger(factory, settings)
        self.settings = self.ledger.settings
        self._spawn = spawn

    def tick(self) -> list[dict]:
        """Run, one after the other, every run due now; returns what was run."""
        done: list[dict] = []
        blocked: set[str] = set()
        while True:
            now = clock.now()
            candidates = []
            for job in self.jobs:
                if job.name in blocked:
                    continue
                due = self.ledger.next_day(job, now)
                if due is None:
                    blocked.add(job.name)
                    continue
                day, row = due
                candidates.append(
                    (at_local_time(day, job.time_of_day(self.settings)), job, day, row)
                )
            if not candidates:
                return done
            _, job, day, row = min(candidates, key=lambda c: (c[0], c[1].name))
            run_id = self.ledger.claim(job, day, row, now)
            if run_id is None:
                blocked.add(job.name)  # another replica has it, or its retry is not due yet
                continue
            done.append(self._execute(job, day, run_id))

    def _execute(self, job: ScheduledJob, as_of: date, run_id: int) -> dict:
        stop_renewing = threading.Event()
        renewer = threading.Thread(
            target=self._renew_lease, args=(run_id, stop_renewing), daemon=True
        )
        renewer.start()
        extra = {"job": job.name, "as_of": as_of.isoformat()}
        try:
            result = run_as_of(job, as_of)
        except Exception as exc:
            status = self.ledger.failed(run_id, traceback.format_exc())
            log.exception(
                "scheduled job %s as of %s failed (%s)", job.name, as_of, status, extra=extra
            )
            return {"job": job.name, "as_of": as_of, "status": status, "error": repr(exc)}
        finally:
            stop_renewing.set()
        self.ledger.succeeded(run_id, result)
        log.info("scheduled job %s as of %s: %s", job.name, as_of, result, extra=extra)
        return {"job": job.name, "as_of": as_of, "status": SUCCEEDED, "result": result}

    def _renew_lease(self, run_id: int, stop: threading.Event) -> None:
        interval = max(self.settings.job_lease_seconds / 3, 0.05)
        while not stop.wait(interval):
            try:
                self.ledger.renew(run_id)
            except Exception:
                log.warning("could not renew the lease of job run %s", run_id, exc_info=True)


class JobScheduler(DependencyProvider):
    """Runs a service's scheduled jobs in the service's own process (every replica has one;
    the ledger makes each run happen once). Off with ``SCHEDULER_ENABLED=false``."""

    def __init__(self, service: str, metadata: MetaData, jobs: Iterable[ScheduledJob]):
        self.service = service
        self.metadata = metadata
        self.jobs = tuple(jobs)
        self.scheduler: Scheduler | None = None
        self._stop = threading.Event()

    def setup(self) -> None:
        settings = get_settings()
        if settings.scheduler_enabled and self.jobs:
            self.scheduler = Scheduler(
                self.jobs, SessionFactory(self.service, self.metadata), settings
            )

    def start(self) -> None:
        if self.scheduler is not None:
            self._stop.clear()
            self.container.spawn_managed_thread(self._loop, identifier=f"{self.service}.jobs")

    def stop(self) -> None:
        self._stop.set()

    def kill(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        tick = get_settings().job_tick_seconds
        while not self._stop.is_set():
            try:
                self.scheduler.tick()
            except Exception:  # the database may be away: try again next tick
                log.exception("job scheduler tick of %s failed", self.service)
            self._stop.wait(tick)

    def get_dependency(self, worker_ctx):
        return self.scheduler


def outbox_housekeeping(service: str, metadata: MetaData) -> ScheduledJob:
    """The job deleting ``service``'s outbox rows published more than
    ``OUTBOX_RETENTION_DAYS`` before the as-of date (``purge_published``): idempotent, and
    two replicas running it at once only split the rows."""

    def run(as_of: date) -> dict:
        before = end_of_day(as_of) - timedelta(days=get_settings().outbox_retention_days)
        with SessionFactory(service, metadata)() as session:
            return {"published_events_deleted": purge_published(session, before)}

    return ScheduledJob(
        name=f"purge-published-events-{service}",
        service=service,
        description="supprime les événements publiés depuis plus de OUTBOX_RETENTION_DAYS jours",
        run=run,
        at=time(2, 45),  # at night
    )
