"""The « Calendrier » page a page of dates at a time: an institution with thousands of running
plans has thousands of evaluation periods to come; the page asks each service for the next
page's worth from today (``CalendarQuery``: since, after, limit) and links to the next one."""

from __future__ import annotations

import re
from contextlib import nullcontext
from datetime import timedelta
from html import unescape

import pytest

from gateway import calendar_feeds
from gateway.web.calendars.pages import PAGE_SIZE
from rac_shared.clock import clock
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery, window
from services.applications.testing import LEVIS_RAC
from tests.support.pages import Browser


class Dates:
    """Stands in for the RPC client: the plans service has ``count`` dates to come (and some
    over already), the others none; each answers the query's window, as the services do."""

    def __init__(self, count: int):
        today = clock.today()
        self.events = [
            CalendarEvent(uid=f"p{n:04d}", title=f"Évaluation n° {n}",
                          start=today + timedelta(n // 10))
            for n in range(-20, count)
        ]  # fmt: skip
        self.queries: list[tuple[str, CalendarQuery]] = []

    def call(self, service, method, correlation_id=None, timeout=None, raw=False, **kwargs):
        assert method == "calendar", method
        query = CalendarQuery.model_validate(kwargs["query"])
        self.queries.append((service, query))
        events = self.events if service == "plans" else []
        return [event.model_dump(mode="json") for event in window(events, query)]

    def parallel(self, calls):
        return {key: call() for key, call in calls.items()}


@pytest.fixture
def browser(monkeypatch):
    monkeypatch.setattr(calendar_feeds, "live", lambda session, user_id: None)
    rpc = Dates(250)
    client = Browser(rpc, LEVIS_RAC)
    client.app.session_factory = nullcontext  # the feed's row, not the subject here
    return client, rpc


def rows(html: str) -> list[str]:
    return re.findall(r"Évaluation n° (\d+)", unescape(html))


def test_the_calendar_shows_a_page_of_dates_to_come_then_the_next(browser):
    client, rpc = browser
    first = client.get("/calendrier")
    assert first.status_code == 200
    assert rows(first.html) == [str(n) for n in range(PAGE_SIZE)]  # none over, in order
    queries = {service: query for service, query in rpc.queries}
    assert set(queries) == {"applications", "plans", "billing"}
    assert all(q.since == clock.today() and q.limit == PAGE_SIZE + 1 for q in queries.values())
    next_url = unescape(re.search(r'href="([^"]+)" rel="next"', first.html).group(1))

    rpc.queries.clear()
    second = client.get(next_url)
    assert rows(second.html) == [str(n) for n in range(PAGE_SIZE, 2 * PAGE_SIZE)]
    assert all(q.after == "p0099" or q.after.endswith("~p0099") for _, q in rpc.queries)
    assert 'href="/calendrier">Premières échéances' in second.html
    third = client.get(unescape(re.search(r'href="([^"]+)" rel="next"', second.html).group(1)))
    assert rows(third.html) == [str(n) for n in range(2 * PAGE_SIZE, 250)]
    assert 'rel="next"' not in third.html


def test_a_cursor_that_is_not_one_is_refused_in_french(browser):
    client, _ = browser
    refused = client.get("/calendrier?apres=" + "x" * 401)
    assert refused.status_code == 422 and "Ce texte est trop long" in refused.html
