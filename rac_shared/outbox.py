"""Transactional outbox and idempotent consumption.

A service never publishes an event directly: ``record_event`` writes it into the
``outbox`` table inside the same transaction as the change it describes, and the relay
publishes committed rows afterwards. So a crash can neither lose a fact (the row stays
until published) nor invent one (a rolled-back change takes its event with it).

Consumers call ``first_time`` inside their transaction: the ``processed_events`` table's
unique key on (event_id, handler) makes a redelivered event a no-op, even when two
replicas receive it at the same time.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

import kombu
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.events import Envelope, EventPayload

if TYPE_CHECKING:
    from rac_shared.copy import PostgresqlWriter

log = logging.getLogger(__name__)

ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")


def install_reliability_tables(metadata: MetaData) -> None:
    """Add ``outbox`` and ``processed_events`` to a service's metadata."""
    Table(
        "outbox",
        metadata,
        Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("source", String(40), nullable=False),
        Column("event_type", String(80), nullable=False),
        Column("body", JSON, nullable=False),
        Column("correlation_id", String(64)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text),
    )
    Table(
        "processed_events",
        metadata,
        Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),
        Column("handler", String(120), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("event_id", "handler", name="uq_processed_events_event_handler"),
    )


def _table(session_or_metadata, name: str) -> Table:
    metadata = (
        session_or_metadata.info["metadata"]
        if isinstance(session_or_metadata, Session)
        else session_or_metadata
    )
    return metadata.tables[name]


def record_event(
    session: Session, payload: EventPayload, correlation_id: str | None = None
) -> Envelope:
    """Write ``payload`` to the outbox in the session's current transaction."""
    from rac_shared.logs import current_correlation_id

    envelope = Envelope.wrap(payload, correlation_id or current_correlation_id())
    session.execute(
        insert(_table(session, "outbox")).values(
            event_id=str(envelope.event_id),
            source=envelope.source,
            event_type=envelope.event_type,
            body=envelope.model_dump(mode="json"),
            correlation_id=envelope.correlation_id,
            created_at=clock.now(),
            attempts=0,
        )
    )
    session.info["outbox_written"] = True
    return envelope


def recorded_events(session: Session) -> list[dict]:
    """The events in this service's outbox, oldest first, as their envelopes' JSON: what a
    service's ``rac demo`` step forwards as its history (the demo runs before any relay, so
    the other services get them as values, never by reading this table)."""
    outbox = _table(session, "outbox")
    return list(session.scalars(select(outbox.c.body).order_by(outbox.c.id)))


class EventRows:
    """The outbox rows of many events of one transaction — what ``record_event`` writes for
    each, in one multi-row INSERT (``tests/unit/test_outbox.py`` checks that both write the
    same envelopes): each payload is validated by its class, the envelope is built once and
    copied with a fresh ``event_id`` (one ``occurred_at``, the batch's).
    ``payloads`` are the rows' JSON payloads, which the caller may complete before
    ``write``."""

    def __init__(self, session: Session, payloads: list):
        from rac_shared.logs import current_correlation_id

        self.session = session
        template = Envelope.wrap(payloads[0], current_correlation_id()).model_dump(mode="json")
        now = clock.now()
        self.payloads: list[dict] = []
        self.rows: list[dict] = []
        random = os.urandom(16 * len(payloads))  # one system call for all the event ids
        for index, payload in enumerate(payloads):
            data = payload.model_dump(mode="json")
            body = {
                **template,
                "event_id": str(UUID(bytes=random[16 * index : 16 * index + 16], version=4)),
                "event_type": payload.event_type,
                "version": type(payload).schema_version,
                "source": payload.source,
                "payload": data,
            }
            self.payloads.append(data)
            self.rows.append(
                {
                    "event_id": body["event_id"],
                    "source": body["source"],
                    "event_type": body["event_type"],
                    "correlation_id": body["correlation_id"],
                    "created_at": now,
                    "attempts": 0,
                    "body": body,
                }
            )

    def write(self) -> None:
        self.session.execute(insert(_table(self.session, "outbox")), self.rows)
        self.session.info["outbox_written"] = True

    def encode(self, writer: PostgresqlWriter, late: str) -> None:
        """PostgreSQL: encode the rows before the counter is locked, all but the payload's
        ``late`` key (the number), which ``write_encoded`` puts at the end of the payload."""
        rows = []
        for row, data in zip(self.rows, self.payloads, strict=True):
            data.pop(late, None)
            text = json.dumps(row["body"])  # the payload is the body's last key
            rows.append({**row, "body": text[:-2]})  # without the closing "}}"
        self.encoded = (writer.encode("outbox", rows, raw=("body",)), late)

    def write_encoded(self, writer: PostgresqlWriter, values: list) -> None:
        encoded, late = self.encoded
        key = json.dumps(late)
        writer.write(encoded, tails=[f", {key}: {json.dumps(value)}}}}}" for value in values])
        self.session.info["outbox_written"] = True


