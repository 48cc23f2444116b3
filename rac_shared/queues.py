"""How the platform's durable queues are declared: classic, or quorum when ``QUORUM_QUEUES``.

Every queue that must outlive a process — each event handler's queue, each service's RPC
queue, the delay queues of retries and ``rac.dead-letters`` — is declared here, so that one
setting decides its type. A classic queue lives on one RabbitMQ node: in a cluster, losing
that node loses its messages. A quorum queue is replicated (Raft) on every node of the
cluster and survives the loss of a minority; RabbitMQ 3.10 and later also runs it on a
single node, with the per-message TTL and dead-lettering the retries need.

Queues that belong to one process stay classic: RPC reply queues (auto-deleted, or
exclusive) and the gateway's exclusive read-model queue; quorum queues cannot be exclusive
or auto-deleted.

A queue's type cannot change once declared: declaring an existing classic queue as a quorum
queue fails with ``PRECONDITION_FAILED``. Hence the setting is off by default (development
and test brokers already hold classic queues) and turned on by production's compose file;
README's "Quorum queues" section gives the migration of an existing broker.
"""

from __future__ import annotations

import kombu

from rac_shared.settings import get_settings

QUORUM = {"x-queue-type": "quorum"}


def durable_arguments(arguments: dict | None = None) -> dict:
    """``arguments`` of a durable queue, with its type when quorum queues are on."""
    arguments = dict(arguments or {})
    if get_settings().quorum_queues:
        arguments.update(QUORUM)
    return arguments


def durable_queue(
    name: str,
    exchange: kombu.Exchange,
    routing_key: str,
    arguments: dict | None = None,
) -> kombu.Queue:
    """A durable, shared queue (never exclusive or auto-deleted) of the configured type."""
    return kombu.Queue(
        name,
        exchange=exchange,
        routing_key=routing_key,
        durable=True,
        auto_delete=False,
        queue_arguments=durable_arguments(arguments),
    )


def redeclared(queue: kombu.Queue) -> kombu.Queue:
    """``queue`` (one that nameko built for an entrypoint) as a durable queue of the
    configured type."""
    return durable_queue(
        queue.name, queue.exchange, queue.routing_key, dict(queue.queue_arguments or {})
    )
