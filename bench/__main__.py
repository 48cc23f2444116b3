"""``make bench``: the gateway next to nameko's own HTTP-plus-RPC path and raw kombu.

Starts, in one run and on this machine: (a) a bare nameko ``@http`` entrypoint making one
RPC to a trivial service, (b) a raw kombu request/reply loop over the same broker, and
(c) the platform (every service and the gateway, on fresh PostgreSQL databases) serving an
authenticated API call and a page that each need one service. HTTP load comes from ``wrk``
on loopback for a fixed time. Prints requests/s and p50/p99 with the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.kombu_loop import run_kombu_loop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.platform import Platform, free_port  # noqa: E402


def wrk(url: str, seconds: int, headers: dict | None = None, connections: int = 32) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50_ms": _ms(latency.get("50", "0ms")),
        "p99_ms": _ms(latency.get("99", "0ms")),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def start_bare_http(amqp_uri: str, port: int, workdir: Path) -> subprocess.Popen:
    config = workdir / "bare.yaml"
    config.write_text(f"AMQP_URI: '{amqp_uri}'\nWEB_SERVER_ADDRESS: '127.0.0.1:{port}'\n")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nameko",
            "run",
            "--config",
            str(config),
            "bench.bare_services:EchoService",
            "bench.bare_services:BareHttpService",
        ],
        cwd=ROOT,
        stdout=open(workdir / "bare.log", "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_http(url: str, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per target")
    parser.add_argument("--gateway-workers", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install wrk", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="rac-bench-"))
    platform = Platform(workdir, web_workers=args.gateway_workers).prepare()
    bare_port = free_port()
    bare = None
    results: dict[str, dict] = {}
    try:
        platform.start()
        bare = start_bare_http(platform.amqp_uri, bare_port, workdir)
        wait_http(f"http://127.0.0.1:{bare_port}/echo")

        token = platform.token("rac@cegeplevis.demo.quebec")
        cookie = platform.session_cookie("rac@cegeplevis.demo.quebec")
        results["(a) nameko @http + 1 RPC"] = wrk(
            f"http://127.0.0.1:{bare_port}/echo", args.seconds
        )
        results["(b) raw kombu request/reply"] = run_kombu_loop(platform.amqp_uri, args.seconds)
        results["(c) gateway API + 1 RPC"] = wrk(
            f"{platform.url}/api/messages", args.seconds, {"Authorization": f"Bearer {token}"}
        )
        results["(c) gateway page + 1 RPC"] = wrk(
            f"{platform.url}/messages", args.seconds, {"Cookie": f"rac_session={cookie}"}
        )
    finally:
        if bare is not None:
            os.killpg(bare.pid, signal.SIGTERM)
            bare.wait(10)
        platform.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print_table(results)
    return 0


def print_table(results: dict[str, dict]) -> None:
    print(f"\nMachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"{'target':<32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(
            f"{name:<32} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r.get('errors', 0):>7}"
        )
    a = results["(a) nameko @http + 1 RPC"]["rps"]
    b = results["(b) raw kombu request/reply"]["rps"]
    for name in ("(c) gateway API + 1 RPC", "(c) gateway page + 1 RPC"):
        c = results[name]["rps"]
        print(f"{name}: {c / a:.2f}× (a), {c / b:.2f}× (b)")


if __name__ == "__main__":
    sys.exit(main())
