"""``rac pgbouncer``: PgBouncer in front of PostgreSQL, configured from the platform's settings.

Every process keeps a pool per database (``Settings.db_pool_limits``), so PostgreSQL's
connections grow with every replica. PgBouncer in transaction pooling lends a server
connection to a client for one transaction only: PostgreSQL then sees at most
``PGBOUNCER_POOL_SIZE`` connections per database, however many processes and replicas run.

The command reads the same variables as ``rac migrate`` — ``DATABASE_URL_<SERVICE>`` naming
PostgreSQL itself (or ``DATABASE_URL``, one database ``rac_<service>`` per service) — writes
``pgbouncer.ini`` and its user list under ``VAR_DIR/pgbouncer`` (readable by its owner only:
it holds the passwords) and runs ``pgbouncer`` in the foreground. Compose runs it, and so do
the tests (``tests/integration/test_pgbouncer.py``). The services then connect to
PgBouncer, each with its own role and password, as they would to PostgreSQL.

What transaction pooling forbids, and how the platform avoids it: session state kept across
transactions (``LISTEN``, session ``SET``, advisory locks held by a session, ``WITH HOLD``
cursors) and server-side prepared statements. The platform uses none of them except
``LISTEN``, in the gateway's session cache, which connects to ``DATABASE_DIRECT_URL_GATEWAY``
instead (``gateway/session_cache.py``); psycopg2 prepares no statement on the server.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from rac_shared.settings import SERVICE_NAMES, Settings


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def configuration(settings: Settings) -> tuple[str, str]:
    """The text of ``pgbouncer.ini`` (without its auth_file line) and of its user list."""
    databases, users = [], {}
    for service in SERVICE_NAMES:
        url = make_url(settings.database_url_for(service))
        if not url.drivername.startswith("postgresql"):
            raise SystemExit(
                "rac pgbouncer: DATABASE_URL or DATABASE_URL_<SERVICE> must name PostgreSQL"
            )
        databases.append(
            f"{url.database} = host={url.host or '127.0.0.1'} port={url.port or 5432} "
            f"dbname={url.database}"
        )
        users[url.username or "postgres"] = url.password or ""
    # Without passwords (a development server in trust mode) PgBouncer trusts its clients
    # too; production's settings refuse database URLs without passwords.
    auth_type = "scram-sha-256" if any(users.values()) else "trust"
    if auth_type == "trust" and settings.rac_env == "production":
        raise SystemExit("rac pgbouncer: the database URLs must carry passwords in production")
    lines = [
        "[databases]",
        *databases,
        "",
        "[pgbouncer]",
        f"listen_addr = {settings.pgbouncer_listen_addr}",
        f"listen_port = {settings.pgbouncer_port}",
        "unix_socket_dir =",
        f"auth_type = {auth_type}",
        "pool_mode = transaction",
        f"default_pool_size = {settings.pgbouncer_pool_size}",
        "min_pool_size = 0",
        "reserve_pool_size = 0",
        f"max_client_conn = {settings.pgbouncer_max_client_conn}",
        # A client waits this long for a server connection, then gets an error.
        "query_wait_timeout = 60",
        "server_reset_query =",
        "ignore_startup_parameters = extra_float_digits",
        f"admin_users = {settings.pgbouncer_admin_users}",
        f"stats_users = {settings.pgbouncer_admin_users}",
    ]
    userlist = "".join(f"{_quoted(user)} {_quoted(password)}\n" for user, password in users.items())
    return "\n".join(lines) + "\n", userlist


def write_configuration(settings: Settings, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    ini, userlist = configuration(settings)
    users = directory / "userlist.txt"
    users.touch(mode=0o600)
    users.write_text(userlist)
    path = directory / "pgbouncer.ini"
    path.write_text(ini.replace("[pgbouncer]\n", f"[pgbouncer]\nauth_file = {users}\n", 1))
    return path


def run() -> None:
    """Write the configuration and become ``pgbouncer`` (its logs on standard error)."""
    # Not get_settings(): PgBouncer needs the database URLs only, not the platform's secrets.
    settings = Settings()
    path = write_configuration(settings, Path(settings.var_dir) / "pgbouncer")
    program = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(program).exists():
        raise SystemExit("rac pgbouncer: the pgbouncer program is not installed")
    # PgBouncer refuses to run as root: it reads its files, then becomes ``nobody``.
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sys.stdout.flush()
    os.execv(program, [program, *as_user, str(path)])
