"""Small RPC contracts the gateway shares with every service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.orm import Session


class NextAction(BaseModel):
    """One line of a user's home page: something they can do next, with a link."""

    model_config = ConfigDict(extra="forbid")

    label: str
    url: str
    count: int | None = None
    urgent: bool = False


class HealthReport(BaseModel):
    service: str
    database: str
    pending_events: int


def health_report(service: str, session: Session) -> dict:
    """Proves the service answers and its own database is reachable."""
    session.execute(text("SELECT 1"))
    pending = session.execute(
        text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
    ).scalar_one()
    return HealthReport(service=service, database="ok", pending_events=pending).model_dump()
