"""The one clock of the platform.

Every deadline, job and timestamp reads time from here, so that tests and ``rac`` commands
can run "as of" a date. ``RAC_FROZEN_NOW`` (ISO datetime) freezes it for a whole process,
which is how demos move time forward.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTREAL = ZoneInfo("America/Montreal")


class Clock:
    def __init__(self) -> None:
        self._frozen: datetime | None = None
        env = os.environ.get("RAC_FROZEN_NOW")
        if env:
            self._frozen = _aware(datetime.fromisoformat(env))

    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def today(self) -> date:
        """Today's date in Québec (America/Montreal)."""
        return self.now().astimezone(MONTREAL).date()

    def freeze(self, instant: datetime | None) -> None:
        self._frozen = _aware(instant) if instant is not None else None

    @contextmanager
    def frozen_at(self, instant: datetime | date) -> Iterator[None]:
        previous = self._frozen
        if not isinstance(instant, datetime):
            instant = start_of_day(instant)
        self.freeze(instant)
        try:
            yield
        finally:
            self._frozen = previous


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=MONTREAL)
    return instant.astimezone(UTC)


def start_of_day(day: date) -> datetime:
    """00:00:00 of ``day`` in Montréal, as UTC."""
    return datetime.combine(day, time.min, tzinfo=MONTREAL).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in Montréal (23:59:59.999999), as UTC.

    Deadlines are "end of that day, America/Montreal": a deposit made at 23:59:59 counts,
    one at 00:00:00 the next day does not, whatever the daylight-saving offset.
    """
    next_midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=MONTREAL)
    return next_midnight.astimezone(UTC) - timedelta(microseconds=1)


def is_on_or_before_deadline(instant: datetime, deadline_day: date) -> bool:
    return _aware(instant) <= end_of_day(deadline_day)


clock = Clock()
