"""``make bench``: the platform next to the bare stack it stands on, ratios from one run.

In one run on this machine, each measurement next to its bare counterpart:

1. HTTP: the gateway's API call and page that each make one RPC, next to a bare nameko
   ``@http`` entrypoint making one RPC to a trivial nameko service (``wrk``, fixed time);
2. RPC: a real service's cheap RPC (``plans.health``) called with the gateway's
   ``RpcClient`` and with nameko's ``ClusterRpcProxy``, next to bare nameko RPC to a trivial
   service and raw kombu request/reply over the same broker (20 concurrent callers);
3. PDF: a plan with 20 candidate-workers rendered through the plans service's document
   code (sandboxed WeasyPrint child), next to WeasyPrint in process on the same HTML;
4. the invoicing job over N due installments with two processes, next to a bare
   ``FOR UPDATE SKIP LOCKED`` claim loop (``bench.invoicing``);
5. the plan-deadline job over 1 000 due plans among 100 000, next to the same 1 000 alone
   (``bench.deadlines``);
1e–1h. lists: database-backed reads (50 rows) next to bare nameko doing the same SELECT on
   the same data, and the home pages of an institution with 5 000 plans, applications,
   invoices and reports (``bench.dataset``);
6. contended: the same reads quiet, then beside a CPU hog per core started by the bench,
   answers counted by status (503 + ``Retry-After`` counted as load shed);
7. issue: a 20-candidate plan's issue, its PDF's first render and its draft's preview (first,
   then unchanged), next to WeasyPrint (``bench.issue``).

Prints one table (platform, bare, ratio, target, met) with the machine, and writes it to
``bench/RESULTS.md`` (``BENCH_CONTENDED=1``: the whole run beside CPU hogs, written beside the
quiet run). Options have environment defaults so that ``make bench VAR=…`` works:
``BENCH_SECONDS``, ``BENCH_INSTALLMENTS``, ``BENCH_PLANS``, ``BENCH_ONLY``,
``BENCH_CONTENDED``; ``BENCH_KEEP=1`` keeps the platform's working directory (its logs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import dataset
from bench.common import child_json
from bench.kombu_loop import run_kombu_loop
from bench.report import Row, failed, machine, markdown, number, table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.platform import BIN, Platform, free_port  # noqa: E402

SECTIONS = ("http", "lists", "contended", "rpc", "pdf", "issue", "invoicing", "deadlines")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
RPC_TIMEOUT = 10.0  # production's (rac_shared.settings), not the test platforms' 5 s
ROUNDS = 5  # each load test is taken in turns with its counterparts (noise falls on all)
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:6.0f} s] {message}", file=sys.stderr, flush=True)


# -- HTTP -----------------------------------------------------------------------------------


STATUSES_LUA = Path(__file__).resolve().parent / "statuses.lua"


def wrk(
    url: str,
    seconds: int,
    headers: dict | None = None,
    connections: int = 32,
    threads: int = 2,
    statuses: bool = False,
) -> dict:
    """Requests/s, p50, p99 and non-2xx answers of ``connections`` keep-alive clients;
    ``statuses``: the answers counted by status too, and the 503 with ``Retry-After``
    (``bench/statuses.lua``). Without wrk on the machine, ``bench.loadgen`` (slower)."""
    if not shutil.which("wrk"):
        return child_json(
            ["bench.loadgen", url, str(seconds), str(connections), json.dumps(headers or {})],
            timeout=seconds + 60,
        )
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if statuses:
        command += ["-s", str(STATUSES_LUA)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    result = {
        "rps": rps,
        "p50_ms": _ms(latency.get("50", "0ms")),
        "p99_ms": _ms(latency.get("99", "0ms")),
        "errors": (int(non2xx.group(1)) if non2xx else 0) + failed,
        "socket_errors": failed,
    }
    if statuses:
        result["statuses"] = {
            int(code): int(count)
            for code, count in re.findall(r"^status (\d+) (\d+)$", output, re.M)
        }
        retry = re.search(r"^retry-after (\d+)$", output, re.M)
        result["retry_after"] = int(retry.group(1)) if retry else 0
    return result


def combined(turns: list[dict]) -> dict:
    """Several wrk turns on one target: requests over time, median latencies."""
    import statistics

    result = {
        "rps": statistics.fmean(t["rps"] for t in turns),
        "p50_ms": statistics.median(t["p50_ms"] for t in turns),
        "p99_ms": statistics.median(t["p99_ms"] for t in turns),
        "errors": sum(t["errors"] for t in turns),
        "socket_errors": sum(t.get("socket_errors", 0) for t in turns),
        "retry_after": sum(t.get("retry_after", 0) for t in turns),
    }
    statuses: dict[int, int] = {}
    for turn in turns:
        for code, count in turn.get("statuses", {}).items():
            statuses[int(code)] = statuses.get(int(code), 0) + count
    result["statuses"] = statuses
    return result


def _ms(value: str) -> float:
    number_, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number_) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def start_bare_http(
    amqp_uri: str, port: int, workdir: Path, database_urls: dict[str, str]
) -> subprocess.Popen:
    config = workdir / "bare.yaml"
    config.write_text(
        f"AMQP_URI: '{amqp_uri}'\nWEB_SERVER_ADDRESS: '127.0.0.1:{port}'\n"
        f"BENCH_DATABASE_URL: '{database_urls['plans']}'\n"
        f"BENCH_APPLICATIONS_DATABASE_URL: '{database_urls['applications']}'\n"
    )
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
            "bench.bare_services:LightEchoService",
            "bench.bare_services:BareHealthService",
            "bench.bare_services:BareListsService",
        ],
        cwd=ROOT,
        stdout=open(workdir / "bare.log", "wb"),  # noqa: SIM115 - owned by the process
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_http(url: str, timeout: float = 120) -> None:
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


def load_text(r: dict, unit: str = "req/s") -> str:
    text = (
        f"{number(r['rps'])} {unit}, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
        if r["rps"]
        else "no successful call"
    )
    return text + (f", {r['errors']} errors" if r.get("errors") else "")


def http_rows(platform: Platform, bare_port: int, seconds: int) -> list[Row]:
    token = platform.token("rac@cegeplevis.demo.quebec")
    cookie = platform.session_cookie("rac@cegeplevis.demo.quebec")
    small = platform.token(dataset.SMALL_ACCOUNT)
    # The same gateway with a single worker process, beside the platform's own (2 workers).
    single, single_port = single_gateway(platform)
    try:
        targets = {
            "bare": (f"http://127.0.0.1:{bare_port}/echo", {}),
            "api": (f"{platform.url}/api/messages", {"Authorization": f"Bearer {token}"}),
            "page": (f"{platform.url}/messages", {"Cookie": f"rac_session={cookie}"}),
            "plans": (f"{platform.url}/api/plans", {"Authorization": f"Bearer {small}"}),
            "single": (
                f"http://127.0.0.1:{single_port}/api/messages",
                {"Authorization": f"Bearer {token}"},
            ),
        }
        log(f"HTTP: {', '.join(targets)} ({seconds} s each in {ROUNDS} turns, wrk)")
        turns: dict[str, list[dict]] = {name: [] for name in targets}
        for _ in range(ROUNDS):
            for name, (url, headers) in targets.items():
                turns[name].append(wrk(url, max(seconds // ROUNDS, 1), headers))
    finally:
        stop_group(single)
    bare, api, page, plans, one = (combined(turns[name]) for name in targets)
    how = (
        f"`wrk -t2 -c32` on loopback, {seconds} s per target in {ROUNDS} turns taken one "
        "target after the other (req/s over all turns, median p50 and p99 of the turns). "
        "Bare: nameko `@http` entrypoint (`bench/bare_services.py`) returning one `@rpc` "
        "call to a trivial nameko service, default config."
    )
    return [
        Row(
            "1. Gateway API call with one RPC (`GET /api/messages`, bearer token)",
            load_text(api),
            "nameko `@http` + 1 RPC: " + load_text(bare),
            api["rps"] / bare["rps"],
            "throughput",
            "≥ 2×",
            api["rps"] >= 2 * bare["rps"] and not api["errors"],
            [
                how,
                "The gateway checks the token, authorizes the route and answers the user's "
                "inbox (`notifications.inbox`) from its read model while its copy is current "
                "(invalidated by PostgreSQL NOTIFY), so most requests make no RPC at all.",
            ],
        ),
        Row(
            "1d. Gateway API call with one RPC, a single gateway worker",
            load_text(one),
            "nameko `@http` + 1 RPC: " + load_text(bare),
            one["rps"] / bare["rps"],
            "throughput",
            "≥ 2×, p99 below bare",
            one["rps"] >= 2 * bare["rps"] and one["p99_ms"] < bare["p99_ms"] and not one["errors"],
            [
                "Row 1 with one gateway process (`rac web --workers 1`): it leaves CPU to the "
                "load generator, so its latencies are not those of two saturated vCPUs."
            ],
        ),
        Row(
            "1b. Gateway page with one RPC (`GET /messages`, session cookie)",
            load_text(page),
            "nameko `@http` + 1 RPC: " + load_text(bare),
            page["rps"] / bare["rps"],
            "throughput",
            notes=["Same load; a full HTML page (layout, navigation, CSRF) from the gateway."],
        ),
        Row(
            "1c. Gateway API call with one database-backed RPC (`GET /api/plans`)",
            load_text(plans),
            "nameko `@http` + 1 RPC: " + load_text(bare),
            plans["rps"] / bare["rps"],
            "throughput",
            notes=[
                "One RPC per request, always: `plans.list_plans` for the Cégep "
                "Marie-Victorin's coordinator (the plans service reads its database's "
                "generation, then answers the page it kept while that generation holds: "
                f"`rac_shared/reply_cache.py`; {dataset.SMALL} plans of the bench's data set).",
                "For information, no target of its own: the bare side makes an RPC that runs "
                "no query, so it is no baseline for a list. The targets of database-backed "
                "reads are the like-for-like rows 1e and 1f (bare nameko running the same "
                "SELECT on the same rows); the target of a gateway call with one RPC against "
                "bare nameko's is row 1's. Only a copy kept in the gateway (no RPC at all, as "
                "the inbox of row 1) would double this one, at the price of lists that lag "
                "their data by the time an event takes to arrive.",
            ],
        ),
    ]


def single_gateway(platform: Platform) -> tuple[subprocess.Popen, int]:
    """The same gateway with a single worker process, beside the platform's own."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "rac"), "web", "--port", str(port), "--workers", "1"],
        env=platform.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
    except Exception:
        stop_group(process)  # never left running behind a failed section
        raise
    return process, port


