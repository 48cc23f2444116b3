"""Expected access to the audit trail, for the authorization matrix
(``test_authorization_matrix.py`` merges these rows).

The journal, its CSV export, each object's history and their API are for the ministry's
administration and analysts (200; an unknown kind of object: 404); everyone else gets 403,
anonymous users the login page (401 on the API).
"""

from __future__ import annotations

from rac_shared.actor import Role

READERS = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})

# (endpoint, method): (path, status for a reader)
ROUTES = {
    ("journal_page", "GET"): ("/journal", 200),
    ("journal_csv", "GET"): ("/journal.csv", 200),
    ("history_page", "GET"): ("/historique/application/1", 200),
    ("api_journal", "GET"): ("/api/audit/journal", 200),
    ("api_history", "GET"): ("/api/audit/history/facture/1", 404),
}


def audit_rows(row_cls, outcome_cls) -> dict:
    return {
        key: row_cls(path, allowed=READERS, granted=outcome_cls(status))
        for key, (path, status) in ROUTES.items()
    }
