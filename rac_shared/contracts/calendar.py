"""Dates people keep in their own calendars: one shape for every service's deadlines.

The plans service gives candidate-workers' evaluation periods and acceptance deadlines,
billing the installments due, applications the calls' deposit deadlines and the CERACs'
reports due. Each answers ``calendar(actor, query)`` with ``CalendarEvent`` rows shaped for
the actor (the same scoping as its pages); the gateway turns them into iCalendar
(``rac_shared.ical``) for a download or a personal feed. ``CalendarRpc`` is part of each of
those services' Protocols.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from pydantic import Field, model_validator

from rac_shared.contracts.base import OptionalDate, OptionalInt, Reply, Strict
from rac_shared.contracts.listing import MAX_LIMIT


class CalendarQuery(Strict):
    """What to put in a calendar: nothing set is everything the actor follows; a plan (and
    one of its candidate-workers) or a call narrows it to that object."""

    plan_id: OptionalInt = Field(None, ge=1, alias="plan", title="Plan de mise en œuvre")
    candidate_id: OptionalInt = Field(None, ge=1, alias="candidat", title="Personne candidate")
    call_id: OptionalInt = Field(None, ge=1, alias="appel", title="Appel d'intérêt")
    # A window, for a page (a calendar file or feed has every date): the dates not over on
    # ``since``, in their order (``key``), after the one ``after`` names, at most ``limit``.
    since: OptionalDate = Field(None, title="À partir du")
    after: str | None = Field(None, max_length=400, title="Après l'échéance")
    limit: OptionalInt = Field(None, ge=1, le=MAX_LIMIT, title="Nombre d'échéances")

    model_config = {**Strict.model_config, "populate_by_name": True}


class CalendarEvent(Reply):
    """One date: either whole days (``start`` to ``end``, both included) or a moment
    (``at``, a deadline such as the end of a day in America/Montreal)."""

    uid: str  # stable across downloads, so a calendar updates the event instead of adding one
    title: str
    start: dt.date
    end: dt.date | None = None
    at: dt.datetime | None = None
    description: str = ""
    path: str = ""  # the page in the platform that says more

    @model_validator(mode="after")
    def _days_or_moment(self):
        if self.end is not None and self.end < self.start:
            raise ValueError("an event cannot end before it starts")
        return self


def key(event: CalendarEvent) -> str:
    """An event's place in a calendar's order (day, then whole days before moments, then
    its uid), as text: what ``CalendarQuery.after`` names."""
    return f"{event.start.isoformat()}~{int(event.at is not None)}~{event.uid}"


def window(events: list[CalendarEvent], query: CalendarQuery) -> list[CalendarEvent]:
    """``events`` in calendar order, cut to the query's window (all of them without one)."""
    kept = sorted(events, key=key)
    if query.since is not None:
        kept = [e for e in kept if (e.end or e.start) >= query.since]
    if query.after is not None:
        kept = [e for e in kept if key(e) > query.after]
    return kept if query.limit is None else kept[: query.limit]


class CalendarRpc(Protocol):
    def calendar(self, query: CalendarQuery) -> list[CalendarEvent]:
        """The dates the actor follows (or those of one plan, candidate-worker or call)."""
        ...
