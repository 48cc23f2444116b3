"""Workplace RAC implementation plans: pages, billing's estimate editor and JSON API."""

from gateway.web.plans import api, estimate, pages, privacy  # noqa: F401  (registers the routes)
