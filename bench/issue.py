"""Issuing a plan and previewing its draft, next to WeasyPrint on the same HTML.

``python -m bench.issue [--candidates 20] [--runs 3]``

On fresh databases (gateway, plans, billing), ``--runs`` plans with ``--candidates``
candidate-workers are built the way ``rac demo`` builds its own (``services.plans.demo``,
the services' RPC methods called in this process, as a nameko worker would call them). For
each draft, just before it is issued: its PDF preview twice (the first render, then the same
unchanged draft again), then the issue itself (``plans.issue``: checks, the frozen version
with its document's HTML, the ``plan.issued`` event, committed), then the issued PDF's first
read (``plans.get_pdf``, which renders it: a running service has usually done so in the
background by then). Bare: ``weasyprint.HTML(string=html).write_pdf()`` on the draft
preview's HTML in a process with WeasyPrint loaded (``bench.pdf_child``), its first (cold)
render apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, child_json

sys.path.insert(0, str(ROOT))


class Timed:
    """The plans service's stand-in, timing the preview (twice) and the issue."""

    def __init__(self, plans, workdir: Path):
        self._plans = plans
        self.workdir = workdir
        self.times: dict[str, list[float]] = {
            "preview_first": [],
            "preview_again": [],
            "issue": [],
            "issued_pdf": [],
        }

    def __getattr__(self, name):
        return getattr(self._plans, name)

    def issue(self, actor, plan_id):
        from services.plans import document

        html = []
        original = document.plan_html
        document.plan_html = lambda *a, **k: html.append(original(*a, **k)) or html[-1]
        try:
            for key in ("preview_first", "preview_again"):
                started = time.perf_counter()
                self._plans.preview_pdf(actor=actor, plan_id=plan_id)
                self.times[key].append(time.perf_counter() - started)
        finally:
            document.plan_html = original
        if html and not (self.workdir / "plan.html").exists():  # for WeasyPrint alone
            (self.workdir / "plan.html").write_text(html[0])
        started = time.perf_counter()
        row = self._plans.issue(actor=actor, plan_id=plan_id)
        self.times["issue"].append(time.perf_counter() - started)
        return row

    def get_pdf(self, **kwargs):
        """The issued PDF's first read (the demo reads it at once): its render."""
        started = time.perf_counter()
        reply = self._plans.get_pdf(**kwargs)
        self.times["issued_pdf"].append(time.perf_counter() - started)
        return reply


def measure(workdir: Path, candidate_count: int, runs: int) -> dict:
    from bench.pdf import demo_plans

    with demo_plans(candidate_count) as (clients, issue):
        plans = Timed(clients("plans"), workdir)
        for _ in range(runs):
            issue(plans)
        return plans.times


def run_issue_bench(candidate_count: int = 20, runs: int = 3) -> dict:
    with tempfile.TemporaryDirectory(prefix="rac-bench-issue-") as tmp:
        timed = child_json(
            ["bench.issue", "--child", tmp, "--candidates", str(candidate_count)]
            + ["--runs", str(runs)],
            env={"RAC_ENV": "test"},
            timeout=900,
        )
        bare = child_json(["bench.pdf_child", "bare", tmp, str(runs + 1)])
    return {
        "candidates": candidate_count,
        "runs": runs,
        "issue_seconds": statistics.median(timed["issue"]),
        "issue_all": timed["issue"],
        "preview_first_seconds": statistics.median(timed["preview_first"]),
        "preview_again_seconds": statistics.median(timed["preview_again"]),
        "issued_pdf_seconds": statistics.median(timed["issued_pdf"]),
        "bare_cold_seconds": bare["wall"][0],
        "bare_seconds": statistics.median(bare["wall"][1:]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child), args.candidates, args.runs)))
        return 0
    print(json.dumps(run_issue_bench(args.candidates, args.runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
