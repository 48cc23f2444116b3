"""Read models the gateway keeps from events, for its hottest reads.

Every signed-in page shows the unread-message count and the inbox is the most read list: each
gateway process keeps the inbox it last fetched for a user and drops it when the
notifications service says that user's inbox changed (``inbox.message_added``,
``inbox.message_read``). The events arrive on one exclusive queue per process, so that every
process of every machine hears them.

The copy is only served while that queue is consumed: when the broker connection drops, the
read model empties and every read goes to the service again until it is back. A generation
counter keeps an answer fetched before a change from being stored after it. A user's own
"mark as read" drops the copy at once in the process that handled it; the others follow the
event within milliseconds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import kombu

from gateway.copies import Copies
from rac_shared.events import Envelope, InboxMessageAdded, InboxMessageRead
from rac_shared.outbox import event_exchange

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 300.0
HEARTBEAT_SECONDS = 15  # a silently dropped connection is noticed, and the copies dropped
INBOX_EVENTS = (InboxMessageAdded, InboxMessageRead)


class EventFeed:
    """Consumes the named events on an exclusive, auto-deleted queue of this process."""

    def __init__(self, amqp_uri: str, payloads: tuple, on_event: Callable[[Any], None]):
        self.amqp_uri = amqp_uri
        self.payloads = {p.event_type: p for p in payloads}
        self.on_event = on_event
        self.on_change_of_state: Callable[[], None] = lambda: None
        self.connected = False
        self._thread = None

    def start(self) -> None:
        import eventlet

        if self._thread is None:
            self._thread = eventlet.spawn(self._consume_forever)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        self._set_connected(False)

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        self.on_change_of_state()

    def _queue(self) -> kombu.Queue:
        bindings = [
            kombu.binding(event_exchange(p.source), routing_key=p.event_type)
            for p in self.payloads.values()
        ]
        return kombu.Queue(
            f"gateway.read-models.{uuid.uuid4().hex}",
            bindings=bindings,
            exclusive=True,
            auto_delete=True,
        )

    def _consume_forever(self) -> None:
        import eventlet

        while True:
            try:
                with kombu.Connection(self.amqp_uri, heartbeat=HEARTBEAT_SECONDS) as connection:
                    with connection.Consumer(
                        self._queue(), callbacks=[self._on_message], no_ack=True, accept=["json"]
                    ):
                        self._set_connected(True)
                        while True:
                            try:
                                connection.drain_events(timeout=HEARTBEAT_SECONDS / 3)
                            except TimeoutError:
                                pass
                            connection.heartbeat_check()
            except Exception as exc:  # broker gone: serve from the services meanwhile
                log.warning("read-model event feed lost the broker: %s", type(exc).__name__)
            self._set_connected(False)
            eventlet.sleep(1.0)

    def _on_message(self, body: dict, _message: kombu.Message) -> None:
        try:
            envelope = Envelope.model_validate(body)
            payload = self.payloads[envelope.event_type].model_validate(envelope.payload)
        except Exception:
            log.warning("read-model event feed ignored a malformed event")
            return
        self.on_event(payload)


class InboxReadModel:
    """Each user's inbox as the notifications service last returned it."""

    def __init__(self, amqp_uri: str, max_age: float = MAX_AGE_SECONDS):
        self.feed = EventFeed(amqp_uri, INBOX_EVENTS, self._on_event)
        self.inboxes = Copies(max_age, live=lambda: self.feed.connected)
        self.feed.on_change_of_state = self.clear

    def start(self) -> None:
        self.feed.start()

    def stop(self) -> None:
        self.feed.stop()

    # -- reads -----------------------------------------------------------------------

    def inbox(self, user_id: int, fetch: Callable[[], dict]) -> dict:
        return self.inboxes.through(user_id, fetch)

    def warm(self, user_id: int, fetch: Callable[[], dict]) -> None:
        """Fetch in the background so that the next page shows the unread count for free."""
        import eventlet

        def _fetch() -> None:
            try:
                self.inbox(user_id, fetch)
            except Exception:  # the header count is a convenience: never an error
                pass

        if self.feed.connected:
            eventlet.spawn_n(_fetch)

    def cached(self, user_id: int) -> dict | None:
        return self.inboxes.get(user_id)

    # -- changes ---------------------------------------------------------------------

    def forget(self, user_id: int) -> None:
        self.inboxes.drop(user_id)

    def clear(self) -> None:
        self.inboxes.clear()

    def _on_event(self, payload: InboxMessageAdded | InboxMessageRead) -> None:
        self.forget(payload.user_id)
