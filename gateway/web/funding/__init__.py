"""Funding of designated CERACs (served by the billing service): pages and JSON API."""

from gateway.web.funding import api, pages  # noqa: F401  (registers the routes)
