"""Transactional outbox, idempotent consumption and the relay (SQLite + kombu memory://)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import kombu
import pytest
from sqlalchemy import func, insert, select

from rac_shared import db
from rac_shared.clock import clock
from rac_shared.events import Envelope, UserPasswordResetRequested
from rac_shared.logs import set_correlation_id
from rac_shared.outbox import (
    OutboxRelay,
    event_exchange,
    first_time,
    install_reliability_tables,
    purge_published,
    record_event,
    record_events,
)

EVENT_TYPE = UserPasswordResetRequested.event_type
UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/"


@pytest.fixture
def factory(tmp_path):
    metadata = db.new_metadata()
    install_reliability_tables(metadata)
    factory = db.SessionFactory("unittest", metadata, url=f"sqlite:///{tmp_path / 'unit.db'}")
    metadata.create_all(factory.engine)
    yield factory
    db.dispose_engines()


@pytest.fixture
def broker_queue():
    """A queue bound to ``gateway.events`` on the in-memory broker, like a consumer's."""
    with kombu.Connection("memory://") as connection:
        queue = kombu.Queue(
            f"unit-{uuid.uuid4().hex}",
            exchange=event_exchange("gateway"),
            routing_key=EVENT_TYPE,
        )
        bound = queue(connection.default_channel)
        bound.declare()

        def drain() -> list[kombu.Message]:
            messages = []
            while (message := bound.get(no_ack=True)) is not None:
                messages.append(message)
            return messages

        yield drain
        bound.delete()


def reset_requested(user_id: int = 12) -> UserPasswordResetRequested:
    return UserPasswordResetRequested(
        user_id=user_id,
        email=f"user{user_id}@cegeplevis.demo.quebec",
        full_name="Élise Tremblay",
        reset_url="http://127.0.0.1:8000/mot-de-passe/reinitialiser/abc",
        expires_at=datetime(2026, 12, 13, 4, 59, tzinfo=UTC),
    )


def outbox_rows(factory):
    outbox = factory.metadata.tables["outbox"]
    with factory() as session:
        return session.execute(select(outbox).order_by(outbox.c.id)).all()


def count(factory, table: str) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(factory.metadata.tables[table]))


def record_committed(factory, n: int = 1, correlation_id: str | None = "corr-1") -> list[Envelope]:
    with factory() as session:
        envelopes = [
            record_event(session, reset_requested(i), correlation_id) for i in range(1, n + 1)
        ]
        session.commit()
    return envelopes


# --- record_event ---------------------------------------------------------------------


def test_record_event_commit_writes_one_row_with_the_envelope(factory):
    with factory() as session:
        envelope = record_event(session, reset_requested(), "corr-1")
        session.commit()
    (row,) = outbox_rows(factory)
    assert row.event_id == str(envelope.event_id)
    assert row.source == "gateway"
    assert row.event_type == EVENT_TYPE
    assert row.correlation_id == "corr-1"
    assert row.body == envelope.model_dump(mode="json")
    assert Envelope.model_validate(row.body).payload_as(UserPasswordResetRequested) == (
        reset_requested()
    )
    assert row.published_at is None
    assert row.attempts == 0


def test_record_event_uses_the_current_correlation_id(factory):
    set_correlation_id("from-the-request")
    try:
        with factory() as session:
            envelope = record_event(session, reset_requested())
            session.commit()
    finally:
        set_correlation_id(None)
    assert envelope.correlation_id == "from-the-request"
    assert outbox_rows(factory)[0].correlation_id == "from-the-request"


def test_rollback_takes_the_event_with_it(factory):
    with factory() as session:
        record_event(session, reset_requested())
        session.rollback()
    assert outbox_rows(factory) == []


def test_commit_listener_fires_only_after_outbox_writes(factory, monkeypatch):
    monkeypatch.setattr(db, "_commit_listeners", [])
    calls = []
    db.on_outbox_commit(lambda: calls.append(1))
    with factory() as session:
        first_time(session, uuid.uuid4(), "h")
        session.commit()
    assert calls == []
    with factory() as session:
        record_event(session, reset_requested())
        session.commit()
        session.commit()
    assert calls == [1]


# --- first_time -----------------------------------------------------------------------


