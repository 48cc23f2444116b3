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


def _invoicing(as_of: date) -> dict:
    from services.billing.jobs import run_invoicing

    return run_invoicing(as_of)


def _overdue_reminders(as_of: date) -> dict:
    from services.billing.jobs import run_overdue_reminders

    return run_overdue_reminders(as_of)


def _plan_deadlines(as_of: date) -> dict:
    from services.plans.deadline_job import run_plan_deadlines

    return run_plan_deadlines(as_of)


def _report_deadlines(as_of: date) -> dict:
    from services.applications.report_jobs import run_report_deadlines

    return run_report_deadlines(as_of)


JOBS: dict[str, Job] = {
    "purge-credentials": Job(
        "supprime les liens de réinitialisation expirés et les échecs de connexion anciens",
        _purge_expired_credentials,
    ),
    "plan-deadlines": Job(
        "rappels avant l'échéance d'acceptation des plans; plans non acceptés caducs",
        _plan_deadlines,
    ),
    "report-deadlines": Job(
        "rappels des redditions de comptes des CERAC (30 et 7 jours avant l'échéance, retard)",
        _report_deadlines,
    ),
    "invoicing": Job("émet une facture par versement échu non encore facturé", _invoicing),
    "overdue-reminders": Job(
        "publie les relances des factures en retard (7 et 30 jours par défaut)",
        _overdue_reminders,
    ),
}


def run_job(name: str, as_of: date | None = None) -> dict:
    as_of = as_of or clock.today()
    with clock.frozen_at(end_of_day(as_of)):
        result = JOBS[name].run(as_of)
    return {"job": name, "as_of": as_of.isoformat(), **result}
