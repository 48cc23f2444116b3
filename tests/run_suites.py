"""Run the slow suites (nameko service tests, integration modules, browser tests) side by side.

Most of their time is spent waiting: for processes to start, for events to travel, for a
browser to paint. Each integration module starts its own isolated platform (own databases,
own RabbitMQ virtual host, free ports), so modules can run at the same time: this runner
keeps ``--jobs`` pytest processes busy, longest units first, and prints each unit's result
and, for a failure, its output. ``make test`` calls it; it exits non-zero if any unit failed.

    python tests/run_suites.py --jobs 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
PYTHON = sys.executable

# Known to be the longest: started first so that the run ends with short units.
LONGEST_FIRST = (
    "tests/browser/test_reflow_browser.py",
    "tests/integration/test_faults.py",
    "tests/service",
    "tests/integration/test_plans_flow.py",
    "tests/integration/test_billing_flow.py",
    "tests/integration/test_hostile_input.py",
    "tests/integration/test_audit_trail.py",
    "tests/integration/test_authorization_matrix.py",
    "tests/integration/test_scheduled_jobs.py",
    "tests/integration/test_deployment.py",
    "tests/integration/test_french_quality.py",
    "tests/browser/test_applications_browser.py",
    "tests/browser/test_scoring_browser.py",
)


# Pure logic, no platform: started first, while the template databases are being made.
UNIT_TESTS = "tests/unit"


def units() -> list[str]:
    """The unit tests as one unit, every browser and integration module (each starts its own
    platform), and the service tests as one unit."""
    modules = sorted(
        str(p.relative_to(ROOT))
        for suite in ("integration", "browser")
        for p in (TESTS / suite).glob("test_*.py")
    )
    found = [UNIT_TESTS, "tests/service", *modules]
    ordered = [UNIT_TESTS, *(u for u in LONGEST_FIRST if u in found)]
    return ordered + [u for u in found if u not in ordered]


def command_for(unit: str) -> list[str]:
    if unit == UNIT_TESTS:
        return [PYTHON, "-m", "pytest", unit, "-q", "--suppress-nameko-eventlet-notification"]
    if unit.startswith("tests/browser"):
        return [PYTHON, "-m", "pytest", "-p", "no:pytest_nameko", unit, "-q"]
    return [
        PYTHON,
        str(TESTS / "eventlet_pytest.py"),
        unit,
        "-q",
        "--suppress-nameko-eventlet-notification",
    ]


def run_unit(unit: str, logs: Path) -> tuple[str, int, float, float, Path]:
    """Run one unit; returns its exit code, wall seconds and CPU seconds (the unit's pytest
    process and every process it started and reaped: its platform, its browser)."""
    log = logs / (unit.replace("/", "_") + ".log")
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command_for(unit), cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=os.environ
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return unit, process.returncode, time.monotonic() - started, cpu, log


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (``/proc/stat``): the run's
    summary says how busy the cores were, which tells whether more jobs would help."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def summary_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("units", nargs="*", help="test paths (default: every slow unit)")
    args = parser.parse_args()
    todo = args.units or units()
    logs = Path(tempfile.mkdtemp(prefix="rac-tests-"))
    started = time.monotonic()
    busy_before, total_before = machine_cpu()
    failed = []
    # Migrations and the demo, once: every platform of the run copies these databases.
    sys.path.insert(0, str(ROOT))
    from tests.support.platform import TEMPLATE_VARIABLE, drop_template, make_template

    template = None
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_unit, unit, logs) for unit in todo if unit == UNIT_TESTS]
            template = make_template(logs / "template")
            os.environ[TEMPLATE_VARIABLE] = template
            print(f"template databases {template}_* ready in {time.monotonic() - started:.0f} s")
            futures += [pool.submit(run_unit, unit, logs) for unit in todo if unit != UNIT_TESTS]
            for future in as_completed(futures):
                unit, code, seconds, cpu, log = future.result()
                status = "ok" if code == 0 else f"FAILED ({code})"
                print(
                    f"{unit:<58} {seconds:6.0f} s {cpu:6.0f} s CPU  {status}  {summary_line(log)}",
                    flush=True,
                )
                if code != 0:
                    failed.append((unit, log))
    finally:
        if template is not None:
            drop_template(template)
    for unit, log in failed:
        print(f"\n===== {unit} =====\n{log.read_text(errors='replace')[-20000:]}", flush=True)
    total = time.monotonic() - started
    busy, whole = machine_cpu()
    load = (busy - busy_before) / max(whole - total_before, 1e-9)
    print(
        f"\n{len(todo)} units in {total:.0f} s; {len(failed)} failed; logs in {logs}\n"
        f"machine: {os.cpu_count()} cores {load:.0%} busy during the run (every process on it)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
