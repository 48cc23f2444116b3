"""Tables of the applications service. Nobody else reads them: other services ask by RPC."""

from sqlalchemy.orm import DeclarativeBase

from rac_shared.db import new_metadata
from rac_shared.outbox import install_reliability_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


install_reliability_tables(Base.metadata)
