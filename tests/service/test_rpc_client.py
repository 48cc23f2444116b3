"""The gateway's lean RPC client against a plain nameko service over a real RabbitMQ.

The client keeps one reply queue per process and routes replies by correlation id: under many
concurrent callers each must get its own answer; a slow service gives a timeout (504), a
missing one "unavailable" (503), a domain error keeps its French message, and a service
restarting in the middle of a load costs only the calls in flight, never a hang.
"""

from __future__ import annotations

import json
import time

import eventlet
import pytest
from nameko.rpc import rpc

from gateway.rpc_client import RawJson, RpcClient, RpcOverloaded, RpcTimeout, RpcUnavailable
from rac_shared import rpc as platform
from rac_shared.errors import DomainError, invalid


class Echo:
    name = "echo"

    @rpc
    def echo(self, value, delay=0.0):
        if delay:
            eventlet.sleep(delay)
        return {"value": value}

    @rpc
    def refuse(self):
        raise invalid("Montant supérieur au plafond de 250 000,00 $.")


class PlatformEcho:
    """The same on the platform's entrypoint, whose responder writes UTF-8 JSON as it is."""

    name = "platform_echo"

    @platform.rpc
    def echo(self, value: str) -> dict:
        return {"value": value}


@pytest.fixture
def echo(container_factory, rabbit_config):
    container = container_factory(Echo, rabbit_config)
    container.start()
    return container


@pytest.fixture
def client(rabbit_config):
    client = RpcClient(rabbit_config["AMQP_URI"], timeout=5.0)
    client.start()
    assert client.wait_ready(10)
    yield client
    client.stop()


def test_each_of_many_concurrent_callers_gets_its_own_reply(echo, client):
    pool = eventlet.GreenPool(50)
    results = list(pool.imap(lambda n: client.call("echo", "echo", value=n), range(400)))
    assert [r["value"] for r in results] == list(range(400))
    assert client._pending == {}


def test_a_slow_service_times_out_and_its_late_reply_goes_nowhere(echo, client):
    started = time.monotonic()
    with pytest.raises(RpcTimeout):
        client.call("echo", "echo", value="lent", delay=2.0, timeout=0.5)
    assert time.monotonic() - started < 1.5
    eventlet.sleep(2.0)  # the late reply arrives: nobody waits for it any more
    assert client.call("echo", "echo", value="suivant") == {"value": "suivant"}
    assert client._pending == {}


def test_calls_beyond_the_in_flight_limit_wait_their_turn_then_are_shed(echo, rabbit_config):
    """Beyond ``in_flight`` calls to one service, the others wait in the gateway (not in the
    service's queue, where they would expire): a call whose turn comes within half its
    timeout succeeds, slower; one that cannot start in that time is shed (503 + Retry-After)
    and never reaches the service."""
    client = RpcClient(rabbit_config["AMQP_URI"], timeout=5.0, in_flight=2)
    client.start()
    assert client.wait_ready(10)
    try:
        pool = eventlet.GreenPool(10)
        slow = [pool.spawn(client.call, "echo", "echo", value=n, delay=0.5) for n in range(4)]
        assert [t.wait()["value"] for t in slow] == [0, 1, 2, 3]  # two at a time, all served
        busy = [pool.spawn(client.call, "echo", "echo", value=n, delay=1.5) for n in range(2)]
        eventlet.sleep(0.1)
        with pytest.raises(RpcOverloaded) as shed:
            client.call("echo", "echo", value="de trop", timeout=1.0)
        assert isinstance(shed.value, RpcUnavailable) and shed.value.retry_after > 0
        assert [t.wait()["value"] for t in busy] == [0, 1]
    finally:
        client.stop()


def test_a_service_without_consumers_is_unavailable(client):
    with pytest.raises(RpcUnavailable):
        client.call("absent", "anything", timeout=0.5)


class Counter:
    """Counts the commands it executes, in a list shared with the test."""

    name = "counter"
    executed: list = []

    @rpc
    def record(self, value):
        Counter.executed.append(value)
        return value


