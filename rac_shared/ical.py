"""iCalendar (RFC 5545) files of the platform's dates, with the ``icalendar`` package.

Whole days (a candidate-worker's evaluation period, an installment's due date) are
``DATE`` values, the end exclusive as the RFC wants; a deadline at a moment (the end of the
30th day after a plan's issue) is a local time in America/Montreal, and the file carries
that zone's ``VTIMEZONE`` so that every calendar shows it at the same local hour. Each event's
``UID`` is stable (the service's), so subscribing again or downloading the file again
updates events instead of adding copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from icalendar import Alarm, Calendar, Event

from rac_shared.clock import clock, local
from rac_shared.contracts.calendar import CalendarEvent

PRODUCT = "-//Ministère de l'Enseignement supérieur du Québec//Plateforme RAC//FR"
TIME_ZONE = "America/Montreal"
MIME = "text/calendar"
# A deadline's reminder in the person's calendar application, besides the platform's e-mails.
DEADLINE_ALARM = timedelta(days=1)


def calendar_file(name: str, events: Iterable[CalendarEvent], public_url: str = "") -> bytes:
    """The events as one VCALENDAR (UTF-8, CRLF line ends, folded lines)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", TIME_ZONE)
    stamp = clock.now().replace(microsecond=0)
    days = []
    for item in sorted(events, key=lambda e: (e.start, e.uid)):
        calendar.add_component(_event(item, stamp, public_url))
        days.append(item.start)
    if days:
        # The zone's rules for the years the events span (a short VTIMEZONE), not 1970-2038.
        first, last = min(days), max(days)
        calendar.add_missing_timezones(
            first_date=first.replace(month=1, day=1), last_date=last.replace(year=last.year + 1)
        )
    return calendar.to_ical()


def _event(item: CalendarEvent, stamp, public_url: str) -> Event:
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", stamp)
    event.add("summary", item.title)
    if item.at is not None:
        moment = local(item.at).replace(second=0, microsecond=0)
        event.add("dtstart", moment)
        event.add("dtend", moment)
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", item.title)
        alarm.add("trigger", -DEADLINE_ALARM)
        event.add_component(alarm)
    else:
        event.add("dtstart", item.start)
        event.add("dtend", (item.end or item.start) + timedelta(days=1))
        event.add("transp", "TRANSPARENT")  # a period of evaluations does not make one busy
    if item.description:
        event.add("description", item.description)
    if item.path and public_url:
        event.add("url", f"{public_url.rstrip('/')}{item.path}")
    return event
