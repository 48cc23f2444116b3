"""Every service's migrations build exactly the schema its models declare (PostgreSQL).

Each service's history is run on a fresh database of the test server, then compared with
its models by Alembic's ``compare_metadata`` (types and server defaults included), so a
change made to a model without its migration, or the reverse, fails here.
"""

from __future__ import annotations

import pytest

from rac.migrate import schema_drift
from rac_shared.settings import SERVICE_NAMES
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_migrations_match_the_models_on_postgresql(service):
    with fresh_database(service, "rac_drift_") as url:
        assert schema_drift(service, url) == []
