"""Alembic, one history per service (``services/<name>/migrations``, ``gateway/migrations``)."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool, text
from sqlalchemy.engine import make_url

from rac_shared.settings import SERVICE_NAMES, get_settings

MIGRATION_PACKAGES = {
    "applications": "services.applications",
    "scoring": "services.scoring",
    "plans": "services.plans",
    "billing": "services.billing",
    "notifications": "services.notifications",
    "gateway": "gateway",
}


def alembic_config(service: str, url: str | None = None) -> Config:
    package = importlib.import_module(MIGRATION_PACKAGES[service])
    location = Path(package.__file__).resolve().parent / "migrations"
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


def migrate(
    services: tuple[str, ...] = SERVICE_NAMES,
    urls: dict[str, str] | None = None,
    progress: bool = False,
) -> None:
    if progress:
        from tqdm import tqdm

        services = tqdm(services, desc="Migrations", unit="service")
    for service in services:
        url = (urls or {}).get(service) or get_settings().database_url_for(service)
        ensure_database(url)
        command.upgrade(alembic_config(service, url), "head")


def service_metadata(service: str) -> MetaData:
    """The tables a service's models declare (what its migrations must produce)."""
    return importlib.import_module(f"{MIGRATION_PACKAGES[service]}.models").Base.metadata


def schema_drift(service: str, url: str) -> list:
    """What differs between a migrated database and the service's models (Alembic's
    ``compare_metadata``, types and server defaults included); empty when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(context, service_metadata(service))
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
