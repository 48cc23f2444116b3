"""A small HTTP load generator for machines without ``wrk`` (``make bench`` installs wrk; this
one lets a section be tried anywhere): ``python -m bench.loadgen URL SECONDS CONNECTIONS
[HEADERS_JSON]`` prints the figures ``bench.__main__.wrk`` returns, as one JSON line.

Keep-alive connections, one thread each, for a fixed time; slower than wrk (the GIL), so
its absolute figures are the load generator's as much as the server's.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import urllib.parse


def run(url: str, seconds: float, connections: int, headers: dict) -> dict:
    parsed = urllib.parse.urlsplit(url)
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    retry_after = [0]
    failures = [0]
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        mine, codes, retried, failed = [], {}, 0, 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
            if response.status == 503 and response.getheader("Retry-After"):
                retried += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count
            retry_after[0] += retried
            failures[0] += failed

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def quantile(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(int(q * len(latencies)), len(latencies) - 1)] * 1000

    non2xx = sum(n for code, n in statuses.items() if not 200 <= code < 400)
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": quantile(0.5),
        "p99_ms": quantile(0.99),
        "errors": non2xx + failures[0],
        "statuses": statuses,
        "retry_after": retry_after[0],
        "socket_errors": failures[0],
    }


if __name__ == "__main__":
    url, seconds, connections = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    headers = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    print(json.dumps(run(url, seconds, connections, headers)))
