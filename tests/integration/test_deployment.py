"""The deployment's own commands over the real RabbitMQ and PostgreSQL, as the compose file
runs them: ``rac migrate`` gives every service a PostgreSQL role of its own owning only its
database (the platform then runs entirely on those roles), and ``rac health <service>``
answers 0 or 1 as a container healthcheck needs."""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from rac_shared.migrations import RoleSetupRefused, provision_service_database
from tests.support.platform import BIN, SERVICES, Platform

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The platform with one role per service (``rac_t<id>_<service>``, a password each):
    DATABASE_URL is the server's superuser, which only ``rac migrate`` needs."""
    workdir = tmp_path_factory.mktemp("platform")
    running = Platform(workdir, separate_services=True)
    running.role_urls = {}
    for service, url in running.database_urls.items():
        database = make_url(url).database
        running.role_urls[service] = (
            make_url(url)
            .set(username=database, password=f"pw-{secrets.token_hex(8)}")
            .render_as_string(hide_password=False)
        )
    running.env.update(
        {"DATABASE_URL": running.server_url.render_as_string(hide_password=False)}
        | {f"DATABASE_URL_{s.upper()}": url for s, url in running.role_urls.items()}
    )
    try:
        running.migrate_output = running.rac("migrate").stdout
        running.prepare()
        running.start()
        yield running
    finally:
        running.stop()
        admin = create_engine(
            running.server_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
        )
        with admin.connect() as connection:
            for url in running.role_urls.values():
                connection.execute(text(f'DROP ROLE IF EXISTS "{make_url(url).username}"'))
        admin.dispose()


def as_superuser(platform, service: str):
    return platform.engine(service)


def test_migrate_creates_one_role_per_service_owning_its_database_and_tables(platform):
    for service in SERVICES:
        role = make_url(platform.role_urls[service]).username
        assert f"rôle {role} créé" in platform.migrate_output
        engine = as_superuser(platform, service)
        with engine.connect() as connection:
            owner = connection.execute(
                text(
                    "SELECT pg_get_userbyid(datdba) FROM pg_database "
                    "WHERE datname = current_database()"
                )
            ).scalar()
            others = connection.execute(
                text(
                    "SELECT relname, pg_get_userbyid(relowner) FROM pg_class "
                    "WHERE relnamespace = 'public'::regnamespace "
                    "AND relkind IN ('r', 'S', 'v') AND pg_get_userbyid(relowner) <> :role"
                ),
                {"role": role},
            ).all()
            attributes = connection.execute(
                text(
                    "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                    "WHERE rolname = :role"
                ),
                {"role": role},
            ).one()
            tables = connection.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar()
        engine.dispose()
        assert owner == role, service
        assert others == [], service  # alembic_version and every table belong to the role
        assert tuple(attributes) == (False, False, False), service
        assert tables > 3, service


def test_a_service_role_cannot_read_another_services_tables(platform):
    plans_role = make_url(platform.role_urls["plans"])
    billing_database = make_url(platform.database_urls["billing"]).database
    intruder = create_engine(plans_role.set(database=billing_database), poolclass=pool.NullPool)
    with pytest.raises(OperationalError, match="permission denied for database"):
        with intruder.connect() as connection:
            connection.execute(text("SELECT count(*) FROM invoices"))
    intruder.dispose()
    # Its own database it reads and writes.
    own = create_engine(plans_role, poolclass=pool.NullPool)
    with own.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM outbox")).scalar() >= 0
    own.dispose()


def test_each_running_service_is_connected_as_its_own_role(platform):
    from tests.support.polling import wait_until

    for service in SERVICES:
        role = make_url(platform.role_urls[service]).username
        database = make_url(platform.database_urls[service]).database
        engine = as_superuser(platform, "gateway")

        def users(database=database, engine=engine):
            with engine.connect() as connection:
                return set(
                    connection.execute(
                        text("SELECT usename FROM pg_stat_activity WHERE datname = :d"),
                        {"d": database},
                    ).scalars()
                ) - {"postgres"}

        # The relay of every service polls its outbox every half second.
        assert wait_until(users, timeout=30) == {role}, service
        engine.dispose()


def test_migrate_again_changes_nothing_and_keeps_the_roles(platform):
    output = platform.rac("migrate").stdout
    assert "créé" not in output and "remise" not in output
    assert platform.rac("health", "plans").returncode == 0


def test_an_account_without_rights_is_told_what_the_administrator_must_create(platform):
    """A managed server: DATABASE_URL's account may not create roles, the role is missing."""
    newcomer = (
        make_url(platform.role_urls["plans"])
        .set(username=f"rac_missing_{secrets.token_hex(4)}", database="rac_missing_db")
        .render_as_string(hide_password=False)
    )
    with pytest.raises(RoleSetupRefused, match="must exist"):
        provision_service_database(newcomer, platform.role_urls["plans"])


def test_rac_migrate_stops_with_a_message_when_it_may_not_create_a_missing_role(platform):
    unprivileged = platform.role_urls["plans"]
    missing = (
        make_url(platform.role_urls["scoring"])
        .set(username=f"rac_missing_{secrets.token_hex(4)}")
        .render_as_string(hide_password=False)
    )
    result = subprocess.run(
        [str(BIN / "rac"), "migrate"],
        env={**platform.env, "DATABASE_URL": unprivileged, "DATABASE_URL_SCORING": missing},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 1
    assert "PostgreSQL : migration interrompue" in result.stderr
    assert "must exist" in result.stderr and "Traceback" not in result.stderr


def test_rac_health_answers_for_every_running_service(platform):
    for service in SERVICES:
        result = platform.rac("health", service, "--timeout", "10", check=False)
        assert result.returncode == 0, (service, result.stderr)
        report = json.loads(result.stdout)
        assert report["service"] == service and report["database"] == "ok"


def test_rac_health_fails_for_a_stopped_service_and_an_unknown_one(platform):
    platform.stop_process("scoring")
    try:
        result = platform.rac("health", "scoring", "--timeout", "2", check=False)
        assert result.returncode == 1
        assert "scoring : indisponible" in result.stderr
    finally:
        platform.start_process("scoring")
    unknown = platform.rac("health", "inconnu", check=False)
    assert unknown.returncode == 2 and "Service inconnu" in unknown.stderr
