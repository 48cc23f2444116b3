"""The PostgreSQL tests' rule (tests/support/postgres.py): asked for, an unreachable server
fails the test; on a machine that did not ask for one, it is skipped."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped

from tests.support import postgres


@pytest.mark.parametrize(
    ("variable", "value"), [("TEST_DATABASE_URL", "postgresql://x"), ("CI", "1")]
)
def test_an_unreachable_server_fails_the_test_where_postgresql_is_asked_for(
    monkeypatch, variable, value
):
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(Failed, match="PostgreSQL unavailable"):
        postgres.unavailable(ConnectionError("refused"))


def test_it_is_skipped_only_where_nobody_asked_for_postgresql(monkeypatch):
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped, match="PostgreSQL unavailable"):
        postgres.unavailable(ConnectionError("refused"))
