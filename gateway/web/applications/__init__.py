"""Calls for interest and CERAC applications: pages and JSON API."""

from gateway.web.applications import api, pages  # noqa: F401  (registers the routes)
