"""The one clock of the platform.

Every deadline, job and timestamp reads time from here, so that tests and ``rac`` commands
can run "as of" a date. Three ways to move it, from the narrowest:

- ``clock.pinned_at(instant)`` fixes it for the current thread or green thread only (a
  context variable): a scheduled job running "as of" a day inside a service process does not
  move the time its neighbours' requests see;
- ``clock.frozen_at(instant)`` (a block) and ``RAC_FROZEN_NOW`` (ISO datetime) freeze it for
  the whole process, which is how demos are seeded and service tests run at a chosen date;
- ``RAC_CLOCK_FILE`` names a file holding an ISO instant: the platform's time is that instant
  when the file was written, running on from there. Every process of a platform reads the
  same file, so a test (or a rehearsal) moves the whole platform forward by writing it —
  scheduled jobs then run as they would on those days. Refused in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

MONTREAL = ZoneInfo("America/Montreal")

_override: ContextVar[datetime | None] = ContextVar("rac_clock_override", default=None)


class _ClockFile:
    """The platform time kept in a file: (instant written, the file's mtime) re-read only
    when the file changes."""

    def __init__(self, path: str):
        self.path = Path(path)
        self._stamp: float | None = None
        self._anchor: datetime | None = None

    def now(self) -> datetime | None:
        try:
            stamp = os.stat(self.path).st_mtime
        except FileNotFoundError:
            return None
        if stamp != self._stamp:
            text = self.path.read_text().strip()
            if not text:
                return None
            self._anchor = _aware(datetime.fromisoformat(text))
            self._stamp = stamp
        real_then = datetime.fromtimestamp(self._stamp, UTC)
        return self._anchor + max(datetime.now(UTC) - real_then, timedelta(0))


def set_clock_file(path: str | Path, instant: datetime) -> None:
    """Move every process reading ``path`` (``RAC_CLOCK_FILE``) to ``instant``, from now on."""
    target = Path(path)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(_aware(instant).isoformat())
    os.replace(temporary, target)


class Clock:
    def __init__(self) -> None:
        self._frozen: datetime | None = None
        env = os.environ.get("RAC_FROZEN_NOW")
        if env:
            self._frozen = _aware(datetime.fromisoformat(env))
        file = os.environ.get("RAC_CLOCK_FILE")
        self._file = _ClockFile(file) if file else None

    def now(self) -> datetime:
        """Current instant, timezone-aware UTC."""
        override = _override.get()
        if override is not None:
            return override
        if self._frozen is not None:
            return self._frozen
        if self._file is not None:
            moved = self._file.now()
            if moved is not None:
                return moved
        return datetime.now(UTC)

    def today(self) -> date:
        """Today's date in Québec (America/Montreal)."""
        return self.now().astimezone(MONTREAL).date()

    def freeze(self, instant: datetime | None) -> None:
        """Freeze (or, with None, release) the clock for the whole process."""
        self._frozen = _aware(instant) if instant is not None else None

    @contextmanager
    def frozen_at(self, instant: datetime | date) -> Iterator[None]:
        """Freeze the clock for the whole process while the block runs."""
        previous = self._frozen
        if not isinstance(instant, datetime):
            instant = start_of_day(instant)
        self.freeze(instant)
        try:
            yield
        finally:
            self._frozen = previous

    @contextmanager
    def pinned_at(self, instant: datetime | date) -> Iterator[None]:
        """Fix the clock for the current (green) thread only while the block runs."""
        if not isinstance(instant, datetime):
            instant = start_of_day(instant)
        token = _override.set(_aware(instant))
        try:
            yield
        finally:
            _override.reset(token)

    @property
    def moved_by_file(self) -> bool:
        return self._file is not None


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=MONTREAL)
    return instant.astimezone(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A stored instant as an aware UTC datetime: SQLite hands timestamps back naive, and
    the platform stores UTC (unlike ``_aware``, which reads a naive instant as Montréal's
    wall clock)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def local(instant: datetime) -> datetime:
    """``instant`` in Montréal's time (naive instants are taken as Montréal's)."""
    return _aware(instant).astimezone(MONTREAL)


def start_of_day(day: date) -> datetime:
    """00:00:00 of ``day`` in Montréal, as UTC."""
    return datetime.combine(day, time.min, tzinfo=MONTREAL).astimezone(UTC)


def at_local_time(day: date, moment: time) -> datetime:
    """``moment`` (wall-clock time in Montréal) on ``day``, as UTC."""
    return datetime.combine(day, moment, tzinfo=MONTREAL).astimezone(UTC)


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
