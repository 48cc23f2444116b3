"""Calendars in iCalendar (RFC 5545): deadlines at a local moment with Montréal's
VTIMEZONE, whole-day periods with their exclusive end, stable UIDs, French text intact; and
the personal feed's signed token (gateway/auth.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar

from gateway.auth import InvalidToken, calendar_feed_token, read_calendar_feed_token
from rac_shared.clock import MONTREAL, clock, end_of_day
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery, key, window
from rac_shared.ical import calendar_file
from rac_shared.settings import Settings

DEADLINE = end_of_day(date(2026, 12, 12))  # in winter: UTC-5
SUMMER_DEADLINE = end_of_day(date(2026, 7, 3))  # in summer: UTC-4


def events() -> list[CalendarEvent]:
    return [
        CalendarEvent(
            uid="plan-3-v1-acceptation@plans.rac.quebec",
            title="Date limite d'acceptation du plan de mise en œuvre PMO-CLV-2026-001",
            start=DEADLINE.astimezone(MONTREAL).date(),
            at=DEADLINE,
            description="L'acceptation écrite du CISSS de Chaudière-Appalaches doit parvenir…",
            path="/plans/3",
        ),
        CalendarEvent(
            uid="plan-3-candidat-7-1@plans.rac.quebec",
            title="Évaluation C1 — Émilie Bédard",
            start=date(2026, 6, 22),
            end=date(2026, 7, 10),
            description="Jours non travaillés : 24 juin 2026 (Fête nationale du Québec).",
            path="/plans/3",
        ),
        CalendarEvent(
            uid="appel-1-depot@demandes.rac.quebec",
            title="Date limite de dépôt des demandes",
            start=date(2026, 7, 3),
            at=SUMMER_DEADLINE,
        ),
    ]


def parsed(content: bytes) -> Calendar:
    return Calendar.from_ical(content)


def test_a_deadline_is_a_local_moment_in_america_montreal_with_its_vtimezone():
    with clock.frozen_at(datetime(2026, 11, 20, 15, 0, tzinfo=UTC)):
        content = calendar_file("Plateforme RAC", events(), "https://rac.example")
    assert b"\r\n" in content and content.startswith(b"BEGIN:VCALENDAR")
    calendar = parsed(content)
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "America/Montreal"
    by_uid = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    deadline = by_uid["plan-3-v1-acceptation@plans.rac.quebec"]
    assert deadline["DTSTART"].params["TZID"] == "America/Montreal"
    start = deadline.decoded("DTSTART")
    assert (start.hour, start.minute) == (23, 59)
    assert start.utcoffset() == timedelta(hours=-5)
    call = by_uid["appel-1-depot@demandes.rac.quebec"]
    assert call.decoded("DTSTART").utcoffset() == timedelta(hours=-4)  # daylight time
    # The person's calendar application reminds them the day before.
    [alarm] = deadline.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(days=1)
    assert str(deadline["URL"]) == "https://rac.example/plans/3"
    assert deadline.decoded("DTSTAMP") == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_a_period_is_whole_days_whose_end_is_exclusive_and_text_stays_french():
    calendar = parsed(calendar_file("Plateforme RAC", events()))
    period = next(e for e in calendar.walk("VEVENT") if "candidat" in str(e["UID"]))
    assert period.decoded("DTSTART") == date(2026, 6, 22)
    assert period.decoded("DTEND") == date(2026, 7, 11)  # RFC 5545: the day after the last
    assert str(period["SUMMARY"]) == "Évaluation C1 — Émilie Bédard"
    assert "Fête nationale du Québec" in str(period["DESCRIPTION"])
    assert str(period["TRANSP"]) == "TRANSPARENT"
    assert "URL" not in period  # no public address given


def test_the_same_events_give_the_same_uids_and_an_empty_calendar_is_still_valid():
    first = {str(e["UID"]) for e in parsed(calendar_file("x", events())).walk("VEVENT")}
    second = {str(e["UID"]) for e in parsed(calendar_file("x", events())).walk("VEVENT")}
    assert first == second and len(first) == 3
    empty = parsed(calendar_file("Plateforme RAC", []))
    assert empty.walk("VEVENT") == [] and str(empty["VERSION"]) == "2.0"


def test_an_event_cannot_end_before_it_starts_and_a_query_reads_its_french_names():
    with pytest.raises(ValueError):
        CalendarEvent(uid="x", title="x", start=date(2026, 1, 2), end=date(2026, 1, 1))
    assert CalendarQuery.model_validate({"candidat": "7"}).candidate_id == 7
    assert CalendarQuery(plan_id=3).plan_id == 3


def test_a_window_keeps_the_dates_not_over_in_order_after_the_last_shown_page_by_page():
    deadline = datetime(2026, 3, 2, 4, 59, tzinfo=UTC)  # 23 h 59 on 1 March in Montréal
    days = [
        CalendarEvent(uid=f"e{n}", title=f"Période {n}", start=date(2026, 3, n % 3 + 1),
                      end=date(2026, 3, n % 3 + 2))
        for n in range(7)
    ]  # fmt: skip
    days.append(CalendarEvent(uid="d", title="Date limite", start=date(2026, 3, 1), at=deadline))
    ordered = window(days, CalendarQuery())
    assert [e.uid for e in ordered] == ["e0", "e3", "e6", "d", "e1", "e4", "e2", "e5"]
    # Whole days before a moment of the same day; since the 3rd: not over before the 3rd.
    assert [e.uid for e in window(days, CalendarQuery(since=date(2026, 3, 3)))] == [
        "e1", "e4", "e2", "e5"]  # fmt: skip
    pages, after = [], None
    while True:
        page = window(days, CalendarQuery(after=after, limit=3))
        if not page:
            break
        pages.append([e.uid for e in page])
        after = key(page[-1])
    assert pages == [["e0", "e3", "e6"], ["d", "e1", "e4"], ["e2", "e5"]]
    with pytest.raises(ValueError):
        CalendarQuery(limit=0)


SETTINGS = Settings(jwt_secret="a" * 40, jwt_key_id="k1")


def test_a_feed_token_names_its_user_and_generation_and_nothing_else_verifies():
    token = calendar_feed_token(SETTINGS, 42, 3)
    assert read_calendar_feed_token(SETTINGS, token) == (42, 3)
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        token.replace(".42.", ".43."),
        token.replace(".3.", ".4."),
        calendar_feed_token(Settings(jwt_secret="b" * 40, jwt_key_id="k1"), 42, 3),
        "",
        "k1.42",
    ]
    for candidate in forged:
        with pytest.raises(InvalidToken):
            read_calendar_feed_token(SETTINGS, candidate)
    # An unsubscribe link's MAC is bound to its purpose: it never opens a calendar.
    from gateway.auth import unsubscribe_token

    body, _, mac = unsubscribe_token(SETTINGS, 42, "optional_reminders").rpartition(".")
    with pytest.raises(InvalidToken):
        read_calendar_feed_token(SETTINGS, f"k1.42.3.{mac}")
