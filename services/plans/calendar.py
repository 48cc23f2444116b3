"""Durations and calendars of a workplace RAC project, computed, never typed.

Each competency (or group of competencies, e.g. « REG A ») takes a number of weeks at
3 h/week and at 6 h/week. A candidate-worker's evaluations follow one another from their
start date, at the rhythm they chose. A week is five working days: Saturdays, Sundays,
Québec's statutory holidays and the plan's closure dates are skipped, so a holiday pushes
the end of an evaluation by one working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

WORKING_DAYS_PER_WEEK = 5


def easter_sunday(year: int) -> date:
    """Gregorian Easter (anonymous Gregorian algorithm, « Meeus/Jones/Butcher »)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def _nth_monday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (7 - first.weekday()) % 7  # days to the first Monday
    return first + timedelta(days=offset + 7 * (n - 1))


def _sunday_to_monday(day: date) -> date:
    """24 June and 1 July falling on a Sunday are observed on Monday 25 June / 2 July."""
    return day + timedelta(days=1) if day.weekday() == 6 else day


@lru_cache(maxsize=64)
def quebec_holidays(year: int) -> dict[date, str]:
    """Québec's statutory holidays (jours fériés) of ``year``, with their French names."""
    easter = easter_sunday(year)
    may_24 = date(year, 5, 24)
    return {
        date(year, 1, 1): "Jour de l’An",
        easter - timedelta(days=2): "Vendredi saint",
        easter + timedelta(days=1): "Lundi de Pâques",
        # The Monday preceding 25 May.
        may_24 - timedelta(days=may_24.weekday()): "Journée nationale des patriotes",
        _sunday_to_monday(date(year, 6, 24)): "Fête nationale du Québec",
        _sunday_to_monday(date(year, 7, 1)): "Fête du Canada",
        _nth_monday(year, 9, 1): "Fête du Travail",
        _nth_monday(year, 10, 2): "Action de grâce",
        date(year, 12, 25): "Noël",
    }


# Their names in the plan's courtesy translation, and the reason a closure date is skipped.
ENGLISH_HOLIDAYS = {
    "Jour de l’An": "New Year's Day",
    "Vendredi saint": "Good Friday",
    "Lundi de Pâques": "Easter Monday",
    "Journée nationale des patriotes": "National Patriots' Day",
    "Fête nationale du Québec": "Québec's National Holiday",
    "Fête du Canada": "Canada Day",
    "Fête du Travail": "Labour Day",
    "Action de grâce": "Thanksgiving",
    "Noël": "Christmas Day",
    "Fermeture": "Closure",
}


def holiday_name(day: date) -> str | None:
    return quebec_holidays(day.year).get(day)


def is_working_day(day: date, closures: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in closures and holiday_name(day) is None


def next_working_day(day: date, closures: frozenset[date] = frozenset()) -> date:
    while not is_working_day(day, closures):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, count: int, closures: frozenset[date] = frozenset()) -> date:
    """The ``count``-th working day counting ``start`` as the first (start must be one)."""
    day = start
    remaining = count - 1
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, closures):
            remaining -= 1
    return day


def skipped_days(start: date, end: date, closures: frozenset[date]) -> list[tuple[date, str]]:
    """Weekdays between start and end that are not worked, with the reason."""
    skipped = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            name = holiday_name(day)
            if name:
                skipped.append((day, name))
            elif day in closures:
                skipped.append((day, "Fermeture"))
        day += timedelta(days=1)
    return skipped


# -- evaluation units ---------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One evaluation step: a competency, or a group of competencies evaluated together."""

    label: str
    codes: tuple[str, ...]
    statements: tuple[str, ...]
    weeks_3h: int
    weeks_6h: int

    def weeks(self, rhythm: int) -> int:
        return self.weeks_3h if rhythm == 3 else self.weeks_6h


