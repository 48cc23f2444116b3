"""The scoring service's scheduled jobs (run by its ``JobScheduler``, see
rac_shared/scheduler, or by hand with ``rac jobs run NAME --as-of YYYY-MM-DD``): the
nightly purge of the events its outbox has published (``OUTBOX_RETENTION_DAYS``), as every
service with an outbox."""

from __future__ import annotations

from rac_shared.scheduler import outbox_housekeeping
from services.scoring.models import Base

JOBS = (outbox_housekeeping("scoring", Base.metadata),)
