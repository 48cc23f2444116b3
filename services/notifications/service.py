"""nameko entrypoints of the notifications service."""

import base64

from nameko.rpc import RpcProxy
from nameko.timer import timer
from sqlalchemy import func, select

from rac_shared import events as ev
from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.consumer import StopRequested, on_event
from rac_shared.contracts import HealthReport, NextAction, health_report
from rac_shared.contracts.notifications import INBOX_SIZE, Inbox, MarkedRead, Preferences
from rac_shared.db import Database, SessionFactory
from rac_shared.logs import CorrelationId
from rac_shared.outbox import already_processed, first_time
from rac_shared.rpc import call_within, rpc
from rac_shared.scheduler import JobScheduler
from rac_shared.settings import get_settings
from services.notifications import catalogue, domain, replies
from services.notifications.access import own_messages
from services.notifications.jobs import JOBS
from services.notifications.models import Base, Notification


class TimedDirectory:
    """The gateway's directory over RPC, each call bounded by the RPC timeout."""

    def __init__(self, proxy, timeout: float):
        self.proxy = proxy
        self.timeout = timeout

    def _call(self, method: str, **kwargs):
        return call_within(self.timeout, getattr(self.proxy, method), **kwargs)

    def users_of_organisation(self, organisation_id, roles=None):
        return self._call("users_of_organisation", organisation_id=organisation_id, roles=roles)

    def get_organisation(self, organisation_id):
        return self._call("get_organisation", organisation_id=organisation_id)

    def list_organisations(self, kinds=None):
        return self._call("list_organisations", kinds=kinds)

    def get_user(self, user_id):
        return self._call("get_user", user_id=user_id)

    def unsubscribe_links(self, user_ids):
        return self._call("unsubscribe_links", user_ids=user_ids)


class NotificationsService:
    name = "notifications"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    scheduler = JobScheduler(name, Base.metadata, JOBS)
    correlation_id = CorrelationId()
    stop_requested = StopRequested()
    gateway = RpcProxy("gateway")
    billing = RpcProxy("billing")
    plans = RpcProxy("plans")
    scoring = RpcProxy("scoring")

    # -- events → messages ---------------------------------------------------------------

    @on_event(ev.UserPasswordResetRequested)
    def send_password_reset(self, envelope, payload):
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "notifications.send_password_reset"):
                domain.notify_password_reset(self.db, envelope, payload)
        self._deliver_now()

    @on_event(ev.ApplicationSubmitted)
    def on_application_submitted(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.ApplicationAdmissibilityDecided)
    def on_admissibility_decided(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.ApplicationComplementsRequested)
    def on_complements_requested(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.ApplicationComplementsAnswered)
    def on_complements_answered(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.ApplicationComplementsDeadlineExtended)
    def on_complements_deadline_extended(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.ApplicationAdmissibilityResumed)
    def on_admissibility_resumed(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CallPublished)
    def on_call_published(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CallAmended)
    def on_call_amended(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.PlanIssued)
    def on_plan_issued(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.PlanReminderDue)
    def on_plan_reminder_due(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.PlanAccepted)
    def on_plan_accepted(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.PlanLapsed)
    def on_plan_lapsed(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.PlanCancelled)
    def on_plan_cancelled(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.PlanDeclined)
    def on_plan_declined(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.PlanVersionWithdrawn)
    def on_plan_version_withdrawn(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.InvoiceIssued)
    def on_invoice_issued(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.InvoiceOverdue)
    def on_invoice_overdue(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CreditNoteIssued)
    def on_credit_note_issued(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.EvaluatorAssigned)
    def on_evaluator_assigned(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CeracDesignated)
    def on_cerac_designated(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CeracNotDesignated)
    def on_cerac_not_designated(self, envelope, payload):
        self._notify(envelope, payload)

    # -- life of a designated CERAC (reporting, special mandates, support, funding) ------

    @on_event(ev.CeracReportSubmitted)
    def on_report_submitted(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CeracReportChangesRequested)
    def on_report_changes_requested(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CeracReportAccepted)
    def on_report_accepted(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CeracReportDueSoon)
    def on_report_due_soon(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CeracSpecialMandateAssigned)
    def on_special_mandate_assigned(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CeracSupportRequested)
    def on_support_requested(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.CeracSupportAnswered)
    def on_support_answered(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.FundingProjectSubmitted)
    def on_funding_project_submitted(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.FundingProjectDecided)
    def on_funding_project_decided(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.FundingDisbursementReleased)
    def on_funding_disbursement_released(self, envelope, payload):
        self._notify(envelope, payload)

    @on_event(ev.FundingDisbursementPaid)
    def on_funding_disbursement_paid(self, envelope, payload):
        self._notify(envelope, payload)

    def _notify(self, envelope, payload) -> None:
        """Look recipients up (RPC), then record every message once, then send."""
        handler = f"notifications.{envelope.event_type}"
        if already_processed(self.db, envelope.event_id, handler):
            return
        self.db.rollback()  # no transaction held open across the RPC look-ups
        settings = get_settings()
        directory = replies.RememberingDirectory(TimedDirectory(self.gateway, settings.rpc_timeout))
        message = catalogue.COMPOSERS[type(payload)](payload, directory, settings.public_url)
        message = replies.addressed(payload, directory, message)  # Reply-To, unsubscribe link
        with self.db.begin():
            if first_time(self.db, envelope.event_id, handler):
                domain.record_message(self.db, envelope, message)
        self._deliver_now()

    @timer(interval=5)
    def retry_pending_emails(self):
        self._deliver_now()

    def _deliver_now(self) -> int:
        return domain.deliver_due(
            SessionFactory(self.name, Base.metadata),
            get_settings(),
            self._fetch_attachment,
            self.stop_requested,
        )

    def _fetch_attachment(self, spec: dict) -> tuple[str, bytes, str]:
        """PDFs belong to their service: ask it, within the RPC timeout."""
        proxy = {"billing": self.billing, "plans": self.plans, "scoring": self.scoring}[
            spec["service"]
        ]
        document = call_within(
            get_settings().rpc_timeout * 3,
            getattr(proxy, spec["method"]),
            **spec.get("kwargs", {}),
        )
        return (
            document["filename"],
            base64.b64decode(document["content_base64"]),
            document.get("mime", "application/pdf"),
        )

    # -- RPC --------------------------------------------------------------------------------

    @rpc
    def health(self) -> HealthReport:
        return health_report(self.name, self.db)

    @rpc
    def home_summary(self, actor: Actor) -> list[NextAction]:
        unread = self.db.scalar(
            select(func.count())
            .select_from(Notification)
            .where(*own_messages(actor.user_id), Notification.read_at.is_(None))
        )
        if not unread:
            return []
        return [NextAction(label="Lire vos nouveaux messages", url="/messages", count=unread)]

    @rpc
    def inbox(self, actor: Actor, limit: int = INBOX_SIZE) -> Inbox:
        """The user's in-app messages, newest first, with the unread count."""
        return domain.inbox(self.db, actor.user_id, limit)

    @rpc
    def mark_read(self, actor: Actor, notification_id: int) -> MarkedRead:
        with self.db.begin():
            return domain.mark_read(self.db, actor.user_id, notification_id)

    @rpc
    def get_preferences(self, actor: Actor) -> Preferences:
        return domain.get_preferences(self.db, actor.user_id)

    @rpc
    def set_preferences(self, actor: Actor, data: Preferences) -> Preferences:
        with self.db.begin():
            return domain.set_preferences(self.db, actor.user_id, data.optional_reminders)
