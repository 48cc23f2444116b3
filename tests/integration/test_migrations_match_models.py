"""Every service's migrations build exactly the schema its models declare (PostgreSQL).

Each service's history is run on a fresh database of the test server, then compared with
its models by Alembic's ``compare_metadata`` (types and server defaults included), so a
change made to a model without its migration, or the reverse, fails here.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

from rac.migrate import migrate, schema_drift
from rac_shared.settings import SERVICE_NAMES, with_driver

pytestmark = pytest.mark.integration

SERVER_URL = make_url(
    with_driver(
        os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_migrations_match_the_models_on_postgresql(service):
    name = f"rac_drift_{uuid.uuid4().hex[:8]}_{service}"
    url = SERVER_URL.set(database=name).render_as_string(hide_password=False)
    try:
        migrate((service,), {service: url})
        assert schema_drift(service, url) == []
    finally:
        admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
