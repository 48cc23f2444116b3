"""Fixtures for nameko service tests: per-test SQLite databases and a real SMTP server.

These tests run under eventlet's monkey patch (``tests/eventlet_pytest.py``), like the
services themselves. nameko's pytest plugin provides ``container_factory`` and
``rabbit_config`` (a fresh RabbitMQ vhost per test, through the management API).
"""

from __future__ import annotations

import pytest

from rac_shared import db as rac_db
from rac_shared.settings import reset_settings_cache
from tests.service.helpers import SmtpServer, free_port

# -- settings and databases -------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Every test reads settings afresh and writes nothing outside its tmp_path."""
    monkeypatch.setenv("RAC_ENV", "test")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def service_database(tmp_path, monkeypatch):
    """``service_database(name)`` gives the service a fresh, migrated SQLite database
    (``postgres=True``: a PostgreSQL one, dropped afterwards) and returns a
    ``SessionFactory`` bound to it."""
    from contextlib import ExitStack

    from rac import registry
    from rac.migrate import migrate
    from tests.support.postgres import fresh_database

    created = []
    with ExitStack() as databases:

        def make(name: str, postgres: bool = False) -> rac_db.SessionFactory:
            if postgres:
                url = databases.enter_context(fresh_database(name))  # migrated
            else:
                url = f"sqlite:///{tmp_path / f'{name}.db'}"
            monkeypatch.setenv(f"DATABASE_URL_{name.upper()}", url)
            reset_settings_cache()
            if not postgres:
                migrate((name,))
            factory = rac_db.SessionFactory(name, registry.service(name).metadata)
            created.append(factory.url)
            return factory

        yield make
        with rac_db._engines_lock:  # before the databases are dropped
            for url in created:
                engine = rac_db._engines.pop(url, None)
                if engine is not None:
                    engine.dispose()


# -- SMTP -------------------------------------------------------------------------------


@pytest.fixture
def smtp_port(monkeypatch) -> int:
    """A free local port the services will send e-mail to (nothing listens yet)."""
    port = free_port()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    reset_settings_cache()
    return port


@pytest.fixture
def smtp_factory(smtp_port):
    """``smtp_factory()`` starts the SMTP server on ``smtp_port`` (once per test)."""
    servers = []

    def start() -> SmtpServer:
        server = SmtpServer(smtp_port).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_factory) -> SmtpServer:
    return smtp_factory()
