"""Shared helpers of the benchmarks: throw-away PostgreSQL databases, child processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER)


def fresh_database_url(service: str, tag: str = "") -> str:
    """The URL of a new (not yet created) database for ``service``; ``migrate`` creates it."""
    from rac_shared.settings import with_driver

    name = f"rac_bench_{uuid.uuid4().hex[:8]}{tag}_{service}"
    return make_url(with_driver(server_url())).set(database=name).render_as_string(False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def analyze(url: str, *tables: str) -> None:
    """Fresh planner statistics, as autovacuum would give after a bulk load."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    with engine.connect() as connection:
        for table in tables:
            connection.execute(text(f"ANALYZE {table}"))
    engine.dispose()


def child_json(args: list[str], env: dict | None = None, timeout: float = 300) -> dict:
    """Run ``python -m <args>`` and parse the JSON object on its last line of output."""
    completed = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
