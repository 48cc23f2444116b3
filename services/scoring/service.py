"""nameko entrypoints of the scoring service (thin: domain logic lives beside it)."""

from nameko.rpc import rpc

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.contracts import health_report
from rac_shared.db import Database
from rac_shared.logs import CorrelationId
from services.scoring.models import Base


class ScoringService:
    name = "scoring"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    correlation_id = CorrelationId()

    @rpc
    def health(self) -> dict:
        return health_report(self.name, self.db)

    @rpc
    def home_summary(self, actor: dict) -> list[dict]:
        """Next actions this service offers the user on their home page.

        Empty until the service's own features land (issue 5).
        """
        Actor.model_validate(actor)
        return []