def record_events(session: Session, payloads: list) -> None:
    """``rac_shared.outbox.record_event`` for many events, in one multi-row INSERT."""
    if payloads:
        EventRows(session, payloads).write()


def first_time(session: Session, event_id: UUID | str, handler: str) -> bool:
    """Record that ``handler`` processed ``event_id``; False if it already had.

    Runs in a savepoint so that a duplicate leaves the caller's transaction usable.
    """
    table = _table(session, "processed_events")
    try:
        with session.begin_nested():
            session.execute(
                insert(table).values(
                    event_id=str(event_id), handler=handler, processed_at=clock.now()
                )
            )
    except IntegrityError:
        return False
    return True


def purge_published(session: Session, before: datetime, batch_size: int = 5000) -> int:
    """Delete the outbox rows published before ``before``; the number deleted.

    A published row has done its work: the broker holds the event, consumers remember its
    ``event_id`` in their own ``processed_events``. Kept forever, the rows would only grow
    the table and keep the personal information some events carry (names of candidates)
    longer than the records they describe. Unpublished rows are the relay's and are never
    touched. Deleting in batches keeps each transaction short; two replicas purging at once
    simply find fewer rows.
    """
    outbox = _table(session, "outbox")
    deleted = 0
    while True:
        ids = select(outbox.c.id).where(outbox.c.published_at < before).limit(batch_size)
        count = session.execute(
            delete(outbox).where(outbox.c.id.in_(ids.scalar_subquery()))
        ).rowcount
        session.commit()
        deleted += count
        if count < batch_size:
            return deleted


def already_processed(session: Session, event_id: UUID | str, handler: str) -> bool:
    """Cheap read before expensive work (RPC look-ups); ``first_time`` still decides."""
    table = _table(session, "processed_events")
    return (
        session.execute(
            select(table.c.id).where(table.c.event_id == str(event_id), table.c.handler == handler)
        ).first()
        is not None
    )


def event_exchange(source: str) -> kombu.Exchange:
    """The same exchange nameko's ``EventDispatcher`` declares for ``source``."""
    return kombu.Exchange(f"{source}.events", type="topic", durable=True, delivery_mode=2)


@dataclass
class RelayResult:
    published: int = 0
    failed: int = 0


class OutboxRelay:
    """Publishes committed outbox rows, oldest first, and marks them published.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so that two replicas relaying the same
    database never publish a row twice; the mark is committed only after the broker has
    confirmed the message (publisher confirms), so a crash in between republishes it
    (consumers are idempotent on ``event_id``).
    """

    def __init__(self, session_factory, amqp_uri: str, batch_size: int = 200):
        self.session_factory = session_factory
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self._connection: kombu.Connection | None = None
        self._declared: set[str] = set()
        self._lock = threading.Lock()

    def _producer(self) -> kombu.Producer:
        if self._connection is None:
            self._connection = kombu.Connection(
                self.amqp_uri, transport_options={"confirm_publish": True}, heartbeat=0
            )
        channel = self._connection.default_channel
        return kombu.Producer(channel)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            finally:
                self._connection = None
                self._declared.clear()

    def relay_once(self) -> RelayResult:
        """Publish one batch; returns how many rows were published."""
        with self._lock:
            return self._relay_batch()

    def relay_all(self) -> int:
        total = 0
        while True:
            result = self.relay_once()
            total += result.published
            if result.published < self.batch_size or result.failed:
                return total

    def _relay_batch(self) -> RelayResult:
        result = RelayResult()
        session: Session = self.session_factory()
        outbox = _table(session, "outbox")
        try:
            rows = session.execute(
                select(
                    outbox.c.id,
                    outbox.c.source,
                    outbox.c.event_type,
                    outbox.c.body,
                    outbox.c.correlation_id,
                )
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                session.rollback()
                return result
            published_ids = []
            try:
                producer = self._producer()
                for row in rows:
                    self._publish(producer, row)
                    published_ids.append(row.id)
            except Exception as exc:  # broker down: keep the rest for the next round
                log.warning("outbox relay could not publish: %s", exc)
                result.failed = len(rows) - len(published_ids)
                self.close()
            if published_ids:
                session.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(published_ids))
                    .values(published_at=clock.now(), attempts=outbox.c.attempts + 1)
                )
            session.commit()
            result.published = len(published_ids)
            return result
        finally:
            session.close()

    def _publish(self, producer: kombu.Producer, row) -> None:
        exchange = event_exchange(row.source)
        declare = []
        if exchange.name not in self._declared:
            declare = [exchange]
        body = row.body if isinstance(row.body, dict) else json.loads(row.body)
        headers = {}
        if row.correlation_id:
            headers["nameko.correlation_id"] = row.correlation_id
        producer.publish(
            body,
            exchange=exchange,
            routing_key=row.event_type,
            serializer="json",
            delivery_mode=2,
            headers=headers,
            declare=declare,
            retry=False,
        )
        self._declared.add(exchange.name)
