"""RPC targets side by side: 20 concurrent green callers each, in turns, in a fresh process.

``python -m bench.rpc_loops AMQP_URI SECONDS ROUNDS TARGETS_JSON`` where ``TARGETS_JSON``
is a list of ``{"name", "kind", "service", "method", "kwargs"}``; prints one JSON object
(per target: calls/s, p50 and p99 in ms, calls, errors).

- ``client``: the gateway's own ``gateway.rpc_client.RpcClient`` (one per process, as
  the gateway holds it, default pool), shared by the callers;
- ``nameko``: nameko's ``ClusterRpcProxy`` as a client program would use it, one per
  caller (a standalone proxy is not safe to share between green threads).

Every caller connects and makes one untimed call first. Then each target gets ``SECONDS``
in all, as ``ROUNDS`` turns taken one target after the other, so that a burst of other
work on the machine falls on every target alike.
"""

import eventlet

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CALLERS = 20


class Target:
    def __init__(self, amqp_uri: str, spec: dict, shared: dict):
        self.name = spec["name"]
        self.latencies: list[float] = []
        self.errors = 0
        self.elapsed = 0.0
        service, method, kwargs = spec["service"], spec["method"], spec.get("kwargs") or {}
        if spec["kind"] == "client":
            if "client" not in shared:
                from gateway.rpc_client import RpcClient

                shared["client"] = RpcClient(amqp_uri, timeout=10)
                shared["client"].start()
                shared["client"].wait_ready(10)
            client = shared["client"]
            self.calls = [lambda: client.call(service, method, **kwargs)] * CALLERS
        else:
            from nameko.standalone.rpc import ClusterRpcProxy

            self.calls = []
            for _ in range(CALLERS):
                proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10)
                shared.setdefault("proxies", []).append(proxy)
                method_proxy = getattr(getattr(proxy.start(), service), method)
                self.calls.append(lambda m=method_proxy: m(**kwargs))
        pool = [eventlet.spawn(call) for call in self.calls]  # connect and warm up, untimed
        for thread in pool:
            thread.wait()

    def turn(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds

        def caller(call):
            own = []
            while time.monotonic() < deadline:
                began = time.perf_counter()
                try:
                    call()
                except Exception:  # counted, never hidden
                    self.errors += 1
                    continue
                own.append(time.perf_counter() - began)
            self.latencies.extend(own)

        began = time.monotonic()
        for thread in [eventlet.spawn(caller, call) for call in self.calls]:
            thread.wait()
        self.elapsed += time.monotonic() - began

    def result(self) -> dict:
        latencies = sorted(self.latencies)
        count = len(latencies)
        return {
            "rps": count / self.elapsed if self.elapsed else 0.0,
            "p50_ms": latencies[count // 2] * 1000 if count else 0.0,
            "p99_ms": latencies[max(int(count * 0.99) - 1, 0)] * 1000 if count else 0.0,
            "calls": count,
            "errors": self.errors,
        }


def run(amqp_uri: str, seconds: float, rounds: int, specs: list[dict]) -> dict:
    shared: dict = {}
    try:
        targets = [Target(amqp_uri, spec, shared) for spec in specs]
        for _ in range(rounds):
            for target in targets:
                target.turn(seconds / rounds)
        return {target.name: target.result() for target in targets}
    finally:
        for proxy in shared.get("proxies", []):
            proxy.stop()
        if "client" in shared:
            shared["client"].stop()


if __name__ == "__main__":
    amqp_uri, seconds, rounds, specs = sys.argv[1:5]
    print(json.dumps(run(amqp_uri, float(seconds), int(rounds), json.loads(specs))))
