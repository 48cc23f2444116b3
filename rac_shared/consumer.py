"""Reliable event handling: parse the envelope, retry with backoff, then dead-letter.

nameko's ``event_handler`` either drops a message whose handler failed or requeues it at
once, forever. ``on_event`` instead republishes a failed message to a per-attempt delay
queue (a TTL queue that dead-letters back to the handler's own queue), and after
``handler_max_attempts`` moves it to the ``rac.dead-letters`` queue, where an operator
lists and replays it with ``rac dead-letters``. Other messages keep flowing meanwhile.
"""

from __future__ import annotations

import functools
import logging
import traceback

import kombu
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider

from rac_shared.clock import clock
from rac_shared.events import Envelope, EventPayload
from rac_shared.queues import durable_queue, redeclared
from rac_shared.settings import get_settings

log = logging.getLogger(__name__)

DEAD_LETTER_QUEUE = "rac.dead-letters"
ATTEMPT_HEADER = "x-rac-attempt"


def dead_letter_queue() -> kombu.Queue:
    return durable_queue(DEAD_LETTER_QUEUE, kombu.Exchange(""), DEAD_LETTER_QUEUE)


def retry_delay_seconds(attempt: int, base: float) -> float:
    """Exponential backoff: base, 2×base, 4×base… capped at five minutes."""
    return min(base * (2 ** (attempt - 1)), 300.0)


class ReliableEventHandler(EventHandler):
    def setup(self):
        super().setup()
        self.queue = redeclared(self.queue)  # quorum when QUORUM_QUEUES (rac_shared/queues.py)

    def start(self):
        setattr(self.container, _STOP_REQUESTED, False)
        super().start()

    def stop(self):
        # nameko stops the entrypoints first, then waits for the workers in flight.
        setattr(self.container, _STOP_REQUESTED, True)
        super().stop()

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is not None:
            try:
                self._retry_or_dead_letter(message, exc_info)
            except Exception:  # broker trouble: let nameko requeue rather than lose it
                log.exception("could not schedule a retry; requeueing")
                self.queue_consumer.requeue_message(message)
                return result, exc_info
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _retry_or_dead_letter(self, message, exc_info) -> None:
        settings = get_settings()
        queue_name = self.queue.name
        headers = dict(message.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 0)) + 1
        headers[ATTEMPT_HEADER] = attempt
        publisher = Publisher(self.container.config["AMQP_URI"])
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        if attempt < settings.handler_max_attempts:
            delay = retry_delay_seconds(attempt, settings.handler_backoff_seconds)
            delay_ms = int(delay * 1000)
            retry_queue = durable_queue(
                f"{queue_name}.retry.{delay_ms}",
                kombu.Exchange(""),
                f"{queue_name}.retry.{delay_ms}",
                {
                    "x-message-ttl": delay_ms,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": queue_name,
                    "x-expires": delay_ms + 600_000,
                },
            )
            log.warning(
                "handler %s failed (attempt %s), retry in %ss: %s",
                queue_name,
                attempt,
                delay,
                error,
            )
            publisher.publish(
                message.body,
                exchange=kombu.Exchange(""),
                routing_key=retry_queue.name,
                declare=[retry_queue],
                headers=headers,
                serializer=None,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
            )
        else:
            headers.update(
                {
                    "x-rac-original-queue": queue_name,
                    "x-rac-error": error[:2000],
                    "x-rac-failed-at": clock.now().isoformat(),
                }
            )
            log.error("handler %s failed %s times, dead-lettered: %s", queue_name, attempt, error)
            publisher.publish(
                message.body,
                exchange=kombu.Exchange(""),
                routing_key=DEAD_LETTER_QUEUE,
                declare=[dead_letter_queue()],
                headers=headers,
                serializer=None,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
            )


_STOP_REQUESTED = "rac_stop_requested"


class StopRequested(DependencyProvider):
    """``self.stop_requested()`` in a worker: True once the service was asked to stop.

    On SIGTERM nameko stops taking messages and waits for the workers in flight. A worker
    that works through a backlog (the e-mails due, one at a time against a slow mail
    server) checks this between two items and leaves the rest for the next start, so that
    a stop takes the time of one item, not of the whole backlog.
    """

    def get_dependency(self, worker_ctx):
        container = self.container
        return lambda: getattr(container, _STOP_REQUESTED, False)


def on_event(payload_cls: type[EventPayload]):
    """Declare a method as the handler of ``payload_cls`` events.

    The method receives ``(envelope, payload)``, already validated against the contract.
    """

    def decorator(method):
        @functools.wraps(method)
        def handler(self, body):
            envelope = Envelope.model_validate(body)
            payload = envelope.payload_as(payload_cls)
            return method(self, envelope, payload)

        return ReliableEventHandler.decorator(payload_cls.source, payload_cls.event_type)(handler)

    return decorator
