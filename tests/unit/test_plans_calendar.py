"""Durations and calendars of a workplace RAC plan: computed from the competencies, the
rhythm of each candidate-worker, Québec's statutory holidays and the plan's closures."""

from __future__ import annotations

from datetime import date

import pytest

from services.plans.calendar import (
    add_working_days,
    candidate_calendar,
    easter_sunday,
    evaluation_units,
    is_working_day,
    plan_duration,
    quebec_holidays,
)


def competency(code, weeks_3h, weeks_6h, group="", statement=None):
    return {
        "code": code,
        "statement": statement or f"Énoncé de la compétence {code}",
        "group": group,
        "weeks_3h": weeks_3h,
        "weeks_6h": weeks_6h,
    }


# -- holidays ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "year, easter",
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
    ],
)
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


def test_quebec_holidays_2026():
    assert quebec_holidays(2026) == {
        date(2026, 1, 1): "Jour de l’An",
        date(2026, 4, 3): "Vendredi saint",
        date(2026, 4, 6): "Lundi de Pâques",
        date(2026, 5, 18): "Journée nationale des patriotes",
        date(2026, 6, 24): "Fête nationale du Québec",
        date(2026, 7, 1): "Fête du Canada",
        date(2026, 9, 7): "Fête du Travail",
        date(2026, 10, 12): "Action de grâce",
        date(2026, 12, 25): "Noël",
    }


@pytest.mark.parametrize(
    "year, patriots",
    [
        (2024, date(2024, 5, 20)),
        (2025, date(2025, 5, 19)),
        (2026, date(2026, 5, 18)),
        (2027, date(2027, 5, 24)),
    ],
)
def test_patriots_day_is_the_monday_before_25_may(year, patriots):
    holidays = {name: day for day, name in quebec_holidays(year).items()}
    assert holidays["Journée nationale des patriotes"] == patriots
    assert patriots.weekday() == 0 and patriots < date(year, 5, 25)


def test_sunday_national_and_canada_days_move_to_monday():
    holidays = quebec_holidays(2029)  # 24 June and 1 July 2029 are Sundays
    assert holidays[date(2029, 6, 25)] == "Fête nationale du Québec"
    assert holidays[date(2029, 7, 2)] == "Fête du Canada"
    assert date(2029, 6, 24) not in holidays


def test_labour_day_and_thanksgiving():
    holidays = {name: day for day, name in quebec_holidays(2027).items()}
    assert holidays["Fête du Travail"] == date(2027, 9, 6)
    assert holidays["Action de grâce"] == date(2027, 10, 11)


def test_working_days_skip_weekends_holidays_and_closures():
    assert is_working_day(date(2026, 4, 2))
    assert not is_working_day(date(2026, 4, 3))  # Good Friday
    assert not is_working_day(date(2026, 4, 4))  # Saturday
    assert not is_working_day(date(2026, 4, 9), frozenset({date(2026, 4, 9)}))
    assert add_working_days(date(2026, 3, 30), 5) == date(2026, 4, 7)  # 3 and 6 April off


# -- units and calendars ---------------------------------------------------------------------


def test_grouped_competencies_form_one_unit_with_summed_weeks():
    units = evaluation_units(
        [
            competency("0190", 4, 2, "REG A"),
            competency("0192", 6, 3),
            competency("0191", 4, 2, "REG A"),
        ]
    )
    assert [u.codes for u in units] == [("0190", "0191"), ("0192",)]
    assert (units[0].weeks_3h, units[0].weeks_6h) == (8, 4)  # « REG A : 8 sem. / 4 sem. »
    assert units[0].label == "REG A (0190, 0191)"
    assert units[1].label.startswith("Compétence 0192 : ")


@pytest.mark.parametrize(
    "rhythm, end",
    [
        # 10 working days from Monday 30 March 2026, Good Friday and Easter Monday skipped.
        (3, date(2026, 4, 14)),
        # 5 working days: 30, 31 March, 1, 2 and 7 April.
        (6, date(2026, 4, 7)),
    ],
)
def test_a_holiday_pushes_the_end_of_an_evaluation(rhythm, end):
    units = evaluation_units([competency("01", 2, 1)])
    cal = candidate_calendar(units, rhythm, date(2026, 3, 30))
    [period] = cal.periods
    assert period.start == date(2026, 3, 30)
    assert period.end == end
    assert [d for d, _ in period.skipped] == [date(2026, 4, 3), date(2026, 4, 6)]


def test_same_period_without_holidays_ends_after_exactly_the_weeks():
    units = evaluation_units([competency("01", 2, 1)])
    cal = candidate_calendar(units, 3, date(2026, 3, 2))
    assert cal.periods[0].end == date(2026, 3, 13)  # two calendar weeks, Monday to Friday
    assert cal.periods[0].skipped == ()


def test_evaluations_follow_one_another_at_the_candidates_rhythm():
    units = evaluation_units([competency("01", 4, 2), competency("02", 2, 1)])
    at_three = candidate_calendar(units, 3, date(2026, 9, 1))
    at_six = candidate_calendar(units, 6, date(2026, 9, 1))
    # 4 weeks from Tuesday 1 September 2026, Labour Day (7 September) skipped.
    assert at_three.periods[0].end == date(2026, 9, 29)
    assert at_three.periods[1].start == date(2026, 9, 30)
    assert at_three.weeks == 6 and at_six.weeks == 3
    assert at_six.end < at_three.end


def test_a_start_on_a_holiday_or_weekend_begins_the_next_working_day():
    units = evaluation_units([competency("01", 1, 1)])
    cal = candidate_calendar(units, 6, date(2026, 12, 25))  # Christmas, a Friday
    assert cal.periods[0].start == date(2026, 12, 28)
    assert cal.periods[0].end == date(2027, 1, 4)  # 1 January skipped


def test_closure_dates_of_the_plan_are_skipped():
    units = evaluation_units([competency("01", 1, 1)])
    closures = [date(2026, 12, 28), date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    cal = candidate_calendar(units, 3, date(2026, 12, 21), closures)
    # 21-24 December (4 days), then 2 January 2027 is a Saturday: 4 January.
    assert cal.periods[0].end == date(2027, 1, 4)
    assert {r for _, r in cal.periods[0].skipped} == {"Noël", "Fermeture", "Jour de l’An"}


def test_rhythm_must_be_three_or_six_hours():
    with pytest.raises(ValueError):
        candidate_calendar(evaluation_units([competency("01", 1, 1)]), 4, date(2026, 1, 5))


def test_plan_duration_is_computed_from_competencies_and_candidates():
    units = evaluation_units(
        [competency("A1", 4, 2, "REG A"), competency("A2", 4, 2, "REG A"), competency("B", 6, 3)]
    )
    calendars = [
        candidate_calendar(units, 3, date(2026, 10, 5)),
        candidate_calendar(units, 6, date(2026, 11, 2)),
    ]
    duration = plan_duration(units, calendars)
    assert (duration.weeks_3h, duration.weeks_6h) == (14, 7)
    assert duration.weeks == 14  # the slowest candidate-worker
    assert duration.start == date(2026, 10, 5)
    assert duration.end == calendars[0].end
    assert duration.calendar_weeks >= 14


def test_duration_without_candidates_gives_both_rhythms_only():
    units = evaluation_units([competency("01", 8, 4)])
    duration = plan_duration(units, [])
    assert (duration.weeks_3h, duration.weeks_6h, duration.weeks) == (8, 4, None)
    assert duration.calendar_weeks is None
