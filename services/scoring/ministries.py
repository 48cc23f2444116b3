"""The ministry's table of names and ministers over time, as its administrator keeps it.

The platform ships the table (``rac_shared.ministries.MINISTRIES``); a period recorded
here replaces the shipped one that starts on the same day, or adds one. Letters, reports
and the decision events read the merged table at their date.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.scoring import MinisterTitle, MinistryPeriodIn
from rac_shared.errors import not_found
from rac_shared.ministries import Ministry, merged, ministry_at
from services.scoring import access
from services.scoring.models import MinistryPeriod


def table(session: Session) -> tuple[Ministry, ...]:
    recorded = session.scalars(select(MinistryPeriod).order_by(MinistryPeriod.since))
    return merged(Ministry(p.since, p.name, p.acronym, p.minister, edited=True) for p in recorded)


def at(session: Session | None, day: date | None) -> Ministry:
    """The ministry on ``day`` (the shipped table when there is no session to read)."""
    return ministry_at(day, table(session)) if session is not None else ministry_at(day)


def view(ministry: Ministry) -> dict:
    return {
        "since": ministry.since,
        "name": ministry.name,
        "acronym": ministry.acronym,
        "minister": ministry.minister,
        "minister_label": MinisterTitle.label_of(ministry.minister),
        "edited": ministry.edited,
    }


def listing(session: Session, actor: Actor) -> list[dict]:
    access.ensure_staff(actor)
    return [view(m) for m in table(session)]


def save(session: Session, actor: Actor, data: MinistryPeriodIn) -> Ministry:
    access.ensure_admin(actor)
    period = session.get(MinistryPeriod, data.since) or MinistryPeriod(since=data.since)
    period.name = data.name.strip()
    period.acronym = data.acronym.strip()
    period.minister = data.minister.value
    period.by_user_id = actor.user_id
    period.at = clock.now()
    session.add(period)
    session.flush()
    return Ministry(period.since, period.name, period.acronym, period.minister, edited=True)


def remove(session: Session, actor: Actor, since: date) -> int:
    """Withdraw a recorded period (the shipped one of that day, if any, applies again)."""
    access.ensure_admin(actor)
    period = session.get(MinistryPeriod, since)
    if period is None:
        raise not_found("Aucune période du ministère consignée à cette date.")
    session.delete(period)
    return 1
