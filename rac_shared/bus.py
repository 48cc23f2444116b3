"""The bus: the outbox relay inside every service, and queue declarations.

Which services exist is the composition root's knowledge (``rac/``): it passes their classes
and names in; this module imports none of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import kombu
from amqp.exceptions import PreconditionFailed
from nameko.events import SERVICE_POOL
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.rpc import get_rpc_exchange

from rac_shared.consumer import ReliableEventHandler, dead_letter_queue
from rac_shared.db import SessionFactory, on_outbox_commit
from rac_shared.outbox import OutboxRelay, event_exchange
from rac_shared.queues import durable_queue
from rac_shared.settings import get_settings

log = logging.getLogger(__name__)


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


def declare_topology(
    amqp_uri: str, service_classes: Iterable[type], publishers: Iterable[str]
) -> int:
    """Declare the RPC exchange, the dead-letter queue, the event exchange of every
    publisher in ``publishers`` and every handler's queue of ``service_classes``, before any
    service publishes.

    Without this, an event relayed before its consumer first started would be routed
    nowhere and lost. Idempotent; ``rac migrate`` (every service) and every ``rac serve``
    (its own service) call it. Returns the number of handler queues declared.
    """
    queues = [dead_letter_queue()]
    for service_cls in service_classes:
        queues.extend(event_queues_of(service_cls))
    with kombu.Connection(amqp_uri) as connection:
        channel = connection.default_channel
        get_rpc_exchange({})(channel).declare()
        for name in publishers:
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