def evaluation_units(competencies: Iterable) -> list[Unit]:
    """Competencies sharing a ``group`` form one unit (weeks summed), in order of first
    appearance; the others are a unit each. Items need ``code``, ``statement``, ``group``,
    ``weeks_3h`` and ``weeks_6h`` (attributes or keys)."""
    units: list[dict] = []
    by_group: dict[str, dict] = {}
    for item in competencies:
        get = item.get if isinstance(item, dict) else lambda k, _i=item: getattr(_i, k)
        group = (get("group") or "").strip()
        if group and group in by_group:
            unit = by_group[group]
        else:
            unit = {"group": group, "codes": [], "statements": [], "w3": 0, "w6": 0}
            units.append(unit)
            if group:
                by_group[group] = unit
        unit["codes"].append(get("code"))
        unit["statements"].append(get("statement"))
        unit["w3"] += int(get("weeks_3h"))
        unit["w6"] += int(get("weeks_6h"))
    result = []
    for unit in units:
        if unit["group"]:
            label = f"{unit['group']} ({', '.join(unit['codes'])})"
        else:
            label = f"Compétence {unit['codes'][0]} : {unit['statements'][0]}"
        result.append(
            Unit(
                label=label,
                codes=tuple(unit["codes"]),
                statements=tuple(unit["statements"]),
                weeks_3h=unit["w3"],
                weeks_6h=unit["w6"],
            )
        )
    return result


def total_weeks(units: Iterable[Unit], rhythm: int) -> int:
    return sum(unit.weeks(rhythm) for unit in units)


# -- a candidate's calendar ---------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    codes: tuple[str, ...]
    weeks: int
    start: date
    end: date
    skipped: tuple[tuple[date, str], ...] = ()


@dataclass(frozen=True)
class CandidateCalendar:
    rhythm: int
    start: date
    periods: tuple[Period, ...] = field(default_factory=tuple)

    @property
    def end(self) -> date | None:
        return self.periods[-1].end if self.periods else None

    @property
    def weeks(self) -> int:
        return sum(p.weeks for p in self.periods)


def candidate_calendar(
    units: Iterable[Unit], rhythm: int, start: date, closures: Iterable[date] = ()
) -> CandidateCalendar:
    """Evaluations one after the other from ``start`` at ``rhythm`` hours a week."""
    if rhythm not in (3, 6):
        raise ValueError("rhythm must be 3 or 6 hours a week")
    closed = frozenset(closures)
    periods = []
    cursor = start
    for unit in units:
        weeks = unit.weeks(rhythm)
        first = next_working_day(cursor, closed)
        last = add_working_days(first, weeks * WORKING_DAYS_PER_WEEK, closed)
        periods.append(
            Period(
                label=unit.label,
                codes=unit.codes,
                weeks=weeks,
                start=first,
                end=last,
                skipped=tuple(skipped_days(first, last, closed)),
            )
        )
        cursor = last + timedelta(days=1)
    return CandidateCalendar(rhythm=rhythm, start=start, periods=tuple(periods))


@dataclass(frozen=True)
class Duration:
    """The plan's approximate duration, computed from the competencies and the candidates."""

    weeks_3h: int  # every unit at 3 h/week
    weeks_6h: int
    weeks: int | None  # the longest candidate's evaluations at their rhythm
    start: date | None  # earliest start among candidates
    end: date | None  # latest end among candidates

    @property
    def calendar_weeks(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return -(-((self.end - self.start).days + 1) // 7)


def plan_duration(units: list[Unit], calendars: Iterable[CandidateCalendar]) -> Duration:
    calendars = [c for c in calendars if c.periods]
    return Duration(
        weeks_3h=total_weeks(units, 3),
        weeks_6h=total_weeks(units, 6),
        weeks=max((c.weeks for c in calendars), default=None),
        start=min((c.periods[0].start for c in calendars), default=None),
        end=max((c.end for c in calendars), default=None),
    )
