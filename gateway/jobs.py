"""The gateway's scheduled jobs (run by the directory service's ``JobScheduler``)."""

from __future__ import annotations

from datetime import date, time

from gateway.housekeeping import purge_expired_credentials
from gateway.models import Base
from rac_shared.clock import end_of_day
from rac_shared.scheduler import ScheduledJob, outbox_housekeeping


def run_purge_credentials(as_of: date) -> dict:
    return purge_expired_credentials(end_of_day(as_of))


JOBS = (
    ScheduledJob(
        name="purge-credentials",
        service="gateway",
        description="supprime les liens de réinitialisation expirés et les échecs de "
        "connexion anciens",
        run=run_purge_credentials,
        at=time(2, 30),  # at night
    ),
    outbox_housekeeping("gateway", Base.metadata),
)
