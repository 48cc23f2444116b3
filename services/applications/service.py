"""nameko entrypoints of the applications service (thin: domain logic lives beside it)."""

from nameko.rpc import rpc

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.contracts import health_report
from rac_shared.db import Database
from rac_shared.logs import CorrelationId
from services.applications.models import Base


class ApplicationsService:
    name = "applications"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    correlation_id = CorrelationId()

    @rpc
    def health(self) -> dict:
        return health_report(self.name, self.db)

    @rpc
    def home_summary(self, actor: dict) -> list[dict]:
        """Next actions this service offers the user on their home page.

        Empty until the service's own features land (issue 4).
        """
        Actor.model_validate(actor)
        return []
