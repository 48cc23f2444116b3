"""nameko entrypoints of the notifications service."""

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import func, select

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.consumer import on_event
from rac_shared.contracts import health_report
from rac_shared.db import Database, SessionFactory
from rac_shared.events import PasswordResetRequested
from rac_shared.logs import CorrelationId
from rac_shared.outbox import first_time
from rac_shared.settings import get_settings
from services.notifications import domain
from services.notifications.models import Base, Notification


class NotificationsService:
    name = "notifications"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    correlation_id = CorrelationId()

    @on_event(PasswordResetRequested)
    def send_password_reset(self, envelope, payload):
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "notifications.send_password_reset"):
                domain.notify_password_reset(self.db, envelope, payload)
        self._deliver_now()

    @timer(interval=5)
    def retry_pending_emails(self):
        self._deliver_now()

    def _deliver_now(self) -> int:
        return domain.deliver_due(SessionFactory(self.name, Base.metadata), get_settings())

    @rpc
    def health(self) -> dict:
        return health_report(self.name, self.db)

    @rpc
    def home_summary(self, actor: dict) -> list[dict]:
        user = Actor.model_validate(actor)
        unread = self.db.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.recipient_user_id == user.user_id,
                Notification.channel == "inapp",
                Notification.read_at.is_(None),
            )
        )
        if not unread:
            return []
        return [{"label": "Lire vos nouveaux messages", "url": "/messages", "count": unread}]

    @rpc
    def inbox(self, actor: dict, limit: int = 50) -> dict:
        """The user's in-app messages, newest first, with the unread count."""
        user = Actor.model_validate(actor)
        return domain.inbox(self.db, user.user_id, limit)

    @rpc
    def mark_read(self, actor: dict, notification_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            return domain.mark_read(self.db, user.user_id, notification_id)
