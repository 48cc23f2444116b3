"""A plan's PDF through the platform's path, next to WeasyPrint on the same HTML, in one run.

``python -m bench.pdf [--candidates 20] [--runs 3]``

The plan is built the way ``rac demo`` builds its own (``services.plans.demo``: the plans
and billing services' RPC methods called in this process, on fresh PostgreSQL databases
migrated with their schemas), with ``--candidates`` candidate-workers, then issued (which
renders and stores its PDF once). Measured, each in a fresh process so that peak memory is
the rendering's own:

- platform: ``services.plans.document.render_plan_pdf`` (the template, then
  ``rac_shared.pdf.render_pdf``: the renderer, WeasyPrint preloaded, forks a sandboxed
  child per document); peak RSS is the renderer's and its children's (``RUSAGE_CHILDREN``);
- bare: ``weasyprint.HTML(string=html).write_pdf(...)`` on the same HTML, for the same
  document (tagged PDF/UA-1, ``rac_shared.pdf.PDF_VARIANT`` and ``DOCUMENT_CSS``), in the measuring
  process, WeasyPrint already imported; the first (cold) render is reported apart, the
  warm ones are what a long-running process would pay; peak RSS is the process's own
  (``VmHWM``) after its first and its last render.

Wall and CPU seconds (parent and child) are both reported; ``make bench`` takes its ratio
from the CPU seconds, which other work on a shared machine does not inflate.
"""

from __future__ import annotations

import argparse
import base64
import json
import pickle
import statistics
import sys
import tempfile
import unicodedata
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, child_json, drop_database, fresh_database_url

ROUNDS = 2  # platform then bare, twice

sys.path.insert(0, str(ROOT))

FIRST_NAMES = (
    "Marie-Ève Gagnon Karine Lapointe Mathieu Poulin Sophie Tremblay Julien Bouchard "
    "Isabelle Côté Nathalie Gauthier François Morin Geneviève Lavoie Stéphane Fortin "
    "Mélanie Gagné Patrick Ouellet Valérie Pelletier Éric Bélanger Chantal Lévesque "
    "Sébastien Bergeron Annie Leblanc Martin Girard Josée Simard Yannick Boucher "
    "Caroline Roy Olivier Paquette Émilie Cloutier Maxime Dubé"
).split()
JOBS = (
    "Éducatrice en halte-garderie",
    "Aide-éducatrice",
    "Éducateur en services de garde",
    "Éducatrice spécialisée en petite enfance",
)


def candidates(count: int) -> list[tuple]:
    people = []
    for i in range(count):
        first = FIRST_NAMES[(2 * i) % len(FIRST_NAMES)]
        last = FIRST_NAMES[(2 * i + 1) % len(FIRST_NAMES)]
        plain = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
        email = f"{plain.decode().lower()}.{i}@exemple.quebec"
        mode = "in_person" if i % 2 == 0 else "online"
        people.append((f"{first} {last}", JOBS[i % len(JOBS)], email, 3 if i % 3 else 6, mode))
    return people


@contextmanager
def demo_plans(candidate_count: int):
    """Fresh gateway, plans and billing databases with the demo's accounts, dropped after.
    Yields ``(clients, issue)``: the services in this process (``rac.demo.Clients``) and
    ``issue(plans)``, which builds and issues the demo's own plan with ``candidate_count``
    candidate-workers through ``plans`` (billing prices one evaluation each) and returns
    ``(plan row, coordinator)``."""
    from gateway import demo as gateway_demo
    from gateway.models import Base as GatewayBase
    from rac.demo import Clients
    from rac.migrate import migrate
    from rac_shared.db import SessionFactory
    from rac_shared.manifest import demo_actor
    from services.plans import demo

    urls = {s: fresh_database_url(s) for s in ("gateway", "plans", "billing")}
    try:
        migrate(tuple(urls), urls)
        session = SessionFactory("gateway", GatewayBase.metadata, url=urls["gateway"])()
        try:
            gateway_demo.seed_accounts(session)
            session.commit()
            organisations, people = gateway_demo.directory_views(session)
        finally:
            session.close()
        coordinator = demo_actor(people["rac@cegeplevis.demo.quebec"], organisations["CLV"])
        estimate = json.loads(json.dumps(demo.ESTIMATE))
        for line in estimate["lines"]:
            if line["category"] == "evaluation":
                line["quantity"] = str(candidate_count)

        def issue(plans) -> tuple[dict, dict]:
            saved = demo.CANDIDATES, demo.ESTIMATE
            demo.CANDIDATES, demo.ESTIMATE = candidates(candidate_count), estimate
            try:
                return demo._issued_plan(plans, coordinator, organisations["CCA"]), coordinator
            finally:
                demo.CANDIDATES, demo.ESTIMATE = saved

        yield Clients(urls), issue
    finally:
        for url in urls.values():
            drop_database(url)