def test_a_stopped_service_is_refused_at_once_and_its_command_never_runs_later(
    container_factory, rabbit_config
):
    """The service's queue exists but has no consumer: the call is refused before anything is
    published, far within its long timeout (it used to wait the whole timeout, with the
    command waiting in the queue for the service to come back), and the command is not
    executed when the service starts again."""
    Counter.executed = []
    client = RpcClient(rabbit_config["AMQP_URI"], timeout=60.0, consumers_trusted_seconds=0.0)
    client.start()
    assert client.wait_ready(10)
    try:
        first = container_factory(Counter, rabbit_config)
        first.start()
        assert client.call("counter", "record", value="avant") == "avant"
        first.stop()

        started = time.monotonic()
        with pytest.raises(RpcUnavailable):
            client.call("counter", "record", value="pendant l'arrêt")
        refused_in = time.monotonic() - started
        print(f"refused in {refused_in * 1000:.1f} ms (timeout 60 s)")
        assert refused_in < 30  # not the timeout; measured: a few milliseconds

        second = container_factory(Counter, rabbit_config)
        second.start()
        assert client.call("counter", "record", value="après") == "après"
        assert Counter.executed == ["avant", "après"]
    finally:
        client.stop()


def test_a_known_consumer_is_asked_about_once_per_window(echo, rabbit_config):
    """The passive declare is not paid on every call: once per service and window."""
    client = RpcClient(rabbit_config["AMQP_URI"], timeout=5.0, consumers_trusted_seconds=3600)
    client.start()
    assert client.wait_ready(10)
    checks = []
    asked = client.service_has_consumers
    client.service_has_consumers = lambda service: checks.append(service) or asked(service)
    try:
        for n in range(20):
            assert client.call("echo", "echo", value=n) == {"value": n}
    finally:
        client.stop()
    assert checks == ["echo"]


def test_a_domain_error_keeps_its_code_and_french_message(echo, client):
    with pytest.raises(DomainError) as refused:
        client.call("echo", "refuse")
    assert refused.value.code == "invalid"
    assert refused.value.message == "Montant supérieur au plafond de 250 000,00 $."


def test_a_raw_call_gives_the_result_as_the_text_the_service_sent(
    echo, client, container_factory, rabbit_config
):
    """What an API route passes on unchanged: the result's JSON text, not decoded and
    encoded again; an error is raised all the same."""
    container_factory(PlatformEcho, rabbit_config).start()
    name = "Cégep de Lévis « RAC »"
    sent = client.call("platform_echo", "echo", value=name, raw=True)
    assert isinstance(sent, RawJson)
    assert sent == '{"value": "Cégep de Lévis « RAC »"}'
    assert client.call("platform_echo", "echo", value=name) == {"value": name}
    plain = client.call("echo", "echo", value=name, raw=True)  # nameko's own responder
    assert isinstance(plain, RawJson) and json.loads(plain) == {"value": name}
    with pytest.raises(DomainError) as refused:
        client.call("echo", "refuse", raw=True)
    assert refused.value.message == "Montant supérieur au plafond de 250 000,00 $."


def test_a_service_restarting_mid_load_costs_only_the_calls_in_flight(
    container_factory, rabbit_config, client
):
    first = container_factory(Echo, rabbit_config)
    first.start()
    outcomes: list[str] = []

    def caller(n: int) -> None:
        started = time.monotonic()
        try:
            client.call("echo", "echo", value=n, delay=0.05, timeout=1.0)
            outcomes.append("ok")
        except (RpcTimeout, RpcUnavailable):
            outcomes.append("refused")
        assert time.monotonic() - started < 4.0  # never a hang

    load = eventlet.GreenPool(20)
    for n in range(60):
        load.spawn(caller, n)
    eventlet.sleep(0.3)
    first.stop()  # in-flight work finishes, then the queue has no consumer
    for n in range(60, 120):
        load.spawn(caller, n)
    eventlet.sleep(0.5)
    second = container_factory(Echo, rabbit_config)
    second.start()
    load.waitall()
    assert len(outcomes) == 120
    assert "ok" in outcomes
    # Once the service is back, every call succeeds again.
    assert [client.call("echo", "echo", value=n)["value"] for n in range(20)] == list(range(20))
