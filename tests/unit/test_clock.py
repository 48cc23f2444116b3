"""Deadlines are "end of that day in Montréal", whatever the daylight-saving offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rac_shared.clock import (
    MONTREAL,
    Clock,
    clock,
    end_of_day,
    is_on_or_before_deadline,
    start_of_day,
)

# 2026-03-08: clocks go forward at 02:00 (EST −5 → EDT −4).
# 2026-11-01: clocks go back at 02:00 (EDT −4 → EST −5).
SPRING_FORWARD = date(2026, 3, 8)
FALL_BACK = date(2026, 11, 1)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "start_utc", "end_utc"),
    [
        # Ordinary winter and summer days.
        (date(2026, 1, 15), utc(2026, 1, 15, 5), utc(2026, 1, 16, 5)),
        (date(2026, 7, 15), utc(2026, 7, 15, 4), utc(2026, 7, 16, 4)),
        # The day before each change ends at the *new* offset's midnight.
        (date(2026, 3, 7), utc(2026, 3, 7, 5), utc(2026, 3, 8, 5)),
        (date(2026, 10, 31), utc(2026, 10, 31, 4), utc(2026, 11, 1, 4)),
        # The change days themselves: 23 hours in spring, 25 hours in autumn.
        (SPRING_FORWARD, utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)),
        (FALL_BACK, utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)),
    ],
)
def test_start_and_end_of_day_in_utc(day, start_utc, end_utc):
    assert start_of_day(day) == start_utc
    assert end_of_day(day) == end_utc - timedelta(microseconds=1)
    assert start_of_day(day).tzinfo is not None
    # The day after starts exactly one microsecond after this one ends.
    assert start_of_day(day + timedelta(days=1)) - end_of_day(day) == timedelta(microseconds=1)


def test_length_of_daylight_saving_days():
    def length(day: date) -> timedelta:
        return start_of_day(day + timedelta(days=1)) - start_of_day(day)

    assert length(SPRING_FORWARD) == timedelta(hours=23)
    assert length(FALL_BACK) == timedelta(hours=25)
    assert length(date(2026, 6, 1)) == timedelta(hours=24)


@pytest.mark.parametrize(
    "deadline",
    [
        date(2026, 3, 7),  # the night of the spring change
        SPRING_FORWARD,
        date(2026, 10, 31),  # the night of the autumn change
        FALL_BACK,
        date(2026, 12, 12),
        date(2026, 6, 30),
    ],
)
def test_deadline_accepts_235959_and_refuses_next_midnight(deadline):
    last_second = local(deadline.year, deadline.month, deadline.day, 23, 59, 59)
    last_microsecond = last_second.replace(microsecond=999_999)
    following = deadline + timedelta(days=1)
    next_midnight = local(following.year, following.month, following.day, 0, 0, 0)

    assert is_on_or_before_deadline(last_second, deadline)
    assert is_on_or_before_deadline(last_microsecond, deadline)
    assert not is_on_or_before_deadline(next_midnight, deadline)
    # Same instants expressed in UTC give the same answers.
    assert is_on_or_before_deadline(last_second.astimezone(UTC), deadline)
    assert not is_on_or_before_deadline(next_midnight.astimezone(UTC), deadline)
    # Naive datetimes are read as Montréal wall-clock time.
    assert is_on_or_before_deadline(last_second.replace(tzinfo=None), deadline)
    assert not is_on_or_before_deadline(next_midnight.replace(tzinfo=None), deadline)


def test_deadline_ignores_the_utc_date():
    # 2026-12-13 03:30 UTC is still 2026-12-12 22:30 in Montréal.
    assert is_on_or_before_deadline(datetime(2026, 12, 13, 3, 30, tzinfo=UTC), date(2026, 12, 12))
    # 2026-12-13 05:00 UTC is 00:00 on the 13th in Montréal: too late.
    assert not is_on_or_before_deadline(
        datetime(2026, 12, 13, 5, 0, tzinfo=UTC), date(2026, 12, 12)
    )


def test_frozen_at_and_today_use_montreal_date():
    instant = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)  # 22:00 on the 14th in Montréal
    with clock.frozen_at(instant):
        assert clock.now() == instant
        assert clock.now().tzinfo is not None
        assert clock.now().date() == date(2026, 7, 15)
        assert clock.today() == date(2026, 7, 14)
    winter = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)  # 21:00 on the 9th in Montréal
    with clock.frozen_at(winter):
        assert clock.today() == date(2026, 1, 9)


def test_frozen_at_restores_previous_state_and_nests():
    outer = datetime(2030, 1, 1, 12, tzinfo=UTC)
    inner = datetime(2031, 6, 1, 12, tzinfo=UTC)
    with clock.frozen_at(outer):
        with clock.frozen_at(inner):
            assert clock.now() == inner
        assert clock.now() == outer
        with pytest.raises(RuntimeError), clock.frozen_at(inner):
            raise RuntimeError("boom")
        assert clock.now() == outer
    # Back to the real clock.
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(hours=1)


def test_frozen_at_a_date_means_montreal_midnight():
    with clock.frozen_at(FALL_BACK):
        assert clock.now() == datetime(2026, 11, 1, 4, tzinfo=UTC)
        assert clock.today() == FALL_BACK
    with clock.frozen_at(SPRING_FORWARD):
        assert clock.now() == datetime(2026, 3, 8, 5, tzinfo=UTC)
        assert clock.today() == SPRING_FORWARD


def test_frozen_at_naive_datetime_is_montreal_time():
    with clock.frozen_at(datetime(2026, 12, 12, 23, 59, 59)):
        assert clock.now() == datetime(2026, 12, 13, 4, 59, 59, tzinfo=UTC)
        assert clock.today() == date(2026, 12, 12)


def test_rac_frozen_now_env_freezes_a_new_clock(monkeypatch):
    monkeypatch.setenv("RAC_FROZEN_NOW", "2026-11-01T01:30:00-05:00")
    frozen = Clock()
    assert frozen.now() == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert frozen.today() == FALL_BACK

    monkeypatch.setenv("RAC_FROZEN_NOW", "2026-07-15T02:00:00+00:00")
    assert Clock().today() == date(2026, 7, 14)

    # Naive value: Montréal wall-clock time.
    monkeypatch.setenv("RAC_FROZEN_NOW", "2026-12-12T23:59:59")
    assert Clock().now() == datetime(2026, 12, 13, 4, 59, 59, tzinfo=UTC)

    monkeypatch.delenv("RAC_FROZEN_NOW")
    assert abs(Clock().now() - datetime.now(UTC)) < timedelta(hours=1)


def test_freeze_none_unfreezes():
    c = Clock()
    c.freeze(datetime(2026, 1, 1, tzinfo=UTC))
    assert c.now() == datetime(2026, 1, 1, tzinfo=UTC)
    c.freeze(None)
    assert abs(c.now() - datetime.now(UTC)) < timedelta(hours=1)
