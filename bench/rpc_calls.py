"""Service RPC throughput: 20 concurrent green callers through the gateway's RPC client."""

from __future__ import annotations

import statistics
import time


def run_rpc_loop(amqp_uri: str, service: str, seconds: int, callers: int = 20) -> dict:
    import eventlet

    from gateway.rpc_client import RpcClient

    client = RpcClient(amqp_uri, timeout=10, pool_size=8)
    client.start()
    client.wait_ready()
    client.call(service, "echo", value="warm-up")
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def caller():
        while time.monotonic() < deadline:
            start = time.perf_counter()
            client.call(service, "echo", value="x")
            latencies.append(time.perf_counter() - start)

    started = time.monotonic()
    pool = [eventlet.spawn(caller) for _ in range(callers)]
    for thread in pool:
        thread.wait()
    elapsed = time.monotonic() - started
    client.stop()
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


if __name__ == "__main__":
    import eventlet

    eventlet.monkey_patch()
    import sys

    print(run_rpc_loop(sys.argv[1], sys.argv[2], int(sys.argv[3])))
