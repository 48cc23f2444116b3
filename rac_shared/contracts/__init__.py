"""Small RPC contracts the gateway shares with every service."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.errors import forbidden

log = logging.getLogger(__name__)


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


# -- the ministry's network dashboard (``network_figures`` of every service) ------------------


def ensure_ministry(actor: Actor) -> None:
    if not actor.is_ministry:
        raise forbidden("Les indicateurs du réseau sont réservés au Ministère.")


def optional_figures(service, method: str, actor: dict, **kwargs) -> dict | None:
    """Another part of the dashboard's figures kept by this service (another module's RPC,
    called in-process), or None when it is missing or fails: the dashboard then says
    "données indisponibles" for that section only, and the rest of the page shows."""
    compute = getattr(service, method, None)
    if compute is None:
        return None
    try:
        return compute(actor, **{k: v for k, v in kwargs.items() if v is not None})
    except Exception:
        log.exception("%s failed; the dashboard shows that section as unavailable", method)
        service.db.rollback()
        return None
