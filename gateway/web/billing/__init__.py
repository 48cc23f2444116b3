"""Invoices, payments, credit notes, statements, the aging report and the costs incurred on a
cancelled plan: pages and JSON API."""

from gateway.web.billing import api, pages  # noqa: F401  (registers the routes)
