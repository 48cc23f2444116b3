"""nameko entrypoints of the gateway: the directory of users and organisations, by RPC.

Other services (notifications above all) look up recipients here instead of keeping
copies of users; the outbox relay publishes the gateway's own events.
"""

from gateway import audit, auth, directory
from gateway.audit_facts import FACTS
from gateway.jobs import JOBS
from gateway.models import Base, Organisation, User
from rac_shared.actor import OrganisationKind, Role
from rac_shared.audit import AUDIT_EVENTS, AUDITING_SERVICES
from rac_shared.bus import OutboxRelayRunner
from rac_shared.consumer import on_event
from rac_shared.contracts import HealthReport, health_report
from rac_shared.contracts.directory import DirectoryUser, OrganisationView
from rac_shared.db import Database
from rac_shared.errors import not_found
from rac_shared.logs import CorrelationId
from rac_shared.rpc import rpc
from rac_shared.scheduler import JobScheduler
from rac_shared.settings import get_settings


class GatewayService:
    name = "gateway"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    scheduler = JobScheduler(name, Base.metadata, JOBS)
    correlation_id = CorrelationId()

    @rpc
    def health(self) -> HealthReport:
        return health_report(self.name, self.db)

    @rpc
    def get_user(self, user_id: int) -> DirectoryUser:
        user = self.db.get(User, user_id)
        if user is None:
            raise not_found("Utilisateur introuvable.")
        return directory.user_view(user)

    @rpc
    def get_organisation(self, organisation_id: int) -> OrganisationView:
        organisation = self.db.get(Organisation, organisation_id)
        if organisation is None:
            raise not_found("Organisation introuvable.")
        return directory.organisation_view(organisation)

    @rpc
    def list_organisations(
        self, kinds: list[OrganisationKind] | None = None
    ) -> list[OrganisationView]:
        """Organisations by kind (e.g. every cégep and school service centre of a call)."""
        return directory.list_organisations(self.db, kinds)

    @rpc
    def users_of_organisation(
        self, organisation_id: int, roles: list[Role] | None = None
    ) -> list[DirectoryUser]:
        return directory.users_of_organisation(self.db, organisation_id, roles)

    @rpc
    def users_with_roles(self, roles: list[Role]) -> list[DirectoryUser]:
        """Users of any organisation holding these roles (a committee's possible members)."""
        return directory.users_with_roles(self.db, roles)

    @rpc
    def unsubscribe_links(self, user_ids: list[int]) -> dict[str, str]:
        """For each user, the one-click link (RFC 8058) that turns their optional reminders
        off without signing in: what notifications puts in ``List-Unsubscribe``."""
        settings = get_settings()
        return {
            str(user_id): f"{settings.public_url}/desabonnement/"
            + auth.unsubscribe_token(settings, user_id, "optional_reminders")
            for user_id in user_ids
        }


def _audit_handler(payload_cls):
    """An event the audit trail keeps: appended to the chain once (by ``event_id``)."""

    @on_event(payload_cls)
    def handle(self, envelope, payload):
        with self.db.begin():
            audit.append_fact(self.db, envelope, payload)

    return handle


# One handler (one queue) per kind of fact, named after it: ``audit_plans_plan_accepted``.
for _payload_cls in [*FACTS, *(AUDIT_EVENTS[s] for s in AUDITING_SERVICES)]:
    _name = f"audit_{_payload_cls.source}_{_payload_cls.event_type.replace('.', '_')}"
    setattr(GatewayService, _name, _audit_handler(_payload_cls))
