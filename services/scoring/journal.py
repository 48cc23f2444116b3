"""The committee's journal: who did what to the committee or one of its evaluations, and
when (the platform's own steps are the « Plateforme »'s)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from services.scoring.models import LogEntry


def log(
    session: Session,
    committee_id: int,
    evaluation_id: int | None,
    action: str,
    text: str,
    actor: Actor | None = None,
) -> None:
    session.add(
        LogEntry(
            committee_id=committee_id,
            evaluation_id=evaluation_id,
            action=action,
            text=text,
            by_user_id=actor.user_id if actor else None,
            by_name=actor.full_name if actor else "Plateforme",
            at=clock.now(),
        )
    )