def build_plan(workdir: Path, candidate_count: int) -> dict:
    """Issue a plan with ``candidate_count`` candidate-workers; write what the renderers
    need into ``workdir`` (``plan.pickle``: the view and billing's estimate HTML;
    ``plan.html``; ``issued.pdf``: the PDF the service stored when issuing)."""
    from rac_shared.actor import Actor
    from services.plans import access, document, views

    with demo_plans(candidate_count) as (clients, issue):
        billing, plans = clients("billing"), clients("plans")
        issued, coordinator = issue(plans)
        # The view the service renders from (dates as dates), not the RPC's JSON reply.
        session = plans.sessions()
        try:
            plan = access.load_for_institution(session, Actor(**coordinator), issued["id"])
            view = views.plan_view(session, plan, Actor(**coordinator))
        finally:
            session.close()
        number = view["version"]["number"]
        estimate_html = billing.estimate_html(
            actor=coordinator, plan_id=issued["id"], version=number
        )
        (workdir / "plan.pickle").write_bytes(pickle.dumps((view, estimate_html)))
        (workdir / "plan.html").write_text(document.plan_html(view, estimate_html))
        # The issued PDF as the service stores it (rendered after the issue, on first read).
        stored = base64.b64decode(
            plans.get_pdf(actor=coordinator, plan_id=issued["id"])["content_b64"]
        )
        (workdir / "issued.pdf").write_bytes(stored)
        return {"reference": issued["reference"], "candidates": candidate_count}


def pages(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(str(pdf)).pages)


def run_pdf_bench(candidate_count: int = 20, runs: int = 3) -> dict:
    with tempfile.TemporaryDirectory(prefix="rac-bench-pdf-") as tmp:
        workdir = Path(tmp)
        built = build_plan(workdir, candidate_count)
        # Two rounds, each side in turn, so that other work on the machine falls on both.
        rounds = [
            (
                child_json(["bench.pdf_child", "platform", tmp, str(runs)]),
                child_json(["bench.pdf_child", "bare", tmp, str(runs + 1)]),
            )
            for _ in range(ROUNDS)
        ]
        platform = {
            "wall": [w for p, _ in rounds for w in p["wall"]],
            "cpu": [c for p, _ in rounds for c in p["cpu"]],
            "peak_rss_mb": max(p["peak_rss_mb"] for p, _ in rounds),
        }
        bare = {  # each round's first render is a cold one
            "wall": rounds[0][1]["wall"][:1] + [w for _, b in rounds for w in b["wall"][1:]],
            "cpu": rounds[0][1]["cpu"][:1] + [c for _, b in rounds for c in b["cpu"][1:]],
            "peak_rss_mb": max(b["peak_rss_mb"] for _, b in rounds),
            "peaks_mb": rounds[0][1]["peaks_mb"],
        }
        return {
            **built,
            "pages": pages(workdir / "platform.pdf"),
            "issued_pages": pages(workdir / "issued.pdf"),
            "bare_pages": pages(workdir / "bare.pdf"),
            "html_kb": round((workdir / "plan.html").stat().st_size / 1024),
            "runs": runs,
            "platform_seconds": statistics.median(platform["wall"]),
            "platform_cpu": statistics.median(platform["cpu"]),
            "platform_rss_mb": platform["peak_rss_mb"],
            "bare_cold_seconds": bare["wall"][0],
            "bare_cold_cpu": bare["cpu"][0],
            "bare_seconds": statistics.median(bare["wall"][1:]),
            "bare_cpu": statistics.median(bare["cpu"][1:]),
            "bare_rss_mb": bare["peak_rss_mb"],
            "bare_first_rss_mb": bare["peaks_mb"][0],
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    result = run_pdf_bench(args.candidates, args.runs)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
