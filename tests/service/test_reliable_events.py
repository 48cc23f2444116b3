"""ReliableEventHandler over a real RabbitMQ: retry with backoff, dead letters, replay.

A tiny probe service consumes ``user.password_reset_requested`` with ``@on_event``; what
its handler does (fail, succeed) is decided per test. Events are published the way the
platform publishes them: through the outbox relay, or straight to ``gateway.events``.
"""

from __future__ import annotations

import threading

import kombu
import pytest

from gateway.models import Base as GatewayBase
from rac_shared.consumer import ATTEMPT_HEADER, DEAD_LETTER_QUEUE, dead_letter_queue, on_event
from rac_shared.dead_letters import list_dead_letters, replay_dead_letters
from rac_shared.events import Envelope, UserPasswordResetRequested
from rac_shared.outbox import OutboxRelay, record_event
from rac_shared.settings import reset_settings_cache
from tests.service.helpers import publish_envelope, reset_envelope, wait_until

PROBE_QUEUE = "evt-gateway-user.password_reset_requested--reliability_probe.handle"


class Probe:
    """What the probe service's handler does, and what it saw."""

    def __init__(self):
        self.attempts: dict[str, int] = {}
        self.handled: list[str] = []
        self.failing: set[str] = set()  # e-mail addresses whose events fail
        self.fail_first: set[str] = set()  # e-mail addresses whose first attempt fails
        self._lock = threading.Lock()

    def __call__(self, envelope: Envelope, payload: UserPasswordResetRequested) -> None:
        event_id = str(envelope.event_id)
        with self._lock:
            self.attempts[event_id] = self.attempts.get(event_id, 0) + 1
            attempt = self.attempts[event_id]
        if payload.email in self.failing:
            raise RuntimeError(f"panne simulée pour {payload.email}")
        if payload.email in self.fail_first and attempt == 1:
            raise RuntimeError("panne passagère simulée")
        self.handled.append(event_id)


def probe_service(probe: Probe) -> type:
    class ReliabilityProbe:
        name = "reliability_probe"

        @on_event(UserPasswordResetRequested)
        def handle(self, envelope, payload):
            probe(envelope, payload)

    return ReliabilityProbe


@pytest.fixture
def handler_settings(monkeypatch):
    def configure(backoff: float = 0.1, max_attempts: int = 3) -> None:
        monkeypatch.setenv("HANDLER_BACKOFF_SECONDS", str(backoff))
        monkeypatch.setenv("HANDLER_MAX_ATTEMPTS", str(max_attempts))
        reset_settings_cache()

    return configure


@pytest.fixture
def probe(container_factory, rabbit_config):
    probe = Probe()
    # What `rac migrate` / `rac serve` declare up front (rac_shared.bus.declare_topology).
    with kombu.Connection(rabbit_config["AMQP_URI"]) as connection:
        dead_letter_queue()(connection.default_channel).declare()
    container = container_factory(probe_service(probe), rabbit_config)
    container.start()
    return probe


def amqp_uri(rabbit_config) -> str:
    return rabbit_config["AMQP_URI"]


def queue_depth(uri: str, name: str) -> int:
    """Ready messages in ``name`` (passive declare: creates nothing)."""
    with kombu.Connection(uri) as connection:
        _, count, _ = connection.default_channel.queue_declare(queue=name, passive=True)
    return count


def peek_dead_letter_headers(uri: str) -> list[dict]:
    """Headers of every dead letter, put back afterwards."""
    headers = []
    with kombu.Connection(uri) as connection:
        channel = connection.channel()
        queue = dead_letter_queue()(channel)
        held = []
        while (message := queue.get(no_ack=False)) is not None:
            held.append(message)
            headers.append(dict(message.headers or {}))
        for message in held:
            message.requeue()
    return headers