def test_first_time_is_idempotent_per_handler(factory):
    event_id = uuid.uuid4()
    with factory() as session:
        record_event(session, reset_requested(1))  # a change made before the check
        assert first_time(session, event_id, "notifications.on_reset") is True
        assert first_time(session, event_id, "notifications.on_reset") is False
        assert first_time(session, str(event_id), "notifications.on_reset") is False
        assert first_time(session, event_id, "billing.on_reset") is True
        # The transaction is still usable after the duplicate, and keeps earlier work.
        record_event(session, reset_requested(2))
        session.commit()
    assert count(factory, "processed_events") == 2
    assert count(factory, "outbox") == 2
    with factory() as session:
        assert first_time(session, event_id, "notifications.on_reset") is False
        assert first_time(session, uuid.uuid4(), "notifications.on_reset") is True
        session.commit()
    assert count(factory, "processed_events") == 3


def test_first_time_is_undone_by_a_rollback(factory):
    event_id = uuid.uuid4()
    with factory() as session:
        assert first_time(session, event_id, "h") is True
        session.rollback()
    with factory() as session:
        assert first_time(session, event_id, "h") is True
        session.commit()


# --- relay ----------------------------------------------------------------------------


def test_relay_publishes_committed_rows(factory, broker_queue):
    (envelope,) = record_committed(factory)
    relay = OutboxRelay(factory, "memory://")
    try:
        result = relay.relay_once()
        assert (result.published, result.failed) == (1, 0)
        (message,) = broker_queue()
        assert message.payload == envelope.model_dump(mode="json")
        assert message.delivery_info["routing_key"] == EVENT_TYPE
        assert message.delivery_info["exchange"] == "gateway.events"
        assert message.headers["nameko.correlation_id"] == "corr-1"
        assert message.content_type == "application/json"

        (row,) = outbox_rows(factory)
        assert row.published_at is not None
        assert row.attempts == 1

        second = relay.relay_once()
        assert (second.published, second.failed) == (0, 0)
        assert broker_queue() == []
    finally:
        relay.close()


def test_relay_ignores_uncommitted_rows(factory, broker_queue):
    relay = OutboxRelay(factory, "memory://")
    try:
        with factory() as session:
            record_event(session, reset_requested())
            session.flush()
            assert relay.relay_once().published == 0
            session.rollback()
        assert broker_queue() == []
    finally:
        relay.close()


def test_relay_all_publishes_every_batch_in_order(factory, broker_queue):
    envelopes = record_committed(factory, n=5, correlation_id=None)
    relay = OutboxRelay(factory, "memory://", batch_size=2)
    try:
        assert relay.relay_all() == 5
        messages = broker_queue()
        assert [m.payload["event_id"] for m in messages] == [str(e.event_id) for e in envelopes]
        assert all("nameko.correlation_id" not in (m.headers or {}) for m in messages)
        assert all(row.published_at is not None for row in outbox_rows(factory))
        assert relay.relay_all() == 0
    finally:
        relay.close()


def test_relay_does_not_republish_rows_marked_elsewhere(factory, broker_queue):
    record_committed(factory, n=2)
    outbox = factory.metadata.tables["outbox"]
    with factory() as session:
        # A row already published by another replica.
        session.execute(
            outbox.update().where(outbox.c.id == 1).values(published_at=datetime.now(UTC))
        )
        session.commit()
    relay = OutboxRelay(factory, "memory://")
    try:
        assert relay.relay_once().published == 1
        (message,) = broker_queue()
        assert message.payload["payload"]["user_id"] == 2
    finally:
        relay.close()


def test_unreachable_broker_leaves_rows_unpublished(factory, broker_queue):
    record_committed(factory, n=2)
    relay = OutboxRelay(factory, UNREACHABLE)
    # kombu retries a refused connection for its whole connect timeout (several seconds);
    # give the relay the same connection it would build, minus the retries, to fail fast.
    relay._connection = kombu.Connection(
        UNREACHABLE,
        connect_timeout=0.5,
        transport_options={"confirm_publish": True, "max_retries": 0},
        heartbeat=0,
    )
    try:
        result = relay.relay_once()
        assert (result.published, result.failed) == (0, 2)
        rows = outbox_rows(factory)
        assert len(rows) == 2
        assert all(row.published_at is None for row in rows)
        assert all(row.attempts == 0 for row in rows)

        # The broker comes back: the same rows go out, once.
        relay.amqp_uri = "memory://"
        assert relay.relay_all() == 2
        assert len(broker_queue()) == 2
        assert all(row.published_at is not None for row in outbox_rows(factory))
    finally:
        relay.close()


