"""The audit trail: the ministry's journal, its CSV export, and each object's history."""

from gateway.web.audit import api, pages  # noqa: F401  (registers the routes)
