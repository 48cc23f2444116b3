"""Quorum queues (``QUORUM_QUEUES``) over the local RabbitMQ (3.10: quorum queues on one node).

Every durable queue — the handlers' queues declared up front by ``declare_topology`` and by
nameko when a service starts, a service's RPC queue, the delay queues of retries and the dead
letters — is a quorum queue when the setting is on, and the platform works on them: an RPC
with its per-message expiry, a handler retried after its delay queue's TTL, a dead letter
listed and replayed. Reply queues stay classic and private to their process. A broker that
already holds classic queues is refused with a message that says what to do.
"""

from __future__ import annotations

import kombu
import pytest

from gateway.rpc_client import RpcClient
from rac.processes import declare_queues
from rac_shared.bus import QueueTypeMismatch, event_queues_of
from rac_shared.consumer import DEAD_LETTER_QUEUE, on_event
from rac_shared.dead_letters import list_dead_letters, replay_dead_letters
from rac_shared.events import UserPasswordResetRequested
from rac_shared.rpc import rpc
from rac_shared.settings import reset_settings_cache
from services.notifications.service import NotificationsService
from tests.service.helpers import publish_envelope, reset_envelope, wait_until


@pytest.fixture
def quorum_queues(monkeypatch):
    monkeypatch.setenv("QUORUM_QUEUES", "true")
    monkeypatch.setenv("HANDLER_BACKOFF_SECONDS", "0.1")
    monkeypatch.setenv("HANDLER_MAX_ATTEMPTS", "3")
    reset_settings_cache()


class Outcomes:
    failing = True
    handled: list = []


class QuorumProbe:
    name = "quorum_probe"

    @rpc
    def echo(self, value: str) -> str:
        return value

    @on_event(UserPasswordResetRequested)
    def handle(self, envelope, payload):
        if Outcomes.failing:
            raise RuntimeError("panne simulée")
        Outcomes.handled.append(str(envelope.event_id))


def queues_of(rabbit_manager, vhost: str) -> dict[str, dict]:
    return {queue["name"]: queue for queue in rabbit_manager.get_queues(vhost)}


def test_every_durable_queue_is_a_quorum_queue_and_the_platform_works_on_them(
    quorum_queues, rabbit_config, rabbit_manager, container_factory
):
    uri, vhost = rabbit_config["AMQP_URI"], rabbit_config["vhost"]
    declared = declare_queues(["notifications"], uri)
    assert declared == len(event_queues_of(NotificationsService)) > 10
    Outcomes.failing, Outcomes.handled = True, []
    container = container_factory(QuorumProbe, rabbit_config)
    container.start()
    client = RpcClient(uri, timeout=10.0)
    client.start()
    try:
        assert client.wait_ready(10)
        assert client.call("quorum_probe", "echo", value="bonjour") == "bonjour"

        # A handler failing every attempt: retried through delay queues, then dead-lettered.
        envelope = reset_envelope()
        publish_envelope(uri, envelope)
        wait_until(lambda: len(list_dead_letters(uri)) == 1, timeout=60)
        [letter] = list_dead_letters(uri)
        assert letter["event_id"] == str(envelope.event_id) and letter["attempts"] == 3

        queues = queues_of(rabbit_manager, vhost)
        durable = {
            name: queue
            for name, queue in queues.items()
            if name.startswith(("evt-", "rpc-", DEAD_LETTER_QUEUE))
        }
        retries = [name for name in durable if ".retry." in name]
        assert len(retries) == 2  # one delay queue per attempt's delay
        assert "rpc-quorum_probe" in durable and DEAD_LETTER_QUEUE in durable
        assert "evt-gateway-user.password_reset_requested--quorum_probe.handle" in durable
        assert {name: queue["type"] for name, queue in durable.items()} == {
            name: "quorum" for name in durable
        }
        replies = [q for name, q in queues.items() if name.startswith("rpc.reply-")]
        assert replies and {q["type"] for q in replies} == {"classic"}
        assert all(q["auto_delete"] or q["exclusive"] for q in replies)

        # Replayed from the quorum dead-letter queue once the cause is gone: handled once.
        Outcomes.failing = False
        assert replay_dead_letters(uri) == 1
        wait_until(lambda: Outcomes.handled == [str(envelope.event_id)], timeout=30)
        assert list_dead_letters(uri) == []
    finally:
        client.stop()


def test_a_broker_holding_classic_queues_is_refused_with_the_way_out(rabbit_config, monkeypatch):
    uri = rabbit_config["AMQP_URI"]
    declare_queues(["notifications"], uri)  # the setting off: classic queues
    monkeypatch.setenv("QUORUM_QUEUES", "true")
    reset_settings_cache()
    with pytest.raises(QueueTypeMismatch) as refused:
        declare_queues(["notifications"], uri)
    assert "README" in str(refused.value) and "Quorum queues" in str(refused.value)
    with kombu.Connection(uri) as connection:  # nothing was changed
        _, _, _ = connection.default_channel.queue_declare(DEAD_LETTER_QUEUE, passive=True)
