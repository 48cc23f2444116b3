"""Raw kombu request/reply with 20 concurrent callers: the broker's own ceiling."""

from __future__ import annotations

import statistics
import threading
import time
import uuid

import kombu


def run_kombu_loop(amqp_uri: str, seconds: int, callers: int = 20) -> dict:
    request_queue = f"bench-kombu-{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    server = threading.Thread(target=_server, args=(amqp_uri, request_queue, stop), daemon=True)
    server.start()
    time.sleep(0.5)
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_caller, args=(amqp_uri, request_queue, deadline, latencies, lock))
        for _ in range(callers)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    stop.set()
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
    }


def _server(amqp_uri: str, queue_name: str, stop: threading.Event) -> None:
    with kombu.Connection(amqp_uri) as connection:
        channel = connection.channel()
        producer = kombu.Producer(channel)
        queue = kombu.Queue(queue_name, auto_delete=True)
        replies = []

        def on_request(body, message):
            replies.append(
                (body, message.properties["reply_to"], message.properties["correlation_id"])
            )
            message.ack()

        with kombu.Consumer(channel, [queue], callbacks=[on_request]):
            while not stop.is_set():
                try:
                    connection.drain_events(timeout=0.5)
                except TimeoutError:
                    continue
                # reply after the callback returns (publishing inside it can deadlock)
                while replies:
                    body, reply_to, correlation_id = replies.pop()
                    producer.publish(
                        {"result": body},
                        routing_key=reply_to,
                        correlation_id=correlation_id,
                        serializer="json",
                    )


def _caller(amqp_uri, queue_name, deadline, latencies, lock) -> None:
    with kombu.Connection(amqp_uri) as connection:
        channel = connection.channel()
        reply_queue = kombu.Queue(f"{queue_name}-reply-{uuid.uuid4().hex[:8]}", exclusive=True)
        producer = kombu.Producer(channel)
        got = {}

        def on_reply(body, message):
            got[message.properties["correlation_id"]] = body

        with kombu.Consumer(channel, [reply_queue], callbacks=[on_reply], no_ack=True):
            own = []
            while time.monotonic() < deadline:
                correlation_id = uuid.uuid4().hex
                start = time.perf_counter()
                producer.publish(
                    {"value": "x"},
                    routing_key=queue_name,
                    reply_to=reply_queue.name,
                    correlation_id=correlation_id,
                    serializer="json",
                )
                while correlation_id not in got:
                    connection.drain_events(timeout=5)
                got.pop(correlation_id)
                own.append(time.perf_counter() - start)
        with lock:
            latencies.extend(own)
