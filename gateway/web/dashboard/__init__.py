"""The ministry's network dashboard: its figures and its pages."""

from gateway.web.dashboard import pages  # noqa: F401  (registers the routes)
