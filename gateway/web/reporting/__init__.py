"""Reddition de comptes of the CERACs and special mandates: pages and JSON API."""

from gateway.web.reporting import api, pages  # noqa: F401  (registers the routes)
