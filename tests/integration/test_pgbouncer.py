"""The whole platform as production's compose file runs it: through a real PgBouncer in
transaction pooling (``rac pgbouncer``, the command compose runs) with a pool of two server
connections per database, and on quorum queues (``QUORUM_QUEUES=true``).

Migrations and the demo go straight to PostgreSQL, as compose's ``migrate`` does; then every
service, the two web processes and the jobs connect to PgBouncer. What transaction pooling
would break is checked: the gateway's session cache, whose ``LISTEN`` needs a session of its
own (``DATABASE_DIRECT_URL_GATEWAY``), must still see a change made elsewhere at once; every
other connection PostgreSQL sees comes from PgBouncer; a burst of requests larger than the
server pools is served; events flow (an e-mail), a job runs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests
from sqlalchemy import create_engine, pool, text

from rac_shared.clock import clock
from tests.support.platform import SERVICES, Platform
from tests.support.polling import wait_until
from tests.support.sessions import revoke_and_see_refused_everywhere

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SERVER_POOL = 2  # PGBOUNCER_POOL_SIZE: server connections per database
WEB_WORKERS = 2
EMPLOYER = "rh@cisss.demo.quebec"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pgbouncer")
    running = Platform(
        workdir, web_workers=WEB_WORKERS, extra_env={"QUORUM_QUEUES": "true"}
    ).prepare()  # migrations: straight to PostgreSQL
    try:
        # From now on every process connects through PgBouncer; the session cache's
        # listener, and this test's own queries (``platform.engine``), go to PostgreSQL.
        port = running.through_pgbouncer(SERVER_POOL)
        assert all(f":{port}/" in running.env[f"DATABASE_URL_{s.upper()}"] for s in SERVICES)
        running.start()
        yield running
    finally:
        running.stop()


def bouncer(platform, command: str) -> list[dict]:
    """A ``SHOW`` command on PgBouncer's admin console."""
    connection = psycopg2.connect(
        host="127.0.0.1",
        port=platform.bouncer_port,
        dbname="pgbouncer",
        user=platform.server_url.username,
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(command)
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def server_connections(platform) -> dict[str, list[dict]]:
    """The connections PostgreSQL has to the platform's databases, by database."""
    engine = create_engine(platform.server_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT datname, client_port, query FROM pg_stat_activity "
                    "WHERE datname = ANY(:names) AND pid <> pg_backend_pid()"
                ),
                {"names": [url.rsplit("/", 1)[1] for url in platform.database_urls.values()]},
            ).mappings()
            found: dict[str, list[dict]] = {}
            for row in rows:
                found.setdefault(row["datname"], []).append(dict(row))
            return found
    finally:
        engine.dispose()


def database_of(platform, service: str) -> str:
    return platform.database_urls[service].rsplit("/", 1)[1]


def test_every_connection_but_the_listeners_goes_through_pgbouncer(platform):
    token = platform.token(EMPLOYER)
    with ThreadPoolExecutor(max_workers=30) as burst:  # far more than 2 per database
        answers = list(
            burst.map(lambda _: platform.api("GET", "/api/plans", token).status_code, range(60))
        )
    assert answers == [200] * 60

    def only_bouncer_and_listeners():
        servers = {row["local_port"] for row in bouncer(platform, "SHOW SERVERS")}
        found = server_connections(platform)
        direct = {
            name: [row for row in rows if row["client_port"] not in servers]
            for name, rows in found.items()
        }
        listeners = direct.pop(database_of(platform, "gateway"), [])
        return (
            found
            if not any(direct.values())
            and len(listeners) == WEB_WORKERS
            and all(
                row["query"] in ("LISTEN rac_directory_changed", "SELECT 1") for row in listeners
            )
            else None
        )

    found = wait_until(only_bouncer_and_listeners, timeout=30, message="a direct connection")
    for service in SERVICES:
        extra = WEB_WORKERS if service == "gateway" else 0
        assert len(found.get(database_of(platform, service), [])) <= SERVER_POOL + extra
    clients = {row["database"] for row in bouncer(platform, "SHOW CLIENTS")}
    assert {database_of(platform, service) for service in SERVICES} <= clients


def test_events_commands_and_jobs_work_through_transaction_pooling(platform):
    address = "rac@cmv.demo.quebec"
    token = platform.token(EMPLOYER)
    response = platform.api("POST", "/api/auth/password-reset", json={"email": address})
    assert response.status_code == 202
    wait_until(
        lambda: [
            m
            for m in platform.mails_to(address)
            if m["Subject"] == "Réinitialisation de votre mot de passe"
        ],
        timeout=60,
        message="no reset e-mail",
    )
    preferences = {"optional_reminders": False}
    assert platform.api("PUT", "/api/messages/preferences", token, json=preferences).ok
    assert platform.api("GET", "/api/messages/preferences", token).json() == preferences
    job = platform.rac("jobs", "run", "invoicing", "--as-of", clock.today().isoformat())
    assert job.returncode == 0, job.stderr
    durable = {
        name: queue["type"]
        for name, queue in platform.queues().items()
        if name.startswith(("evt-", "rpc-", "rac.dead-letters"))
    }
    assert len(durable) > 40 and set(durable.values()) == {"quorum"}, durable


def test_the_session_cache_listens_on_postgresql_itself_and_follows_changes(platform):
    """Its ``LISTEN`` through PgBouncer would run on a borrowed server connection and hear
    nothing: a renamed or logged-out user would be served from stale copies."""
    assert requests.get(f"{platform.url}/healthz", timeout=5).json()["session_cache"] == "on"
    email = "dg@cegeplevis.demo.quebec"
    token = platform.token(email)
    for _ in range(12):  # both processes serve the user and keep a copy
        assert platform.api("GET", "/api/me", token).status_code == 200
    gateway_db = platform.engine("gateway")
    try:
        revoke_and_see_refused_everywhere(platform, gateway_db, email, token)
    finally:
        gateway_db.dispose()
    assert platform.api("GET", "/api/me", platform.token(email)).status_code == 200