def test_handler_failing_once_is_retried_and_handled(
    handler_settings, probe, rabbit_config, service_database
):
    handler_settings(backoff=0.1, max_attempts=3)
    probe.fail_first.add("rac@cegeplevis.demo.quebec")

    # Published the platform's way: committed to a (SQLite) outbox, then relayed.
    sessions = service_database("gateway")
    with sessions() as session, session.begin():
        envelope = record_event(session, reset_envelope().payload_as(UserPasswordResetRequested))
    relay = OutboxRelay(sessions, amqp_uri(rabbit_config))
    try:
        assert relay.relay_all() == 1
    finally:
        relay.close()
    outbox = GatewayBase.metadata.tables["outbox"]
    with sessions() as session:
        assert session.execute(outbox.select()).one().published_at is not None

    event_id = str(envelope.event_id)
    wait_until(lambda: event_id in probe.handled, message="event never handled")
    assert probe.attempts[event_id] == 2
    assert probe.handled == [event_id]
    assert list_dead_letters(amqp_uri(rabbit_config)) == []


def test_handler_always_failing_dead_letters_then_replay_handles_it(
    handler_settings, probe, rabbit_config
):
    handler_settings(backoff=0.1, max_attempts=3)
    uri = amqp_uri(rabbit_config)
    probe.failing.add("rac@cegeplevis.demo.quebec")
    envelope = reset_envelope()
    event_id = str(envelope.event_id)

    publish_envelope(uri, envelope)

    wait_until(lambda: queue_depth(uri, DEAD_LETTER_QUEUE) == 1, message="no dead letter")
    assert probe.attempts[event_id] == 3
    assert probe.handled == []

    [headers] = peek_dead_letter_headers(uri)
    assert headers["x-rac-original-queue"] == PROBE_QUEUE
    assert "RuntimeError: panne simulée pour rac@cegeplevis.demo.quebec" in headers["x-rac-error"]
    assert headers[ATTEMPT_HEADER] == 3

    [letter] = list_dead_letters(uri)
    assert letter["queue"] == PROBE_QUEUE
    assert letter["event_type"] == "user.password_reset_requested"
    assert letter["event_id"] == event_id
    assert letter["attempts"] == 3
    assert "panne simulée" in letter["error"]
    assert letter["failed_at"]
    # Listing leaves the dead letter where it is.
    assert list_dead_letters(uri) == [letter]
    assert queue_depth(uri, DEAD_LETTER_QUEUE) == 1
    assert probe.attempts[event_id] == 3

    # The cause is fixed; the operator replays it to the queue it failed in.
    probe.failing.clear()
    assert replay_dead_letters(uri) == 1

    wait_until(lambda: event_id in probe.handled, message="replayed event never handled")
    assert probe.attempts[event_id] == 4
    assert probe.handled == [event_id]
    assert queue_depth(uri, DEAD_LETTER_QUEUE) == 0
    assert list_dead_letters(uri) == []


def test_other_events_keep_flowing_while_one_is_retried(handler_settings, probe, rabbit_config):
    handler_settings(backoff=0.2, max_attempts=10)
    uri = amqp_uri(rabbit_config)
    probe.failing.add("bloque@cegeplevis.demo.quebec")
    stuck = reset_envelope(email="bloque@cegeplevis.demo.quebec", full_name="Bloqué")
    others = [reset_envelope(email=f"u{i}@cegeplevis.demo.quebec") for i in range(3)]

    publish_envelope(uri, stuck)
    wait_until(lambda: probe.attempts.get(str(stuck.event_id), 0) >= 1)
    for envelope in others:
        publish_envelope(uri, envelope)

    other_ids = {str(e.event_id) for e in others}
    wait_until(lambda: other_ids <= set(probe.handled), message="other events were held up")
    # The failing event is still waiting in its retry queue, neither handled nor dead.
    assert str(stuck.event_id) not in probe.handled
    assert queue_depth(uri, DEAD_LETTER_QUEUE) == 0

    probe.failing.clear()
    wait_until(lambda: str(stuck.event_id) in probe.handled, timeout=30)
    assert probe.attempts[str(stuck.event_id)] >= 2
    assert sorted(probe.handled) == sorted(other_ids | {str(stuck.event_id)})
    assert queue_depth(uri, DEAD_LETTER_QUEUE) == 0