def stop_group(process: subprocess.Popen) -> None:
    """Stop a process group; one that does not stop in 10 s (a busy machine) is killed."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def turns_of(targets: dict, seconds: int, rounds: int = ROUNDS, **options) -> dict[str, dict]:
    """Each target loaded for ``seconds`` in total, in ``rounds`` turns taken one target after
    the other (the machine's other work falls on all alike)."""
    turns: dict[str, list[dict]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, (url, headers) in targets.items():
            turns[name].append(wrk(url, max(seconds // rounds, 1), headers, **options))
    return {name: combined(found) for name, found in turns.items()}


def lists_rows(platform: Platform, bare_port: int, seconds: int, counts: dict) -> list[Row]:
    """Database-backed reads next to bare nameko doing the same SELECT on the same data, and
    the home pages of the institution with 5 000 of everything."""
    import requests

    bare = f"http://127.0.0.1:{bare_port}"
    small = {"Authorization": f"Bearer {platform.token(dataset.SMALL_ACCOUNT)}"}
    analyst = {"Authorization": f"Bearer {platform.token('analyste@mes.demo.quebec')}"}
    call = counts["call_id"]
    targets = {
        "plans": (f"{platform.url}/api/plans", small),
        "bare_plans": (f"{bare}/plans/{dataset.CMV}", {}),
        "applications": (f"{platform.url}/api/calls/{call}/applications", analyst),
        "bare_applications": (f"{bare}/calls/{call}/applications", {}),
    }
    for name, (url, headers) in targets.items():  # the same rows on both sides, checked
        reply = requests.get(url, headers=headers, timeout=30)
        reply.raise_for_status()
        log(f"lists: {name} answers {len(reply.content) // 1024} KB")
    log(f"lists: {', '.join(targets)} ({seconds} s each in {ROUNDS} turns)")
    r = turns_of(targets, seconds)
    homes = {
        "home_institution": f"{platform.url}/",
        "home_employer": f"{platform.url}/",
    }
    cookies = {
        "home_institution": platform.session_cookie(dataset.BIG_ACCOUNT),
        "home_employer": platform.session_cookie(dataset.BIG_EMPLOYER_ACCOUNT),
    }
    log(f"lists: home pages of the 5 000-plan institution ({seconds} s each, 2 clients)")
    pages = turns_of(
        {n: (url, {"Cookie": f"rac_session={cookies[n]}"}) for n, url in homes.items()},
        seconds,
        rounds=1,
        connections=2,
        threads=1,
    )

    # The lists of the same institution, each one page at a time as its page shows it.
    list_pages = {
        "list_plans": ("/plans", "home_institution"),
        "list_invoices": ("/facturation", "home_institution"),
        "list_reports": ("/redditions", "home_institution"),
        "list_calls": ("/appels", "home_institution"),
        "list_calendar": ("/calendrier", "home_institution"),
        "list_employer_plans": ("/plans", "home_employer"),
    }
    log(f"lists: list pages of the 5 000-plan institution ({seconds} s each, 2 clients)")
    pages |= turns_of(
        {
            name: (f"{platform.url}{path}", {"Cookie": f"rac_session={cookies[who]}"})
            for name, (path, who) in list_pages.items()
        },
        seconds,
        rounds=1,
        connections=2,
        threads=1,
    )

    def faster(row: dict, baseline: dict) -> bool:
        return (
            row["rps"] >= 2 * baseline["rps"]
            and row["p99_ms"] < baseline["p99_ms"]
            and not row["errors"]
        )

    how = (
        f"`wrk -t2 -c32`, {seconds} s per target in {ROUNDS} turns taken one after the "
        "other. Bare: a nameko `@http` entrypoint calling a plain nameko `@rpc` service "
        "that runs one straightforward SELECT with a SQLAlchemy engine on the platform's "
        "own database and returns the rows as dicts (`BareListsService`, "
        "`bench/bare_services.py`): no token, no authorisation, no labels."
    )
    rows = [
        Row(
            f"1e. `GET /api/plans`, {counts['plans_cmv']} rows, vs bare nameko doing the same "
            "SELECT",
            load_text(r["plans"]),
            "nameko `@http` + RPC + SELECT: " + load_text(r["bare_plans"]),
            r["plans"]["rps"] / r["bare_plans"]["rps"],
            "throughput",
            "≥ 2×, p99 below bare",
            faster(r["plans"], r["bare_plans"]),
            [
                how,
                "Platform: the Cégep Marie-Victorin's coordinator (bearer token), "
                f"{counts['plans_cmv']} plans copied from the demo's; bare: their rows joined "
                "with their current version. The plans service keeps the page's serialised "
                "reply while its database's generation (one row bumped at commit by a "
                "trigger on each data table) is unchanged: a request costs it one small "
                "statement instead of the count, the page and the contract's validation.",
            ],
        ),
        Row(
            f"1f. A call's applications table (`GET /api/calls/{call}/applications`), "
            f"{counts['applications_in_call']} rows, vs bare nameko doing the same SELECT",
            load_text(r["applications"]),
            "nameko `@http` + RPC + SELECT: " + load_text(r["bare_applications"]),
            r["applications"]["rps"] / r["bare_applications"]["rps"],
            "throughput",
            "≥ 2×, p99 below bare",
            faster(r["applications"], r["bare_applications"]),
            [
                "The ministry's analyst (bearer token, second factor done); "
                f"{counts['applications_in_call']} submitted applications in the demo's call."
            ],
        ),
    ]

    def under_50_ms(measurement: str, page: dict, note: str) -> Row:
        return Row(
            measurement,
            load_text(page),
            "—",
            None,
            target="p50 < 50 ms",
            met=page["p50_ms"] < 50 and not page["errors"],
            notes=[f"`wrk -t1 -c2`, {seconds} s, session cookie: {note}"],
        )

    whose = {
        "home_institution": f"the Cégep de Lévis's coordinator (`{dataset.BIG_ACCOUNT}`)",
        "home_employer": f"the CISSS's representative (`{dataset.BIG_EMPLOYER_ACCOUNT}`)",
    }
    data_set = (
        "The data set (`bench/dataset.py`): "
        f"{counts['plans_levis']} plans, {counts['applications_levis']} applications, "
        f"{counts['invoices_levis']} invoices of the Cégep de Lévis, {counts['reports']} CERAC "
        "reports, copied from the demo's."
    )
    for index, (name, label) in enumerate(whose.items()):
        rows.append(
            under_50_ms(
                f"1{'gh'[index]}. Home page with 5 000 plans, applications, invoices and "
                f"reports: {label}",
                pages[name],
                f"one RPC to each of the five services, in parallel. {data_set}",
            )
        )
    for index, (name, (path, who)) in enumerate(list_pages.items()):
        rows.append(
            under_50_ms(
                f"1{'ijklmn'[index]}. List page `{path}` with the 5 000-plan data set: "
                f"{whose[who].split(' (')[0]}",
                pages[name],
                "the list's first page as its page shows it (its filters and sort by default).",
            )
        )
    return rows


HOG = "while True: pass"


def start_hog(processes: int) -> list[subprocess.Popen]:
    """CPU hogs beside the platform: one busy Python loop per core."""
    return [
        subprocess.Popen([sys.executable, "-c", HOG], start_new_session=True)
        for _ in range(processes)
    ]


def status_text(r: dict) -> str:
    other = {c: n for c, n in sorted(r.get("statuses", {}).items()) if not 200 <= c < 400}
    parts = [f"{n} × {c}" for c, n in other.items()]
    if r.get("socket_errors"):
        parts.append(f"{r['socket_errors']} socket errors")
    if r.get("retry_after"):
        parts.append(f"{r['retry_after']} × 503 with Retry-After")
    return "; ".join(parts) if parts else "0 non-2xx"


def failures(r: dict) -> int:
    """Non-2xx answers that are not load shedding (503 with Retry-After), and socket errors."""
    return r["errors"] - r.get("retry_after", 0)


def contended_rows(platform: Platform, bare_port: int, seconds: int) -> list[Row]:
    """The same reads quiet, then with a CPU hog per core beside the gateway."""
    single, single_port = single_gateway(platform)
    hogs: list[subprocess.Popen] = []
    try:
        token = {"Authorization": f"Bearer {platform.token('rac@cegeplevis.demo.quebec')}"}
        small = {"Authorization": f"Bearer {platform.token(dataset.SMALL_ACCOUNT)}"}
        cookie = {"Cookie": f"rac_session={platform.session_cookie(dataset.BIG_ACCOUNT)}"}
        targets = {
            "messages_single": (f"http://127.0.0.1:{single_port}/api/messages", token),
            "messages": (f"{platform.url}/api/messages", token),
            "plans": (f"{platform.url}/api/plans", small),
            "home": (f"{platform.url}/", cookie),
            "bare": (f"http://127.0.0.1:{bare_port}/echo", {}),
        }
        log(f"contended: {', '.join(targets)} quiet ({seconds} s each)")
        quiet = turns_of(targets, seconds, rounds=1, statuses=True)
        cores = os.cpu_count() or 2
        log(f"contended: the same beside {cores} CPU hogs")
        hogs = start_hog(cores)
        time.sleep(1)
        loaded = turns_of(targets, seconds, rounds=1, statuses=True)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)
        stop_group(single)
    labels = {
        "messages_single": "`GET /api/messages`, a single gateway worker",
        "messages": "`GET /api/messages`",
        "plans": f"`GET /api/plans`, {dataset.SMALL} rows",
        "home": "home page, 5 000 plans",
    }
    rows = []
    for index, (name, label) in enumerate(labels.items()):
        q, c = quiet[name], loaded[name]
        rows.append(
            Row(
                f"6{'abcd'[index]}. Contended: {label}",
                f"{load_text(c)}; {status_text(c)}",
                f"quiet: {load_text(q)}; {status_text(q)}",
                c["rps"] / q["rps"] if q["rps"] else None,
                "throughput kept",
                "0 non-2xx (503 + Retry-After counted)",
                failures(c) == 0 and failures(q) == 0,
                [
                    f"`wrk` with `bench/statuses.lua` (answers counted by status), {seconds} s "
                    f"quiet, then {seconds} s beside {cores} busy Python loops (`{HOG}`, one "
                    "per core) that the bench starts and stops itself. A 503 that carries "
                    "`Retry-After` is the platform shedding load and is counted apart; any "
                    "other non-2xx answer or socket error fails the row."
                ]
                if index == 0
                else [],
            )
        )
    b, bq = loaded["bare"], quiet["bare"]
    rows.append(
        Row(
            "6e. Contended: bare nameko `@http` + 1 RPC",
            f"{load_text(b)}; {status_text(b)}",
            f"quiet: {load_text(bq)}; {status_text(bq)}",
            b["rps"] / bq["rps"] if bq["rps"] else None,
            "throughput kept",
            notes=["The bare stack under the same hogs, for reference."],
        )
    )
    return rows


# -- RPC ------------------------------------------------------------------------------------


def target(name: str, kind: str, service: str, method: str, **kwargs) -> dict:
    return {"name": name, "kind": kind, "service": service, "method": method, "kwargs": kwargs}


def rpc_loops(amqp_uri: str, seconds: int, rounds: int, targets: list[dict]) -> dict:
    names = ", ".join(t["name"] for t in targets)
    log(f"RPC: {names} ({seconds} s each in {rounds} turns, 20 callers)")
    return child_json(
        ["bench.rpc_loops", amqp_uri, str(seconds), str(rounds), json.dumps(targets)],
        timeout=len(targets) * seconds + 180,
    )


def rpc_rows(platform: Platform, seconds: int) -> list[Row]:
    amqp = platform.amqp_uri
    log("RPC: raw kombu request/reply (20 threads)")
    kombu = run_kombu_loop(amqp, seconds)
    loops = rpc_loops(
        amqp,
        seconds,
        ROUNDS,
        [
            target("nameko_echo", "nameko", "bench_echo", "echo", value="x"),
            target("nameko_bare_health", "nameko", "bench_health", "health"),
            target("client_health", "client", "plans", "health"),
            target("nameko_health", "nameko", "plans", "health"),
            target("client_echo", "client", "bench_light_echo", "echo", value="x"),
        ],
    )
    nameko_echo, nameko_bare_health = loops["nameko_echo"], loops["nameko_bare_health"]
    client_health, nameko_health = loops["client_health"], loops["nameko_health"]
    client_echo = loops["client_echo"]
    bare_health = "bare nameko `health`, `ClusterRpcProxy`: " + load_text(
        nameko_bare_health, "calls/s"
    )
    bare_echo = "bare nameko echo, `ClusterRpcProxy`: " + load_text(nameko_echo, "calls/s")
    bare_kombu = "raw kombu request/reply: " + load_text(kombu, "calls/s")

    def cost(row: dict, bare: dict) -> float | None:  # time per call ÷ bare time per call
        return bare["rps"] / row["rps"] if row["rps"] else None

    def within(row: dict, bare: dict, limit: float) -> bool:
        ratio = cost(row, bare)
        return ratio is not None and ratio <= limit and not row["errors"]

    per_call = "time per call"
    return [
        Row(
            "2. Service RPC `plans.health` with the gateway's `RpcClient`",
            load_text(client_health, "calls/s"),
            bare_health,
            cost(client_health, nameko_bare_health),
            per_call,
            "≤ 1.2×",
            within(client_health, nameko_bare_health, 1.2),
            [
                f"20 concurrent green callers, {seconds} s per target in {ROUNDS} turns taken "
                "one target after the other, in a fresh eventlet process "
                "(`bench/rpc_loops.py`), each caller making one untimed call first; ratio = bare "
                "calls/s ÷ platform calls/s. `plans.health` is a real service's cheapest "
                "RPC: the platform's `rac_shared.rpc` entrypoint and `Database` session, "
                "`SELECT 1` and the count of the outbox's unpublished rows. Bare: the same two "
                "queries on the same database from a plain nameko `@rpc` service with a "
                "SQLAlchemy engine (`BareHealthService`, `bench/bare_services.py`), called "
                "with nameko's `ClusterRpcProxy` (one per caller).",
            ],
        ),
        Row(
            "2b. Service RPC `plans.health` with nameko's `ClusterRpcProxy`",
            load_text(nameko_health, "calls/s"),
            bare_health,
            cost(nameko_health, nameko_bare_health),
            per_call,
            "≤ 1.2×",
            within(nameko_health, nameko_bare_health, 1.2),
            ["The same client on both sides: what the platform's service side costs."],
        ),
        Row(
            "2c. Platform RPC, trivial echo, `RpcClient` + `rac_shared.rpc`",
            load_text(client_echo, "calls/s"),
            bare_echo,
            cost(client_echo, nameko_echo),
            per_call,
            notes=[
                "No database on either side (`LightEchoService` vs `EchoService`): the "
                "platform's RPC client and entrypoint by themselves."
            ],
        ),
        Row(
            "2d. Service RPC `plans.health` (`RpcClient`) vs raw kombu",
            load_text(client_health, "calls/s"),
            bare_kombu,
            cost(client_health, kombu),
            per_call,
            notes=[
                "Raw kombu: 20 threads, each with its own connection and reply queue, one "
                "server thread replying after its consume callback (`bench/kombu_loop.py`)."
            ],
        ),
        Row(
            "2e. Bare nameko RPC (echo, `ClusterRpcProxy`) vs raw kombu",
            load_text(nameko_echo, "calls/s"),
            bare_kombu,
            cost(nameko_echo, kombu),
            per_call,
            notes=["nameko's own cost over the broker, for reference."],
        ),
    ]


BOUNCER_POOL = 10  # compose's PGBOUNCER_POOL_SIZE: server connections per database


def platform_rows(args, sections: set[str]) -> list[Row]:
    workdir = Path(tempfile.mkdtemp(prefix="rac-bench-"))
    rows: list[Row] = []
    platform = None
    bare = None
    try:
        log("starting the platform (fresh databases, demo data, every service, the gateway)")
        # Production's layout (README, "Connection budget"): pools derived from the workers
        # with no overflow, and PgBouncer in front of PostgreSQL as compose runs it. The bench
        # used pools of 10 + 10 overflow per process straight to PostgreSQL, with a third
        # web process and the bare stack beside: PostgreSQL refused connections (« too many
        # clients ») under load, and those were the 500s of the contended rows.
        platform = Platform(
            workdir,
            web_workers=args.gateway_workers,
            rpc_timeout=RPC_TIMEOUT,
            separate_services=True,  # as production runs them
        )
        for name in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW"):
            platform.env.pop(name)
        platform.prepare()
        log("the data set: 5 000 plans, applications, invoices and reports for one institution")
        counts = dataset.seed(platform.database_urls)
        platform.through_pgbouncer(BOUNCER_POOL)
        try:
            platform.start()
        except RuntimeError:  # slow to start on a busy machine: give it longer
            platform.wait_ready(timeout=240)
        bare_port = free_port()
        bare = start_bare_http(platform.amqp_uri, bare_port, workdir, platform.database_urls)
        wait_http(f"http://127.0.0.1:{bare_port}/echo")
        if "http" in sections:
            try:
                rows += http_rows(platform, bare_port, args.seconds)
            except Exception as exc:
                rows.append(failed("1. Gateway API call with one RPC", exc))
        if "lists" in sections:
            try:
                rows += lists_rows(platform, bare_port, args.seconds, counts)
            except Exception as exc:
                rows.append(failed("1e. Database-backed reads", exc))
        if "contended" in sections:
            try:
                rows += contended_rows(platform, bare_port, args.seconds)
            except Exception as exc:
                rows.append(failed("6. Contended", exc))
        if "rpc" in sections:
            try:
                rows += rpc_rows(platform, args.seconds)
            except Exception as exc:
                rows.append(failed("2. Service RPC", exc))
    except Exception as exc:
        rows.append(failed("1–2. Platform start", exc))
    finally:
        if bare is not None:
            stop_group(bare)
        if platform is not None:
            platform.stop()
        if os.environ.get("BENCH_KEEP"):
            log(f"kept the platform's logs and files in {workdir} (BENCH_KEEP)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return rows


# -- PDF, jobs --------------------------------------------------------------------------------


def pdf_rows(candidates: int, runs: int) -> list[Row]:
    from bench.pdf import run_pdf_bench

    log(f"PDF: a plan with {candidates} candidate-workers, {runs} renders each way")
    r = run_pdf_bench(candidates, runs)
    ratio = r["platform_cpu"] / r["bare_cpu"]
    return [
        Row(
            f"3. Plan PDF, {r['candidates']} candidate-workers, {r['pages']} pages",
            f"{r['platform_seconds']:.2f} s (CPU {r['platform_cpu']:.2f} s)",
            f"WeasyPrint in process: {r['bare_seconds']:.2f} s (CPU {r['bare_cpu']:.2f} s); "
            f"first render {r['bare_cold_seconds']:.2f} s",
            ratio,
            "CPU time",
            "≤ 1.1×",
            ratio <= 1.1,
            [
                f"The demo's issued plan (`services/plans/demo.py`) with {r['candidates']} "
                f"candidate-workers and its six competencies ({r['pages']} pages, "
                f"{r['html_kb']} KB of HTML; the PDF stored at issue has "
                f"{r['issued_pages']} pages), built through the plans and billing services' "
                "RPC methods on fresh databases. Platform: "
                "`services.plans.document.render_plan_pdf` (template, then "
                "`rac_shared.pdf.render_pdf`: the process's renderer, WeasyPrint preloaded, "
                "forks a sandboxed child per document; its start is not timed). Bare: "
                "`weasyprint.HTML(string=html).write_pdf()` on the same HTML in a process that "
                f"has WeasyPrint loaded. Two rounds, each side in turn ({runs} renders each "
                "per round), so that other work on the machine falls on both; medians of "
                f"the {2 * runs} renders, the bare side's first (cold) render apart; the ratio "
                "uses CPU seconds (this process, the renderer and its reaped children, from "
                "`/proc`), which the other work on the machine inflates less than wall "
                "seconds (shown).",
            ],
        ),
        Row(
            "3b. Plan PDF, peak memory of the rendering process",
            f"{r['platform_rss_mb']:.0f} MB (sandboxed child)",
            f"WeasyPrint in process: {r['bare_first_rss_mb']:.0f} MB after one render, "
            f"{r['bare_rss_mb']:.0f} MB after {runs + 1}",
            r["platform_rss_mb"] / r["bare_first_rss_mb"],
            "peak RSS, one render",
            notes=[
                "Platform: `ru_maxrss` of the renderer and its per-document children "
                "(`RUSAGE_CHILDREN` once the renderer has exited; checked to be above the "
                "measuring process's own peak, which Linux would otherwise report through "
                "`exec`). Bare: the "
                "measuring process's own peak (`VmHWM`) after its first and its last render."
            ],
        ),
    ]


def issue_rows(candidates: int, runs: int) -> list[Row]:
    from bench.issue import run_issue_bench

    log(f"issue: {runs} plans with {candidates} candidate-workers, previews and issue")
    r = run_issue_bench(candidates, runs)
    bare = (
        f"WeasyPrint in process: {r['bare_seconds']:.2f} s; first render "
        f"{r['bare_cold_seconds']:.2f} s"
    )
    issue_p50, first, again = (
        r["issue_seconds"],
        r["preview_first_seconds"],
        r["preview_again_seconds"],
    )
    how = (
        f"`python -m bench.issue`: {runs} plans of the demo's kind with {candidates} "
        "candidate-workers built through the plans and billing services' RPC methods in one "
        "process on fresh databases; for each, just before it is issued, its draft's PDF "
        "preview twice (`plans.preview_pdf`), then `plans.issue` (checks, frozen version "
        "with its HTML, `plan.issued`, committed; the PDF is rendered after the commit, row "
        "7a). Medians; wall seconds. Bare: WeasyPrint on the "
        "draft preview's HTML, in a process that has it loaded."
    )
    return [
        Row(
            f"7. Plan issue, {candidates} candidate-workers",
            f"p50 {issue_p50:.2f} s (runs: " + ", ".join(f"{t:.2f}" for t in r["issue_all"]) + ")",
            bare,
            issue_p50 / r["bare_seconds"],
            "wall time",
            "p50 ≤ 2 s",
            issue_p50 <= 2.0,
            [how],
        ),
        Row(
            "7a. The issued PDF, rendered after the issue (first read)",
            f"{r['issued_pdf_seconds']:.2f} s",
            bare,
            r["issued_pdf_seconds"] / r["bare_seconds"],
            "wall time",
            notes=[
                "`plans.get_pdf` right after the issue renders the PDF from the HTML frozen "
                "at the issue (`lifecycle.render_pending`); under nameko the service starts "
                "it in the background as soon as the issue commits."
            ],
        ),
        Row(
            "7b. Draft preview, first render",
            f"{first:.2f} s",
            bare,
            first / r["bare_seconds"],
            "wall time",
            notes=["The first preview of a draft renders it (`services.plans.document`)."],
        ),
        Row(
            "7c. Draft preview, the unchanged draft again",
            f"{again * 1000:.0f} ms",
            bare,
            again / r["bare_seconds"],
            "wall time",
            "≤ 300 ms",
            again <= 0.3,
            [
                "Served from the plans service's preview cache (`PreviewCache`: PDFs by the "
                "SHA-256 of their HTML, least recently used out first, 48 MB per process)."
            ],
        ),
    ]


def invoicing_rows(installments: int) -> list[Row]:
    from bench.invoicing import run_invoicing_bench

    log(f"invoicing job over {installments} due installments, 2 processes")
    r = run_invoicing_bench(installments, processes=2, batch=200)
    ratio = r["job_rate"] / r["bare_rate"]
    return [
        Row(
            f"4. Invoicing job, {number(installments)} due installments, 2 processes",
            f"{number(r['job_rate'])} installments/s ({r['job_seconds']:.1f} s), "
            "each invoiced once, numbers gapless",
            f"SKIP LOCKED claim loop: {number(r['bare_rate'])}/s ({r['bare_seconds']:.1f} s)",
            ratio,
            "rate",
            "≥ 0.10× (≈ 5 000/s idle)",
            ratio >= 0.10,
            [
                "`python -m bench.invoicing` on a fresh billing database: two concurrent "
                "`rac jobs run invoicing` processes (claim with `FOR UPDATE SKIP LOCKED`, one "
                "gapless number each, the invoice with its snapshot, the `invoice.issued` "
                "outbox row), then as many processes running only the bare `SELECT … FOR "
                "UPDATE SKIP LOCKED` + `UPDATE` loop over as many other installments, batches "
                f"of 200. Absolute rate this run: {number(r['job_rate'])}/s "
                f"({'≥' if r['job_rate'] >= 5000 else '<'} 5 000/s).",
            ],
        )
    ]


def deadline_rows(plans: int, due: int) -> list[Row]:
    from bench.deadlines import run_deadline_bench

    log(f"plan-deadline job: {due} due among {plans} plans, then {due} alone")
    r = run_deadline_bench(plans, due)
    large, small = r["large"], r["small"]
    return [
        Row(
            f"5. Plan-deadline job, {number(due)} due among {number(plans)} plans",
            f"{large['pass_seconds']:.2f} s (committed run {large['job_seconds']:.2f} s)",
            f"{number(due)} due alone: {small['pass_seconds']:.2f} s "
            f"(committed run {small['job_seconds']:.2f} s)",
            r["ratio"],
            "time",
            "≈ 1× (≤ 1.5×)",
            r["ratio"] <= 1.5,
            [
                f"`python -m bench.deadlines`: two fresh plans databases filled by bulk "
                f"`INSERT … SELECT generate_series`; the due plans lapse (a quarter) or get a "
                "reminder at 10, 3 or 1 days; the others are accepted, completed, lapsed, "
                "drafts and issued plans with later deadlines. Median of "
                f"{r['rounds']} passes of the job's transaction over each database, alternately, "
                "rolled back; then `run_job('plan-deadlines')` committed once each. Every run "
                f"examined exactly the {number(due)} due plans (index `ix_plan_versions_due`).",
            ],
        )
    ]


# -- main -------------------------------------------------------------------------------------


def main() -> int:
    def env(name: str, default: str) -> str:
        return os.environ.get(name) or default

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=int(env("BENCH_SECONDS", "10")),
        help="load time per HTTP and RPC target (BENCH_SECONDS, default 10)",
    )
    parser.add_argument("--gateway-workers", type=int, default=2, help="web workers (2)")
    parser.add_argument(
        "--installments",
        type=int,
        default=int(env("BENCH_INSTALLMENTS", "100000")),
        help="due installments for the invoicing job (BENCH_INSTALLMENTS, default 100000)",
    )
    parser.add_argument(
        "--plans",
        type=int,
        default=int(env("BENCH_PLANS", "100000")),
        help="plans in the plan-deadline job's large database (BENCH_PLANS, default 100000)",
    )
    parser.add_argument("--due", type=int, default=1000, help="due plans in each (1000)")
    parser.add_argument("--candidates", type=int, default=20, help="in the plan's PDF (20)")
    parser.add_argument("--pdf-runs", type=int, default=3, help="renders each way (3)")
    parser.add_argument(
        "--only",
        default=env("BENCH_ONLY", ",".join(SECTIONS)),
        help=f"comma-separated sections among {', '.join(SECTIONS)} (BENCH_ONLY; a partial "
        "run writes --results only when given)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown output")
    parser.add_argument(
        "--contended",
        action="store_true",
        default=env("BENCH_CONTENDED", "") not in ("", "0"),
        help="the whole run beside a CPU hog per core (BENCH_CONTENDED=1): its table goes "
        "beside the quiet run's in --results",
    )
    args = parser.parse_args()
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := sections - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if sections & {"http", "lists", "contended"} and not shutil.which("wrk"):
        print(
            "wrk not found (make bench installs it): load by bench.loadgen, slower, whose "
            "figures are not comparable with wrk's",
            file=sys.stderr,
        )
    os.environ.setdefault("RAC_ENV", "test")

    from rac_shared.clock import clock

    info = machine(clock.now().astimezone())
    started = time.monotonic()
    rows: list[Row] = []
    hogs = start_hog(os.cpu_count() or 2) if args.contended else []
    try:
        rows += run_sections(args, sections)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)
    elapsed = time.monotonic() - started

    settings = (
        f"`--seconds {args.seconds}` per load test, gateway with {args.gateway_workers} web "
        f"workers, the platform's services through PgBouncer ({BOUNCER_POOL} server "
        f"connections per database, as compose runs them), "
        f"`--installments {args.installments}`, `--plans {args.plans}` with "
        f"`--due {args.due}`, plan PDF with `--candidates {args.candidates}`"
        + (f", beside {len(hogs)} CPU hogs (`{HOG}`) for the whole run" if hogs else "")
    )
    print()
    print(
        f"Machine: {info['cores']} cores, {info['cpu']}, Python {info['python']} "
        f"({info['versions']}); load average {info['load']} at start; {info['date']}; "
        f"{elapsed / 60:.1f} min"
    )
    print()
    print(table(rows))
    print()
    if sections == set(SECTIONS) or args.results != RESULTS:
        run = "contended" if args.contended else "quiet"
        previous = args.results.read_text() if args.results.exists() else ""
        args.results.write_text(
            side_by_side(previous, run, markdown(rows, info, settings, elapsed))
        )
        print(f"Table written to {args.results} ({run} run).")
    return 1 if any(r.platform.startswith("failed") for r in rows) else 0


def run_sections(args, sections: set[str]) -> list[Row]:
    rows: list[Row] = []
    if sections & {"http", "lists", "contended", "rpc"}:
        rows += platform_rows(args, sections)
    steps = [
        ("pdf", "3. Plan PDF", lambda: pdf_rows(args.candidates, args.pdf_runs)),
        ("issue", "7. Plan issue", lambda: issue_rows(args.candidates, args.pdf_runs)),
        ("invoicing", "4. Invoicing job", lambda: invoicing_rows(args.installments)),
        ("deadlines", "5. Plan-deadline job", lambda: deadline_rows(args.plans, args.due)),
    ]
    for section, name, run in steps:
        if section in sections:
            try:
                rows += run()
            except Exception as exc:
                rows.append(failed(name, exc))
    return rows


RUNS = {
    "quiet": "## Quiet run",
    "contended": "## Contended run (`BENCH_CONTENDED=1`: a CPU hog per core for the whole run)",
}


def side_by_side(previous: str, run: str, table_markdown: str) -> str:
    """``bench/RESULTS.md`` with this run's section replaced and the other run's kept: the
    quiet and the contended run side by side, each from its own ``make bench``."""
    sections = {}
    for name, heading in RUNS.items():
        start = previous.find(heading)
        if start < 0:
            continue
        ends = [previous.find(h, start + 1) for h in RUNS.values()]
        end = min([e for e in ends if e > start] or [len(previous)])
        sections[name] = previous[start:end].rstrip() + "\n"
    body = table_markdown.replace("# Benchmarks: the platform next to the bare stack\n\n", "")
    sections[run] = f"{RUNS[run]}\n\n{body.rstrip()}\n"
    return "# Benchmarks: the platform next to the bare stack\n\n" + "\n".join(
        sections[name] for name in RUNS if name in sections
    )


if __name__ == "__main__":
    sys.exit(main())
