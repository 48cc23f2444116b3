"""The 30-day acceptance deadline of an issued plan, and the reminders before it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from rac_shared.clock import MONTREAL, clock, end_of_day

ACCEPTANCE_DAYS = 30


def acceptance_deadline(issued_on: date) -> datetime:
    """The last instant at which the employer's acceptance may reach the institution.

    The seed's acceptance clause: « Cette acceptation doit parvenir au Cégep au plus tard
    30 jours suivant la date d’émission de la proposition d’intervention, à défaut de quoi
    le présent contrat sera résolu de plein droit. »

    Rule: the end of the 30th day after the date of issue, America/Montreal time
    (23:59:59.999999 local, whatever the daylight-saving offset of that day), returned in
    UTC. Issued on 31 January 2026, the deadline is the end of 2 March 2026; issued on
    31 January 2028 (leap year), the end of 1 March 2028.
    """
    return end_of_day(deadline_date(issued_on))


def deadline_date(issued_on: date) -> date:
    """The 30th day after the date of issue (the last day an acceptance is received)."""
    return issued_on + timedelta(days=ACCEPTANCE_DAYS)


def local_date(instant: datetime) -> date:
    return instant.astimezone(MONTREAL).date()


def is_before_deadline(instant: datetime, deadline: datetime) -> bool:
    """An acceptance at ``instant`` is in time if it is not after ``deadline``."""
    return instant <= deadline


def days_left(deadline: datetime, today: date | None = None) -> int:
    """Whole days from ``today`` (Montréal) to the deadline's day: 0 on the last day."""
    return (local_date(deadline) - (today or clock.today())).days


def reminder_due(days_before: int, thresholds: tuple[int, ...]) -> int | None:
    """Which reminder is due when the deadline is ``days_before`` days away: the smallest
    threshold that is ≥ ``days_before`` (so a job that missed a day still sends the one
    that applies now, and never an older one), or None."""
    if days_before < 0:
        return None
    candidates = [t for t in thresholds if t >= days_before]
    return min(candidates) if candidates else None
