"""Calendars: the personal page and feed, and each plan's, candidate-worker's and call's
dates as iCalendar downloads."""

from gateway.web.calendars import pages  # noqa: F401  (registers the routes)
