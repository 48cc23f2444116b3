"""The plan-deadline job's time follows the due plans, not all plans.

``python -m bench.deadlines [--plans 100000] [--due 1000]``

Two fresh PostgreSQL databases migrated with the plans schema are filled with one bulk
``INSERT … SELECT … FROM generate_series`` per table: (i) ``--due`` due plans among
``--plans`` plans, (ii) the same ``--due`` due plans alone. A due plan is an issued
version whose deadline passed yesterday (lapsed by the job) or falls 10, 3 or 1 days
ahead (one reminder each); the others are what a live database holds: accepted, completed,
lapsed, drafts, and issued versions whose deadline is further than the furthest reminder.

One fresh process then times the job's pass (``jobs.process_deadlines``, the whole
transaction of ``rac jobs run plan-deadlines --as-of``, flushed, then rolled back so that
it can be repeated) ``--rounds`` times over each database, alternately, so that the load of
the machine falls on both alike; the ratio of the medians should be about 1. Last, the job
itself (``rac.jobs.run_job``, committed) runs once over each; every pass and run
must examine exactly the due plans and publish one lapse or reminder for each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date

from sqlalchemy import create_engine, pool, text

from bench.common import ROOT, analyze, child_json, drop_database, fresh_database_url

sys.path.insert(0, str(ROOT))

# Categories of the plans that are not due, by id modulo 10.
NOT_DUE_STATUS = "ARRAY['accepted','accepted','accepted','accepted','accepted','completed',"
NOT_DUE_STATUS += "'draft','draft','lapsed','issued']"

SEED_PLANS = f"""
INSERT INTO plans (id, reference, institution_id, institution_kind, institution_code,
                   employer_id, employer_name, program_code, program_title, status,
                   current_version, accepted_version, ever_issued, created_by_user_id,
                   created_at, updated_at)
SELECT g, 'PMO-BEN-' || g, 2 + g % 3, 'cegep', 'CLV', 5 + g % 2, 'Employeur ' || g,
       'JEE.0K', 'Techniques d''éducation à l''enfance', s.status, 1,
       CASE WHEN s.status IN ('accepted', 'completed') THEN 1 END,
       s.status <> 'draft', 6, now(), now()
FROM generate_series(1, :total) AS g,
     LATERAL (SELECT CASE WHEN g % :step = 0 THEN 'issued'
                          ELSE ({NOT_DUE_STATUS})[g % 10 + 1] END AS status) AS s
"""

# The deadline of a due version: yesterday (lapse), in 10, 3 or 1 days (reminders); of the
# issued versions not due: 11 to 30 days ahead; of the others: 30 to 400 days ago.
SEED_VERSIONS = """
INSERT INTO plan_versions (id, plan_id, number, status, content, created_at, updated_at,
                           issued_on, issued_by_user_id, acceptance_deadline, content_hash,
                           accepted_at)
SELECT p.id, p.id, 1,
       CASE WHEN p.status = 'completed' THEN 'accepted' ELSE p.status END,
       '{}', now(), now(),
       d.day - 30, CASE WHEN d.day IS NOT NULL THEN 6 END,
       ((d.day + 1)::timestamp AT TIME ZONE 'America/Montreal') - interval '1 microsecond',
       CASE WHEN d.day IS NOT NULL THEN md5(p.id::text) || md5(p.reference) END,
       CASE WHEN p.status IN ('accepted', 'completed') THEN now() END
FROM plans AS p,
     LATERAL (SELECT CASE
         WHEN p.status = 'draft' THEN NULL
         WHEN p.id % :step = 0 THEN
             CAST(:as_of AS date) + (ARRAY[-1, 10, 3, 1])[(p.id / :step) % 4 + 1]
         WHEN p.status = 'issued' THEN CAST(:as_of AS date) + 11 + p.id % 20
         ELSE CAST(:as_of AS date) - 30 - p.id % 370 END AS day) AS d
