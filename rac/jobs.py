"""Every scheduled job of the platform, by name, for the ``rac jobs`` commands.

Each job belongs to a service, which declares it in its ``jobs.py`` (named by its manifest)
and runs it itself on its schedule (rac_shared/scheduler.py). ``rac jobs run`` runs one by
hand for an as-of date (idempotent: the same result run twice); ``rac jobs status`` reads
each service's ledger.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from rac import registry
from rac_shared.clock import clock
from rac_shared.scheduler import JobLedger, ScheduledJob, run_as_of


@cache
def all_jobs() -> dict[str, ScheduledJob]:
    jobs: dict[str, ScheduledJob] = {}
    for manifest in registry.services().values():
        for job in manifest.scheduled_jobs():
            jobs[job.name] = job
    return jobs


def run_job(name: str, as_of: date | None = None) -> dict:
    as_of = as_of or clock.today()
    result = run_as_of(all_jobs()[name], as_of)
    return {"job": name, "as_of": as_of.isoformat(), **result}


def ledger_of(service: str) -> JobLedger:
    from rac_shared.db import SessionFactory

    return JobLedger(SessionFactory(service, registry.service(service).metadata))


def jobs_status() -> list[dict]:
    now = clock.now()
    return [ledger_of(job.service).status(job, now) for job in all_jobs().values()]


def retry_job(name: str, as_of: date) -> bool:
    return ledger_of(all_jobs()[name].service).retry(name, as_of)
