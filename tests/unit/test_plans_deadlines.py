"""The acceptance deadline: the end of the 30th day after the date of issue, in Montréal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rac_shared.clock import MONTREAL
from services.plans import deadlines
from services.plans.config import PlansSettings


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "issued_on, last_day",
    [
        (date(2026, 1, 31), date(2026, 3, 2)),  # February has 28 days in 2026
        (date(2028, 1, 31), date(2028, 3, 1)),  # leap year: 29 February counts
        (date(2028, 2, 1), date(2028, 3, 2)),
        (date(2027, 2, 1), date(2027, 3, 3)),
        (date(2026, 4, 30), date(2026, 5, 30)),  # from the end of a 30-day month
        (date(2026, 8, 31), date(2026, 9, 30)),
        (date(2026, 12, 15), date(2027, 1, 14)),  # across the new year
        (date(2028, 2, 29), date(2028, 3, 30)),  # issued on a 29 February
    ],
)
def test_deadline_is_the_thirtieth_day_after_issue(issued_on, last_day):
    assert deadlines.deadline_date(issued_on) == last_day
    deadline = deadlines.acceptance_deadline(issued_on)
    local = deadline.astimezone(MONTREAL)
    assert local.date() == last_day
    assert (local.hour, local.minute, local.second, local.microsecond) == (23, 59, 59, 999999)


def test_deadline_in_winter_is_at_utc_minus_five():
    assert deadlines.acceptance_deadline(date(2026, 1, 31)) == utc(2026, 3, 3, 4, 59, 59, 999999)


def test_deadline_after_the_spring_change_is_at_utc_minus_four():
    # Issued on 10 February 2026 (EST); clocks go forward on 8 March; the deadline is
    # 12 March, in EDT.
    assert deadlines.acceptance_deadline(date(2026, 2, 10)) == utc(2026, 3, 13, 3, 59, 59, 999999)


def test_deadline_after_the_autumn_change_is_at_utc_minus_five():
    # Issued on 5 October 2026 (EDT); clocks go back on 1 November; deadline 4 November EST.
    assert deadlines.acceptance_deadline(date(2026, 10, 5)) == utc(2026, 11, 5, 4, 59, 59, 999999)


@pytest.mark.parametrize("issued_on", [date(2026, 2, 6), date(2026, 10, 2)])
def test_deadline_falling_on_the_day_of_a_clock_change(issued_on):
    # 8 March 2026 (23 hours) and 1 November 2026 (25 hours) are the 30th day.
    deadline = deadlines.acceptance_deadline(issued_on)
    local = deadline.astimezone(MONTREAL)
    assert local.date() == issued_on + timedelta(days=30)
    assert (local.hour, local.minute) == (23, 59)
    next_midnight = datetime.combine(
        local.date() + timedelta(days=1), datetime.min.time(), MONTREAL
    )
    assert next_midnight.astimezone(UTC) - deadline == timedelta(microseconds=1)


def test_last_minute_accepted_and_next_midnight_refused():
    deadline = deadlines.acceptance_deadline(date(2026, 1, 31))
    last_minute = datetime(2026, 3, 2, 23, 59, tzinfo=MONTREAL)
    next_day = datetime(2026, 3, 3, 0, 0, tzinfo=MONTREAL)
    assert deadlines.is_before_deadline(last_minute.astimezone(UTC), deadline)
    assert deadlines.is_before_deadline(datetime(2026, 3, 2, 23, 59, 59, tzinfo=MONTREAL), deadline)
    assert not deadlines.is_before_deadline(next_day.astimezone(UTC), deadline)


def test_days_left_counts_whole_days_in_montreal():
    deadline = deadlines.acceptance_deadline(date(2026, 1, 31))
    assert deadlines.days_left(deadline, date(2026, 2, 20)) == 10
    assert deadlines.days_left(deadline, date(2026, 3, 2)) == 0
    assert deadlines.days_left(deadline, date(2026, 3, 3)) == -1


def test_reminder_days_and_retention_are_read_by_pydantic_settings(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.delenv("PLAN_REMINDER_DAYS", raising=False)
    monkeypatch.delenv("PLAN_RETENTION_MONTHS", raising=False)
    assert PlansSettings().reminders == (10, 3, 1)
    assert PlansSettings().retention_months == 24
    monkeypatch.setenv("PLAN_REMINDER_DAYS", "2, 7")
    monkeypatch.setenv("PLAN_RETENTION_MONTHS", "36")
    assert PlansSettings().reminders == (7, 2)
    assert PlansSettings().retention_months == 36
    # A malformed value is named, not ignored: a reminder on the deadline's day or past
    # the 30 days of the offer, words, no month.
    for days in ("n'importe quoi", "0", "30", "10,,x"):
        monkeypatch.setenv("PLAN_REMINDER_DAYS", days)
        with pytest.raises(ValidationError, match="PLAN_REMINDER_DAYS"):
            PlansSettings()
    monkeypatch.setenv("PLAN_REMINDER_DAYS", "10")
    monkeypatch.setenv("PLAN_RETENTION_MONTHS", "0")
    with pytest.raises(ValidationError):
        PlansSettings()


@pytest.mark.parametrize(
    "days_before, due",
    [(11, None), (10, 10), (9, 10), (4, 10), (3, 3), (2, 3), (1, 1), (0, 1), (-1, None)],
)
def test_which_reminder_applies(days_before, due):
    assert deadlines.reminder_due(days_before, (10, 3, 1)) == due
