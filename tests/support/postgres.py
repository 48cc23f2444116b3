"""The test PostgreSQL server, and fresh migrated databases on it, for every suite.

``TEST_DATABASE_URL`` names the server (``make test`` and CI set it; default the local
server). A test that needs PostgreSQL **fails** when the server cannot be reached and the
variable is set — CI must not turn a broken database into a green run of skips — and is
skipped only on a developer's machine that has no PostgreSQL and did not ask for one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL, make_url

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> URL:
    from rac_shared.settings import with_driver

    return make_url(with_driver(os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER)))


def required() -> bool:
    """Whether PostgreSQL was asked for (``TEST_DATABASE_URL`` or ``CI`` set)."""
    return bool(os.environ.get("TEST_DATABASE_URL") or os.environ.get("CI"))


def unavailable(exc: Exception) -> None:
    message = f"PostgreSQL unavailable ({server_url().render_as_string()}): {exc}"
    if required():
        pytest.fail(message)
    pytest.skip(message)


def drop_database(name: str) -> None:
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def fresh_database(service: str, prefix: str = "rac_t") -> Iterator[str]:
    """A new database named after ``prefix`` and ``service``, migrated with the service's
    schema (as its own role would be, by ``rac migrate``); its URL, dropped afterwards."""
    from rac.migrate import migrate

    name = f"{prefix}{uuid.uuid4().hex[:8]}_{service}"
    url = server_url().set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable(exc)
    finally:
        admin.dispose()
    try:
        migrate((service,), {service: url})
        yield url
    finally:
        drop_database(name)
