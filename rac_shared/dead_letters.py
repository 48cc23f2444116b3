"""Operators' view of dead-lettered events: list them, replay them to their queue."""

from __future__ import annotations

import json

import kombu

from rac_shared.consumer import ATTEMPT_HEADER, DEAD_LETTER_QUEUE, dead_letter_queue
from rac_shared.settings import get_settings


def list_dead_letters(amqp_uri: str | None = None) -> list[dict]:
    """Reads every dead letter and puts it back: the queue is unchanged afterwards."""
    letters = []
    with kombu.Connection(amqp_uri or get_settings().amqp_uri) as connection:
        channel = connection.channel()
        queue = dead_letter_queue()(channel)
        queue.declare()
        held = []
        while True:
            message = queue.get(no_ack=False)
            if message is None:
                break
            held.append(message)
            headers = message.headers or {}
            try:
                body = json.loads(message.body)
            except ValueError:
                body = {}
            letters.append(
                {
                    "queue": headers.get("x-rac-original-queue"),
                    "event_type": body.get("event_type"),
                    "event_id": body.get("event_id"),
                    "attempts": headers.get(ATTEMPT_HEADER),
                    "failed_at": headers.get("x-rac-failed-at"),
                    "error": headers.get("x-rac-error"),
                }
            )
        for message in held:
            message.requeue()
    return letters


def replay_dead_letters(amqp_uri: str | None = None) -> int:
    """Sends every dead letter back to the queue it failed in, with a fresh attempt count."""
    count = 0
    with kombu.Connection(amqp_uri or get_settings().amqp_uri) as connection:
        channel = connection.channel()
        queue = dead_letter_queue()(channel)
        queue.declare()
        producer = kombu.Producer(channel)
        while True:
            message = queue.get(no_ack=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            target = headers.pop("x-rac-original-queue", None)
            if not target:
                message.requeue()
                break
            for key in (ATTEMPT_HEADER, "x-rac-error", "x-rac-failed-at"):
                headers.pop(key, None)
            producer.publish(
                message.body,
                exchange="",
                routing_key=target,
                headers=headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=2,
            )
            message.ack()
            count += 1
    return count


__all__ = ["DEAD_LETTER_QUEUE", "list_dead_letters", "replay_dead_letters"]
