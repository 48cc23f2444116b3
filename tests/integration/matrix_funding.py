"""Expected access to the funding routes of designated CERACs (``/financement``,
``/api/funding``), for the authorization matrix (``test_authorization_matrix.py`` merges
these rows).

Ids are ``{missing}``: a role allowed by the route reaches the billing service, which answers
404 (another CERAC's statement or project is "not found" the same way); a role not allowed
gets 403 from the gateway (employers everywhere, evaluators and institutions on what the
ministry's administrators and analysts manage); anonymous users go to the login page (401 on
the API). The overview answers 200 to every reader: the ministry sees every CERAC, an
institution only its own (none for an institution that is not a CERAC). The project form
posted empty is re-rendered with its errors (422). API routes with a JSON body answer 415
when called without one.
"""

from __future__ import annotations

from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES, Role

READERS = MINISTRY_ROLES | INSTITUTION_ROLES
MANAGERS = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES

C = "/financement/ceracs/{missing}"
P = "/financement/projets/{missing}"
A = "/financement/allocations/{missing}"
AC = "/api/funding/ceracs/{missing}"
AP = "/api/funding/projects/{missing}"
PAY = {"paid_on": "2026-01-15", "reference": "VIR-TEST"}
# A schedule's rows are named by their path in the contract (items.N.…).
SCHEDULE = {
    "items.0.due_on": "2026-06-01",
    "items.0.amount": "1000",
    "items.0.hold_report_year": "",
}

# (endpoint, method): (path, allowed roles, status for an allowed role, form fields)
ROUTES = {
    # -- pages ------------------------------------------------------------------------------
    ("funding_page", "GET"): ("/financement", READERS, 200, {}),
    ("funding_allocations_page", "GET"): ("/financement/allocations", READERS, 200, {}),
    ("funding_allocations_csv", "GET"): ("/financement/allocations/liste.csv", READERS, 200, {}),
    ("funding_allocations_xlsx", "GET"): ("/financement/allocations/liste.xlsx", READERS, 200, {}),
    ("funding_cerac_page", "GET"): (C, READERS, 404, {}),
    ("funding_statement_csv", "GET"): (f"{C}/releve.csv", READERS, 404, {}),
    ("funding_statement_pdf", "GET"): (f"{C}/releve.pdf", READERS, 404, {}),
    ("funding_allocate", "POST"): (
        f"{C}/allocations",
        MANAGERS,
        404,
        {"fiscal_year": "2026-2027", "amount": "1000"},
    ),
    ("funding_project_form", "GET"): ("/financement/projets/nouveau", INSTITUTIONS, 200, {}),
    ("funding_submit_project", "POST"): ("/financement/projets", INSTITUTIONS, 422, {}),
    ("funding_project_page", "GET"): (P, READERS, 404, {}),
    ("funding_decide", "POST"): (f"{P}/decision", MANAGERS, 404, {"decision": "approved"}),
    ("funding_allocation_page", "GET"): (A, READERS, 404, {}),
    ("funding_allocation_schedule", "POST"): (
        f"{A}/echeancier",
        MANAGERS,
        404,
        SCHEDULE,
    ),
    ("funding_project_schedule", "POST"): (
        f"{P}/echeancier",
        MANAGERS,
        404,
        SCHEDULE,
    ),
    ("funding_pay", "POST"): ("/financement/versements/{missing}/paiement", MANAGERS, 404, PAY),
    # -- API --------------------------------------------------------------------------------
    ("api_funding_overview", "GET"): ("/api/funding/ceracs", READERS, 200, {}),
    ("api_funding_figures", "GET"): ("/api/funding/figures", MINISTRY_ROLES, 200, {}),
    ("api_funding_allocations", "GET"): ("/api/funding/allocations", READERS, 200, {}),
    ("api_funding_statement", "GET"): (f"{AC}/statement", READERS, 404, {}),
    ("api_funding_allocate", "POST"): (f"{AC}/allocations", MANAGERS, 415, {}),
    ("api_funding_submit_project", "POST"): ("/api/funding/projects", INSTITUTIONS, 415, {}),
    ("api_funding_project", "GET"): (AP, READERS, 404, {}),
    ("api_funding_decide", "POST"): (f"{AP}/decision", MANAGERS, 415, {}),
    ("api_funding_allocation_schedule", "PUT"): (
        "/api/funding/allocations/{missing}/schedule",
        MANAGERS,
        415,
        {},
    ),
    ("api_funding_project_schedule", "PUT"): (f"{AP}/schedule", MANAGERS, 415, {}),
    ("api_funding_pay", "POST"): (
        "/api/funding/disbursements/{missing}/payment",
        MANAGERS,
        415,
        {},
    ),
}


def funding_rows(row_cls, outcome_cls) -> dict:
    """The rows above as the matrix's ``Row`` objects."""
    return {
        key: row_cls(path, allowed=allowed, granted=outcome_cls(status), form=form)
        for key, (path, allowed, status, form) in ROUTES.items()
    }
