"""Expected access to the network of CERACs and to the reddition de comptes (reports,
special mandates, due dates), for the authorization matrix (``test_authorization_matrix.py``
merges these).

Ids are ``{missing}``: a role allowed by the route reaches the applications service, which
answers 404 (another CERAC's report or incoming support request is "not found" the same
way); a role not allowed gets 403 from the gateway (employers everywhere here; the
evaluator on reports); anonymous users go to the login page (401 on the API). API routes
with a JSON body answer 415 without one; the due-date and mandate forms answer 422 when
posted empty; the API upload answers 422 without a file.
"""

from __future__ import annotations

from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES, Role

AREA = MINISTRY_ROLES | INSTITUTION_ROLES
INSTITUTIONS = INSTITUTION_ROLES
STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
ADMIN = frozenset({Role.MINISTRY_ADMIN})
REPORTING = STAFF | INSTITUTION_ROLES

R = "/redditions/{missing}"
AR = "/api/reporting/reports/{missing}"
AC = "/api/network/ceracs/{missing}"

# (endpoint, method): (path, allowed roles, status for an allowed role)
ROUTES = {
    # -- network: pages ---------------------------------------------------------------------
    ("network_page", "GET"): ("/reseau", AREA, 200),
    ("network_csv", "GET"): ("/reseau/liste.csv", AREA, 200),
    ("network_xlsx", "GET"): ("/reseau/liste.xlsx", AREA, 200),
    ("cerac_page", "GET"): ("/reseau/{missing}", AREA, 404),
    ("send_support_request", "POST"): ("/reseau/{missing}/demandes", INSTITUTIONS, 404),
    ("save_competences", "POST"): ("/reseau/{missing}/domaines", INSTITUTIONS, 404),
    ("support_requests_page", "GET"): ("/reseau/demandes", INSTITUTIONS, 200),
    ("answer_support_request", "POST"): (
        "/reseau/demandes/{missing}/reponse",
        INSTITUTIONS,
        404,
    ),
    # -- network: API -----------------------------------------------------------------------
    ("api_network", "GET"): ("/api/network/ceracs", AREA, 200),
    ("api_cerac", "GET"): (AC, AREA, 404),
    ("api_cerac_competences", "PUT"): (f"{AC}/competences", INSTITUTIONS, 415),
    ("api_request_support", "POST"): (f"{AC}/support-requests", INSTITUTIONS, 415),
    ("api_support_requests", "GET"): ("/api/network/support-requests", INSTITUTIONS, 200),
    ("api_answer_support", "POST"): (
        "/api/network/support-requests/{missing}/answer",
        INSTITUTIONS,
        415,
    ),
    # -- reporting: pages -------------------------------------------------------------------
    ("reporting_page", "GET"): ("/redditions", REPORTING, 200),
    ("reports_csv", "GET"): ("/redditions/liste.csv", REPORTING, 200),
    ("reports_xlsx", "GET"): ("/redditions/liste.xlsx", REPORTING, 200),
    ("reporting_set_deadline", "POST"): ("/redditions/echeances", STAFF, 422),
    ("special_mandate_form", "GET"): ("/redditions/mandats/nouveau", ADMIN, 200),
    ("special_mandate_assign", "POST"): ("/redditions/mandats", ADMIN, 422),
    ("report_page", "GET"): (R, REPORTING, 404),
    ("report_edit_form", "GET"): (f"{R}/modifier", INSTITUTIONS, 404),
    ("report_save", "POST"): (f"{R}/modifier", INSTITUTIONS, 404),
    ("report_submit", "POST"): (f"{R}/soumettre", INSTITUTIONS, 404),
    ("report_upload", "POST"): (f"{R}/pieces", INSTITUTIONS, 404),
    ("report_attachment", "GET"): (f"{R}/pieces/{{missing}}", REPORTING, 404),
    ("report_delete_attachment", "POST"): (f"{R}/pieces/{{missing}}/supprimer", INSTITUTIONS, 404),
    # Its confirmation step asks no service: it only says what will happen.
    ("report_delete_attachment_confirm", "GET"): (
        f"{R}/pieces/{{missing}}/supprimer",
        INSTITUTIONS,
        200,
    ),
    ("report_review", "POST"): (f"{R}/revue", STAFF, 404),
    ("report_version_page", "GET"): (f"{R}/versions/1", REPORTING, 404),
    # -- reporting: API ---------------------------------------------------------------------
    ("api_reports", "GET"): ("/api/reporting/reports", REPORTING, 200),
    ("api_report", "GET"): (AR, REPORTING, 404),
    ("api_report_save", "PUT"): (AR, INSTITUTIONS, 415),
    ("api_report_submit", "POST"): (f"{AR}/submit", INSTITUTIONS, 404),
    ("api_report_review", "POST"): (f"{AR}/review", STAFF, 415),
    ("api_report_version", "GET"): (f"{AR}/versions/1", REPORTING, 404),
    ("api_report_upload", "POST"): (f"{AR}/attachments", INSTITUTIONS, 422),
    ("api_report_attachment", "GET"): (f"{AR}/attachments/{{missing}}", REPORTING, 404),
    ("api_report_delete_attachment", "DELETE"): (
        f"{AR}/attachments/{{missing}}",
        INSTITUTIONS,
        404,
    ),
    ("api_reporting_deadline", "PUT"): ("/api/reporting/deadlines", STAFF, 415),
    ("api_special_mandate_assign", "POST"): ("/api/reporting/special-mandates", ADMIN, 415),
    ("api_reporting_figures", "GET"): ("/api/reporting/figures", MINISTRY_ROLES, 200),
}


def reporting_rows(row_cls, outcome_cls) -> dict:
    """The rows above as the matrix's ``Row`` objects."""
    return {
        key: row_cls(path, allowed=allowed, granted=outcome_cls(status))
        for key, (path, allowed, status) in ROUTES.items()
    }
