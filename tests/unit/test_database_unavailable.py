"""A database that refuses or drops connections is load to shed (503 + Retry-After), not a
defect: the RPC entrypoint turns it into ``DomainError("unavailable")``, which the gateway
answers 503; any other database error stays an error."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from rac_shared.db import database_unavailable
from rac_shared.errors import DomainError
from rac_shared.rpc import validated

REFUSED = OperationalError(None, None, Exception("FATAL: sorry, too many clients already"))
DROPPED = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
DROPPED.connection_invalidated = True
DEADLOCK = OperationalError("UPDATE plans SET …", {}, Exception("deadlock detected"))
DUPLICATE = IntegrityError("INSERT …", {}, Exception("duplicate key"))


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (REFUSED, True),
        (DROPPED, True),
        (PoolTimeout("QueuePool limit of size 8 overflow 0 reached"), True),
        (DEADLOCK, False),
        (DUPLICATE, False),
        (ValueError("not a database error"), False),
    ],
)
def test_what_counts_as_the_database_being_unavailable(error, unavailable):
    assert database_unavailable(error) is unavailable


class Service:
    def __init__(self, error: Exception):
        self.error = error

    @validated
    def list_plans(self, limit: int) -> list[int]:
        raise self.error


def test_an_entrypoint_sheds_a_refused_connection_and_keeps_other_errors():
    with pytest.raises(DomainError) as refused:
        Service(REFUSED).list_plans(limit=5)
    assert refused.value.code == "unavailable" and refused.value.http_status == 503
    assert "Réessayez" in refused.value.message
    with pytest.raises(OperationalError):
        Service(DEADLOCK).list_plans(limit=5)
