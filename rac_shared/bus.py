"""The bus: outbox relay inside every service, queue declarations, and the service runner."""

from __future__ import annotations

import importlib
import logging
import threading

import kombu
from amqp.exceptions import PreconditionFailed
from nameko.events import SERVICE_POOL
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.rpc import get_rpc_exchange

from rac_shared.consumer import ReliableEventHandler, dead_letter_queue
from rac_shared.db import SessionFactory, on_outbox_commit, set_process_role
from rac_shared.outbox import OutboxRelay, event_exchange
from rac_shared.queues import durable_queue
from rac_shared.settings import get_settings

log = logging.getLogger(__name__)

SERVICE_CLASSES = {
    "applications": "services.applications.service:ApplicationsService",
    "scoring": "services.scoring.service:ScoringService",
    "plans": "services.plans.service:PlansService",
    "billing": "services.billing.service:BillingService",
    "notifications": "services.notifications.service:NotificationsService",
    "gateway": "gateway.service:GatewayService",
}


def load_service_class(name: str) -> type:
    module_name, _, class_name = SERVICE_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


class OutboxRelayRunner(DependencyProvider):
    """Runs the outbox relay in the service's process: at once after a commit that wrote
    events, and every ``outbox_poll_seconds`` to pick up anything left (broker outage,
    rows written by another process such as the web gateway)."""

    def __init__(self, service: str, metadata):
        self.service = service
        self.metadata = metadata
        self._wake = threading.Event()
        self._running = False
        self.relay: OutboxRelay | None = None

    def setup(self) -> None:
        settings = get_settings()
        self.relay = OutboxRelay(
            SessionFactory(self.service, self.metadata), self.container.config["AMQP_URI"]
        )
        self.poll_seconds = settings.outbox_poll_seconds
        on_outbox_commit(self._wake.set)

    def start(self) -> None:
        self._running = True
        self.container.spawn_managed_thread(self._run, identifier=f"{self.service}.outbox-relay")

    def stop(self) -> None:
        self._running = False
        self._wake.set()

    def kill(self) -> None:
        self.stop()

    def _run(self) -> None:
        while self._running:
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if not self._running:
                break
            try:
                self.relay.relay_all()
            except Exception:
                log.exception("outbox relay round failed")
        self.relay.close()

    def get_dependency(self, worker_ctx):
        return self.relay


def event_queues_of(service_cls: type) -> list[kombu.Queue]:
    """The durable queues nameko will consume for ``service_cls``'s event handlers."""
    queues = []
    for attr in dir(service_cls):
        method = getattr(service_cls, attr, None)
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()) or ():
            if (
                isinstance(entrypoint, ReliableEventHandler)
                and entrypoint.handler_type is SERVICE_POOL
            ):
                queues.append(
                    durable_queue(
                        f"evt-{entrypoint.source_service}-{entrypoint.event_type}"
                        f"--{service_cls.name}.{attr}",
                        event_exchange(entrypoint.source_service),
                        entrypoint.event_type,
                    )
                )
    return queues


def declare_topology(amqp_uri: str | None = None, services: list[str] | None = None) -> int:
    """Declare exchanges and every handler's queue before any service publishes.

    Without this, an event relayed before its consumer first started would be routed
    nowhere and lost. Idempotent; ``rac migrate`` and every ``rac serve`` call it.
    """
    amqp_uri = amqp_uri or get_settings().amqp_uri
    names = services or list(SERVICE_CLASSES)
    queues = [dead_letter_queue()]
    for name in names:
        queues.extend(event_queues_of(load_service_class(name)))
    with kombu.Connection(amqp_uri) as connection:
        channel = connection.default_channel
        get_rpc_exchange({})(channel).declare()
        for name in SERVICE_CLASSES:
            event_exchange(name)(channel).declare()
        for queue in queues:
            try:
                queue(channel).declare()
            except PreconditionFailed as exc:
                raise QueueTypeMismatch(queue.name, exc) from None
    return len(queues) - 1


class QueueTypeMismatch(RuntimeError):
    """A queue already exists with other arguments than the platform's (typically a classic
    queue left by a broker used before ``QUORUM_QUEUES`` was turned on)."""

    def __init__(self, queue: str, cause: Exception):
        super().__init__(
            f"the queue {queue} already exists with other arguments ({cause}); a classic "
            "queue cannot become a quorum queue in place: see README, 'Quorum queues', "
            "to move the broker's queues over"
        )


def green_kombu_sleep() -> None:
    """Make kombu's reconnection back-off cooperative.

    ``kombu.utils.functional`` binds ``time.sleep`` when imported, which happens before a
    process calls ``eventlet.monkey_patch()``: every reconnection attempt while the broker is
    away (``retry_over_time``, up to the connect timeout) would then freeze the whole process,
    HTTP requests and timers included. Call right after monkey patching.
    """
    import eventlet
    import kombu.utils.functional

    kombu.utils.functional.sleep = eventlet.sleep


def serve(name: str) -> None:
    """Run one service under eventlet (what ``rac serve NAME`` does)."""
    import eventlet

    eventlet.monkey_patch()
    green_kombu_sleep()
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()
    from nameko.cli.run import run

    from rac_shared.logs import configure_logging

    configure_logging()
    set_process_role("service")
    settings = get_settings()
    service_cls = load_service_class(name)
    declare_topology(settings.amqp_uri, [name])
    log.info("starting service %s", name, extra={"service": name})
    run([service_cls], settings.nameko_config())


def relay_all_services() -> int:
    """Publish every service's pending outbox rows once (operators, tests)."""
    from rac_shared.migrations import MIGRATION_PACKAGES

    settings = get_settings()
    total = 0
    for name in SERVICE_CLASSES:
        models = importlib.import_module(f"{MIGRATION_PACKAGES[name]}.models")
        relay = OutboxRelay(SessionFactory(name, models.Base.metadata), settings.amqp_uri)
        try:
            total += relay.relay_all()
        finally:
            relay.close()
    return total
