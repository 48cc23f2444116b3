"""Personal calendar feeds, in the gateway's database: at most one live address per user.

The address holds a token signed for (user, generation) (``gateway.auth``); this module
keeps which generation is live. A new address bumps the generation, so every address given
out before stops working; revoking turns the feed off until a new one is made.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.models import CalendarFeed
from rac_shared.clock import clock


def live(session: Session, user_id: int) -> CalendarFeed | None:
    feed = session.get(CalendarFeed, user_id)
    return feed if feed is not None and feed.active else None


def renew(session: Session, user_id: int) -> CalendarFeed:
    """The user's first address, or a new one replacing the one given out before."""
    feed = session.get(CalendarFeed, user_id, with_for_update=True)
    if feed is None:
        feed = CalendarFeed(user_id=user_id, generation=1, active=True, created_at=clock.now())
        session.add(feed)
    else:
        feed.generation += 1
        feed.active = True
        feed.created_at = clock.now()
        feed.revoked_at = None
    session.flush()
    return feed


def revoke(session: Session, user_id: int) -> None:
    feed = session.get(CalendarFeed, user_id, with_for_update=True)
    if feed is not None and feed.active:
        feed.active = False
        feed.revoked_at = clock.now()
