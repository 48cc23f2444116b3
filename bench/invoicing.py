"""The invoicing job over many due installments, next to a bare claim loop, in one run.

``python -m bench.invoicing [--installments 100000] [--processes 2] [--batch 200]``

On a fresh PostgreSQL database (``TEST_DATABASE_URL``, default the local server) migrated
with billing's schema: (a) ``--installments`` due installments of one institution are
invoiced by ``--processes`` concurrent ``rac jobs run invoicing`` processes (claim with
``FOR UPDATE SKIP LOCKED``, one gapless number each from the counter row, the invoice with
its snapshot, the ``invoice.issued`` outbox row); (b) the same number of installments of
another institution, seeded afterwards, are claimed by as many processes running nothing
but the bare ``SELECT … FOR UPDATE SKIP LOCKED`` + ``UPDATE`` loop in batches of the same
size. Prints
installments per second for both, the ratio, and checks the job's end state (every
installment invoiced once, numbers 1..N without gaps).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, pool, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TIMEOUT = 900  # seconds for each run (the job's processes, then the bare loops)

BARE_LOOP = """
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
institution, batch, due = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
claimed = 0
while True:
    with engine.begin() as connection:
        ids = connection.execute(text(
            "SELECT id FROM installments WHERE status = 'scheduled' AND institution_id = :i "
            "AND due_on <= :d ORDER BY due_on, id LIMIT :b FOR UPDATE SKIP LOCKED"
        ), {"i": institution, "d": due, "b": batch}).scalars().all()
        if not ids:
            break
        connection.execute(text(
            "UPDATE installments SET status = 'invoiced' WHERE id = ANY(:ids)"
        ), {"ids": list(ids)})
        claimed += len(ids)
print(claimed)
"""


def _database(server_url: str) -> str:
    from rac_shared.settings import with_driver

    name = f"rac_bench_{uuid.uuid4().hex[:8]}_billing"
    return make_url(with_driver(server_url)).set(database=name).render_as_string(False)


def _drop(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _seed(url: str, institution_id: int, code: str, count: int, due: date) -> None:
    from services.billing.testing import seed_due_installments

    engine = create_engine(url, poolclass=pool.NullPool)
    with Session(engine) as session, session.begin():
        session.info["service"] = "billing"
        seed_due_installments(
            session,
            institution_id=institution_id,
            code=code,
            employer_id=1,
            count=count,
            due=due,
        )
    with engine.connect() as connection:  # fresh statistics, as autovacuum would give
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE installments")
        )
    engine.dispose()


def _run(commands: list[list[str]], env: dict) -> tuple[float, list[str]]:
    started = time.perf_counter()
    processes = [
        subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    deadline = time.monotonic() + TIMEOUT
    try:
        outputs = [p.communicate(timeout=max(deadline - time.monotonic(), 1)) for p in processes]
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
            process.wait()
        raise RuntimeError(f"{commands[0][:4]} did not finish within {TIMEOUT} s") from None
    elapsed = time.perf_counter() - started
    for process, (_, err) in zip(processes, outputs, strict=True):
        if process.returncode != 0:
            raise RuntimeError(err[-2000:])
    return elapsed, [out.strip().splitlines()[-1] for out, _ in outputs]


def run_invoicing_bench(installments: int = 100_000, processes: int = 2, batch: int = 200) -> dict:
    """Both runs on one fresh database (dropped afterwards); checks the job's end state."""
    from rac.migrate import migrate
    from services.billing.models import Invoice

    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = _database(server)
    due = date.today()
    env = {
        **os.environ,
        "RAC_ENV": "test",
        "DATABASE_URL_BILLING": url,
        "BILLING_INVOICING_BATCH_SIZE": str(batch),
        "PYTHONPATH": str(ROOT),
    }
    try:
        migrate(("billing",), {"billing": url})
        print(f"Seeding {installments} due installments…", flush=True)
        started = time.perf_counter()
        _seed(url, 801, "BJB", installments, due)
        seed_seconds = time.perf_counter() - started

        rac = str(Path(sys.executable).parent / "rac")
        job = [rac, "jobs", "run", "invoicing", "--as-of", due.isoformat()]
        job_seconds, _ = _run([job] * processes, env)
        # The same rows again, for the bare loop (seeded after the job, which would take them).
        _seed(url, 802, "BCL", installments, due)

        bare = [
            sys.executable,
            "-c",
            BARE_LOOP,
            url,
            "802",
            str(batch),
            due.isoformat(),
        ]
        bare_seconds, claimed = _run([bare] * processes, env)

        engine = create_engine(url, poolclass=pool.NullPool)
        with Session(engine) as session:
            sequences = session.scalars(
                select(Invoice.sequence).where(Invoice.institution_id == 801)
            ).all()
            issued = session.scalar(select(func.count(func.distinct(Invoice.installment_id))))
        engine.dispose()
        assert sorted(sequences) == list(range(1, installments + 1)), "numbers with gaps"
        assert issued == installments, "installments invoiced twice or not at all"
        assert sum(int(c) for c in claimed) == installments
    finally:
        _drop(url)
    return {
        "installments": installments,
        "processes": processes,
        "batch": batch,
        "seed_seconds": seed_seconds,
        "job_seconds": job_seconds,
        "bare_seconds": bare_seconds,
        "job_rate": installments / job_seconds,
        "bare_rate": installments / bare_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--installments", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    result = run_invoicing_bench(args.installments, args.processes, args.batch)
    job_rate, bare_rate = result["job_rate"], result["bare_rate"]
    print(
        f"\n{args.installments} due installments, {args.processes} processes, "
        f"batches of {args.batch}"
    )
    print(f"{'':34}{'seconds':>10}{'installments/s':>18}")
    print(f"{'invoicing job (rac jobs run)':34}{result['job_seconds']:>10.1f}{job_rate:>18.0f}")
    print(
        f"{'bare FOR UPDATE SKIP LOCKED loop':34}{result['bare_seconds']:>10.1f}{bare_rate:>18.0f}"
    )
    print(
        f"\nThe job runs at {job_rate / bare_rate:.0%} of the bare claim loop's rate; "
        "every installment invoiced once, numbers gapless."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
