"""The network of CERACs and support requests: pages and JSON API."""

from gateway.web.network import api, pages  # noqa: F401  (registers the routes)
