"""Alembic, one history per service (``services/<name>/migrations``, ``gateway/migrations``).

The caller says where each service's migrations are and what its models declare (the
composition root, ``rac.migrate``, reads them from the services' manifests): this module
imports no service.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text
from sqlalchemy.engine import make_url

from rac_shared.settings import get_settings, with_driver


def alembic_config(service: str, location: Path, url: str | None = None) -> Config:
    """Alembic's configuration for ``service``'s migrations in the directory ``location``."""
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("path_separator", "os")
    config.attributes["service"] = service
    config.attributes["url"] = url or get_settings().database_url_for(service)
    return config


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist yet."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    admin = create_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
    )
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


class RoleSetupRefused(RuntimeError):
    """The service's role or database is missing and the server account may not create it."""


# Relations and routines of a database's public schema, with the statement that gives one
# to another owner; a service's migrations must own what they alter.
_OWNED_OBJECTS = (
    (
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND pg_get_userbyid(c.relowner) <> :role",
        "ALTER TABLE public.{} OWNER TO {}",  # PostgreSQL accepts it for views too
    ),
    (  # after the tables: a column's sequence has followed its table already
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'S' "
        "AND pg_get_userbyid(c.relowner) <> :role",
        "ALTER SEQUENCE public.{} OWNER TO {}",
    ),
    (
        "SELECT p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> :role",
        "ALTER FUNCTION {signature} OWNER TO {}",
    ),
)


def provision_service_database(service_url: str, admin_url: str | None) -> list[str]:
    """Give a service its own PostgreSQL role, owning its database and nothing else.

    ``service_url`` (``DATABASE_URL_<SERVICE>``) names the role and its password; the
    server account of ``admin_url`` (``DATABASE_URL``) creates the role if it is missing
    (or sets its password to the one given, which is how a password is rotated), creates
    the database owned by it, hands over whatever an earlier shared account owned in it,
    and closes the database to every other role (``REVOKE CONNECT ... FROM PUBLIC``).
    Without an admin URL, or when both URLs name the same user, only the database is
    created as before. An account without the rights (a managed server) leaves this to
    its administrator; then the role and database must already exist, as the README says.
    Returns what was done, for the operator.
    """
    service = make_url(service_url)
    if not service.drivername.startswith("postgresql"):
        return []
    if admin_url is None or make_url(admin_url).username == service.username:
        ensure_database(service_url)
        return []
    role, database, password = service.username, service.database, service.password
    done: list[str] = []
    admin = create_engine(
        make_url(admin_url).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=pool.NullPool,
    )
    try:
        with admin.connect() as connection:
            may_create_roles, may_create_databases = connection.execute(
                text(
                    "SELECT rolsuper OR rolcreaterole, rolsuper OR rolcreatedb "
                    "FROM pg_roles WHERE rolname = current_user"
                )
            ).one()
            role_exists = connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
            ).scalar()
            owner = connection.execute(
                text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :database"),
                {"database": database},
            ).scalar()
            if not may_create_roles:
                if role_exists and owner == role:
                    return []  # set up by the server's administrator
                raise RoleSetupRefused(
                    f"the role {role} and the database {database} it owns must exist: the "
                    "account of DATABASE_URL may not create roles (see the README, Operating)"
                )
            verb = "ALTER" if role_exists else "CREATE"
            _execute(
                connection,
                verb + " ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "NOREPLICATION PASSWORD {}",
                role,
                literal=password,
            )
            if not role_exists:
                done.append(f"rôle {role} créé")
            if owner is None:
                if not may_create_databases:
                    raise RoleSetupRefused(
                        f"the database {database} must exist: the account of DATABASE_URL "
                        "may not create databases (see the README, Operating)"
                    )
                _execute(connection, "CREATE DATABASE {} OWNER {}", database, role)
                done.append(f"base {database} créée, propriété de {role}")
            elif owner != role:
                _execute(connection, "ALTER DATABASE {} OWNER TO {}", database, role)
                done.append(f"base {database} remise à {role}")
            _execute(connection, "REVOKE ALL ON DATABASE {} FROM PUBLIC", database)
        if owner != role:  # a new database, or one an earlier shared account owned
            done += _hand_over_objects(make_url(admin_url).set(database=database), role)
    finally:
        admin.dispose()
    return done


def _hand_over_objects(url, role: str) -> list[str]:
    """What an earlier shared account created in the database now belongs to ``role``."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    moved = []
    try:
        with engine.connect() as connection:
            # Before PostgreSQL 15 the public schema belonged to the server's superuser.
            _execute(connection, "ALTER SCHEMA public OWNER TO {}", role)
            for query, statement in _OWNED_OBJECTS:
                for (name,) in connection.execute(text(query), {"role": role}).all():
                    if "{signature}" in statement:  # already a quoted signature
                        _execute(connection, statement.replace("{signature}", name), role)
                    else:
                        _execute(connection, statement, name, role)
                    moved.append(name)
    finally:
        engine.dispose()
    return [f"{len(moved)} objet(s) remis à {role}"] if moved else []


def _execute(connection, statement: str, *identifiers: str, literal: str | None = None) -> None:
    """A DDL statement with quoted identifiers (and one quoted literal, a password):
    PostgreSQL takes no bound parameters in DDL."""
    from psycopg2 import sql

    parts = [sql.Identifier(i) for i in identifiers]
    if literal is not None:
        parts.append(sql.Literal(literal))
    raw = connection.connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.execute(sql.SQL(statement).format(*parts))


def upgrade(service: str, location: Path, url: str, admin_url: str | None = None) -> list[str]:
    """Provision ``service``'s role and database, then run its migrations (in ``location``)
    as that role, so that it owns its tables. Returns what provisioning did."""
    if admin_url:
        admin_url = with_driver(admin_url)
    done = provision_service_database(url, admin_url)
    command.upgrade(alembic_config(service, location, url), "head")
    return done


def schema_drift(url: str, metadata: MetaData) -> list:
    """What differs between a migrated database and the models' ``metadata`` (Alembic's
    ``compare_metadata``, types and server defaults included); empty when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def run_env(metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py``."""
    url = context.config.attributes.get("url")
    if url is None:  # plain `alembic` command line: use the settings
        url = get_settings().database_url_for(context.config.attributes["service"])
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
