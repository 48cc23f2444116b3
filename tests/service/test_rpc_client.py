"""The gateway's lean RPC client against a plain nameko service over a real RabbitMQ.

The client keeps one reply queue per process and routes replies by correlation id: under many
concurrent callers each must get its own answer; a slow service gives a timeout (504), a
missing one "unavailable" (503), a domain error keeps its French message, and a service
restarting in the middle of a load costs only the calls in flight, never a hang.
"""

from __future__ import annotations

import time

import eventlet
import pytest
from nameko.rpc import rpc

from gateway.rpc_client import RpcClient, RpcTimeout, RpcUnavailable
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


def test_a_service_without_consumers_is_unavailable(client):
    started = time.monotonic()
    with pytest.raises(RpcUnavailable):
        client.call("absent", "anything", timeout=0.5)
    assert time.monotonic() - started < 3.0


def test_a_domain_error_keeps_its_code_and_french_message(echo, client):
    with pytest.raises(DomainError) as refused:
        client.call("echo", "refuse")
    assert refused.value.code == "invalid"
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
