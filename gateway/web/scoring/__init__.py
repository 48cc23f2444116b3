"""Evaluation of CERAC applications and the minister's designation: pages and JSON API."""

from gateway.web.scoring import api, pages  # noqa: F401  (registers the routes)
