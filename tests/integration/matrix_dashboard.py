"""Expected access to the ministry's network dashboard, for the authorization matrix
(``test_authorization_matrix.py`` merges these rows).

Only the ministry's roles open the dashboard, its CSV exports and its JSON API (200);
institutions and employers get 403 from the gateway; anonymous users go to the login page
(401 on the API).
"""

from __future__ import annotations

from rac_shared.actor import MINISTRY_ROLES

# (endpoint, method): (path, allowed roles, status for an allowed role)
ROUTES = {
    ("dashboard_page", "GET"): ("/tableau-de-bord", MINISTRY_ROLES, 200),
    ("dashboard_csv", "GET"): ("/tableau-de-bord/plans.csv", MINISTRY_ROLES, 200),
    ("api_dashboard", "GET"): ("/api/dashboard", MINISTRY_ROLES, 200),
}


def dashboard_rows(row_cls, outcome_cls) -> dict:
    """The rows above as the matrix's ``Row`` objects."""
    return {
        key: row_cls(path, allowed=allowed, granted=outcome_cls(status))
        for key, (path, allowed, status) in ROUTES.items()
    }