def test_processed_events_unique_key_is_enforced_by_the_database(factory):
    from sqlalchemy.exc import IntegrityError

    table = factory.metadata.tables["processed_events"]
    values = {"event_id": "e", "handler": "h", "processed_at": datetime.now(UTC)}
    with factory() as session:
        session.execute(insert(table).values(**values))
        with pytest.raises(IntegrityError):
            session.execute(insert(table).values(**values))
        session.rollback()


def test_the_bulk_writer_and_record_event_write_the_same_envelopes(factory):
    """``record_events`` (one INSERT for a batch, billing's invoicing run) writes what
    ``record_event`` writes for each event: same columns, same envelope, only the random
    ``event_id`` differs."""
    outbox = factory.metadata.tables["outbox"]
    payloads = [reset_requested(12), reset_requested(13)]
    set_correlation_id("corr-bulk")
    try:
        with clock.frozen_at(datetime(2026, 12, 7, 15, 0, tzinfo=UTC)):
            with factory.transaction() as session:
                for payload in payloads:
                    record_event(session, payload)
            with factory.transaction() as session:
                record_events(session, payloads)
    finally:
        set_correlation_id(None)
    with factory.transaction() as session:
        rows = [dict(r._mapping) for r in session.execute(select(outbox).order_by(outbox.c.id))]
    one_by_one, bulk = rows[:2], rows[2:]

    def without_ids(row: dict) -> dict:
        body = {k: v for k, v in row["body"].items() if k != "event_id"}
        return {k: v for k, v in row.items() if k not in ("id", "event_id")} | {"body": body}

    assert [without_ids(r) for r in bulk] == [without_ids(r) for r in one_by_one]
    for row in rows:
        assert row["body"]["event_id"] == row["event_id"]
        Envelope.model_validate(row["body"]).payload_as(UserPasswordResetRequested)
    assert len({row["event_id"] for row in rows}) == 4
    assert bulk[0]["body"]["correlation_id"] == "corr-bulk"


def test_purge_published_deletes_only_rows_published_before_the_limit(factory):
    """Old published rows go, in batches; recent ones and unpublished ones stay; a second
    run finds nothing more (idempotent)."""
    outbox = factory.metadata.tables["outbox"]
    limit = datetime(2026, 11, 7, tzinfo=UTC)
    with factory() as session:
        for user_id in range(1, 9):
            record_event(session, reset_requested(user_id))
        session.commit()
        ids = session.scalars(select(outbox.c.id).order_by(outbox.c.id)).all()
        published = {
            **dict.fromkeys(ids[:5], datetime(2026, 10, 1, tzinfo=UTC)),  # old: purged
            ids[5]: datetime(2026, 11, 20, tzinfo=UTC),  # recent: kept
        }  # ids[6:] unpublished: the relay's, kept
        for row_id, at in published.items():
            session.execute(outbox.update().where(outbox.c.id == row_id).values(published_at=at))
        session.commit()

        assert purge_published(session, limit, batch_size=2) == 5
        assert purge_published(session, limit, batch_size=2) == 0
    kept = outbox_rows(factory)
    assert [row.id for row in kept] == ids[5:]
    assert [row.published_at is None for row in kept] == [False, True, True]


def test_outbox_housekeeping_job_keeps_the_retention_days(factory, monkeypatch):
    """The scheduled job deletes what was published more than OUTBOX_RETENTION_DAYS days
    before the end of its as-of date, and nothing else."""
    from datetime import date, timedelta

    from rac_shared import scheduler
    from rac_shared.clock import end_of_day
    from rac_shared.settings import get_settings

    monkeypatch.setattr(scheduler, "SessionFactory", lambda service, metadata: factory)
    outbox = factory.metadata.tables["outbox"]
    as_of = date(2026, 12, 7)
    retention = timedelta(days=get_settings().outbox_retention_days)
    with factory() as session:
        for user_id in (1, 2):
            record_event(session, reset_requested(user_id))
        session.commit()
        first, second = session.scalars(select(outbox.c.id).order_by(outbox.c.id)).all()
        for row_id, at in (
            (first, end_of_day(as_of) - retention - timedelta(seconds=1)),
            (second, end_of_day(as_of) - retention + timedelta(seconds=1)),
        ):
            session.execute(outbox.update().where(outbox.c.id == row_id).values(published_at=at))
        session.commit()  # fmt: skip

    job = scheduler.outbox_housekeeping("unittest", factory.metadata)
    assert job.name == "purge-published-events-unittest"
    assert job.run(as_of) == {"published_events_deleted": 1}
    assert job.run(as_of) == {"published_events_deleted": 0}
    assert [row.id for row in outbox_rows(factory)] == [second]
