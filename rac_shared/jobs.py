"""Scheduled jobs: each takes an ``as_of`` date and gives the same result run twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rac_shared.clock import clock, end_of_day


@dataclass(frozen=True)
class Job:
    description: str
    run: Callable[[date], dict]


def _purge_expired_credentials(as_of: date) -> dict:
    from gateway.housekeeping import purge_expired_credentials

    return purge_expired_credentials(end_of_day(as_of))


JOBS: dict[str, Job] = {
    "purge-credentials": Job(
        "supprime les liens de réinitialisation expirés et les échecs de connexion anciens",
        _purge_expired_credentials,
    ),
}


def run_job(name: str, as_of: date | None = None) -> dict:
    as_of = as_of or clock.today()
    with clock.frozen_at(end_of_day(as_of)):
        result = JOBS[name].run(as_of)
    return {"job": name, "as_of": as_of.isoformat(), **result}