"""


def seed(url: str, total: int, due: int, as_of: date) -> None:
    if total % due:
        raise ValueError("--plans must be a multiple of --due")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        connection.execute(text(SEED_PLANS), {"total": total, "step": total // due})
        connection.execute(text(SEED_VERSIONS), {"step": total // due, "as_of": as_of})
        for table in ("plans", "plan_versions"):
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"), {"n": total}
            )
    engine.dispose()
    analyze(url, "plans", "plan_versions")


def _prepare(total: int, due: int, as_of: date) -> tuple[str, float]:
    from rac.migrate import migrate

    url = fresh_database_url("plans", f"_{total}")
    migrate(("plans",), {"plans": url})
    started = time.perf_counter()
    seed(url, total, due, as_of)
    return url, time.perf_counter() - started


def run_deadline_bench(
    total: int = 100_000, due: int = 1_000, rounds: int = 5, as_of: date | None = None
) -> dict:
    """Both databases, then one process timing ``rounds`` rolled-back passes over each,
    alternately (the machine's load falls on both alike), then the committed job once each."""
    from rac_shared.clock import clock

    as_of = as_of or clock.today()
    urls: dict[str, str] = {}
    seeded: dict[str, float] = {}
    try:
        for name, count in (("large", total), ("small", due)):
            urls[name], seeded[name] = _prepare(count, due, as_of)
        timed = child_json(
            ["bench.deadlines", "--child", as_of.isoformat(), urls["large"], urls["small"]]
            + ["--rounds", str(rounds)],
            env={"RAC_ENV": "test", "PLAN_REMINDER_DAYS": "10,3,1"},
            timeout=600,
        )
    finally:
        for url in urls.values():
            drop_database(url)
    expected = {"examined": due, "reminders": due - due // 4, "lapsed": due // 4}
    result = {"plans": total, "due": due, "rounds": rounds}
    for name in ("large", "small"):
        for run in (*timed[name]["passes"], timed[name]["job"]):
            got = {k: run["result"][k] for k in expected}
            if got != expected:
                raise AssertionError(f"plan-deadlines ({name}): {got} != {expected}")
        result[name] = {
            "plans": total if name == "large" else due,
            "seed_seconds": seeded[name],
            "pass_seconds": statistics.median(r["seconds"] for r in timed[name]["passes"]),
            "job_seconds": timed[name]["job"]["seconds"],
        }
    result["ratio"] = result["large"]["pass_seconds"] / result["small"]["pass_seconds"]
    return result


def _child(as_of: date, urls: dict[str, str], rounds: int) -> dict:
    """Runs in a fresh process: ``rounds`` passes of the job's transaction over each
    database, rolled back, alternately; then ``run_job`` itself (committed) over each."""
    from rac.jobs import run_job
    from rac_shared.clock import clock, end_of_day
    from rac_shared.db import SessionFactory
    from services.plans.config import plans_settings
    from services.plans.jobs import process_deadlines
    from services.plans.models import Base

    factories = {name: SessionFactory("plans", Base.metadata, url) for name, url in urls.items()}
    thresholds = plans_settings().reminders
    out = {name: {"passes": []} for name in urls}
    for _ in range(rounds):
        for name, factory in factories.items():
            session = factory()
            started = time.perf_counter()
            with clock.frozen_at(end_of_day(as_of)):
                session.begin()
                result = process_deadlines(session, as_of, thresholds)
                session.flush()
                seconds = time.perf_counter() - started
                session.rollback()
            session.close()
            out[name]["passes"].append({"seconds": seconds, "result": result})
    for name, url in urls.items():
        os.environ["DATABASE_URL_PLANS"] = url
        started = time.perf_counter()
        result = run_job("plan-deadlines", as_of)
        out[name]["job"] = {"seconds": time.perf_counter() - started, "result": result}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        as_of, large, small = args.child
        urls = {"large": large, "small": small}
        print(json.dumps(_child(date.fromisoformat(as_of), urls, args.rounds), default=str))
        return 0
    result = run_deadline_bench(args.plans, args.due, args.rounds)
    for name in ("large", "small"):
        r = result[name]
        print(
            f"{result['due']:>7} due among {r['plans']:>7} plans: pass {r['pass_seconds']:.2f} s "
            f"(median of {args.rounds}), committed job {r['job_seconds']:.2f} s, "
            f"seeded in {r['seed_seconds']:.1f} s"
        )
    print(f"ratio: {result['ratio']:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
