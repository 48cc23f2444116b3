"""Expected access to the routes of the evaluation and the designation of CERACs, for the
authorization matrix (``test_authorization_matrix.py`` merges these rows).

Ids are ``{missing}``: a role allowed by the route reaches the service, which answers 404;
a role not allowed gets 403 from the gateway; anonymous users are sent to the login page
(401 on the API). API routes with a JSON body answer 415 when called without one, before
any service call; the evaluator's conflict form posted empty is re-rendered (422).
"""

from __future__ import annotations

from rac_shared.actor import INSTITUTION_ROLES, Role

ADMIN = frozenset({Role.MINISTRY_ADMIN})
STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
EVALUATORS = frozenset({Role.MINISTRY_EVALUATOR, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES
LETTER_READERS = STAFF | INSTITUTIONS
LINK_EDITORS = EVALUATORS | ADMIN

C = "/comites/{missing}"
E = f"{C}/evaluations/{{missing}}"
AE = "/api/scoring/evaluations/{missing}"
AC = "/api/scoring/committees/{missing}"

# (endpoint, method): (path, allowed roles, status for an allowed role)
ROUTES = {
    # -- pages: evaluators ----------------------------------------------------------------
    ("scoring_workspace", "GET"): ("/evaluations", EVALUATORS, 200),
    ("scoring_declare_conflict", "POST"): ("/evaluations/conflits", EVALUATORS, 422),
    ("scoring_form", "GET"): ("/evaluations/{missing}", EVALUATORS, 404),
    ("scoring_declare_link", "POST"): ("/evaluations/liens", EVALUATORS, 422),
    ("scoring_remove_own_link", "POST"): ("/evaluations/liens/{missing}/retirer", EVALUATORS, 404),
    ("scoring_remove_own_link_confirm", "GET"): (
        "/evaluations/liens/{missing}/retirer",
        EVALUATORS,
        200,
    ),
    ("scoring_save", "POST"): ("/evaluations/{missing}", EVALUATORS, 404),
    # -- pages: the committee ---------------------------------------------------------------
    ("scoring_committees", "GET"): ("/comites", STAFF, 200),
    ("scoring_committee", "GET"): (C, STAFF, 404),
    ("scoring_parameters", "POST"): (f"{C}/parametres", ADMIN, 404),
    ("scoring_add_member", "POST"): (f"{C}/membres", ADMIN, 404),
    ("scoring_remove_member", "POST"): (f"{C}/membres/1/retirer", ADMIN, 404),
    # A removal's confirmation step asks no service: it only says what will happen.
    ("scoring_remove_member_confirm", "GET"): (f"{C}/membres/1/retirer", ADMIN, 200),
    ("scoring_record_conflict", "POST"): (f"{C}/conflits", ADMIN, 404),
    ("scoring_assign", "POST"): (f"{E}/affectations", ADMIN, 404),
    ("scoring_record_link", "POST"): (f"{C}/liens", ADMIN, 404),
    ("scoring_remove_link", "POST"): (f"{C}/liens/{{missing}}/retirer", ADMIN, 404),
    ("scoring_remove_link_confirm", "GET"): (f"{C}/liens/{{missing}}/retirer", ADMIN, 200),
    ("scoring_bulk_assignment", "GET"): (f"{C}/affectations", ADMIN, 404),
    ("scoring_assign_in_bulk", "POST"): (f"{C}/affectations", ADMIN, 404),
    ("scoring_unassign", "POST"): (f"{E}/affectations/1/retirer", ADMIN, 404),
    ("scoring_unassign_confirm", "GET"): (f"{E}/affectations/1/retirer", ADMIN, 200),
    ("scoring_reopen", "POST"): (f"{E}/rouvrir", ADMIN, 404),
    ("scoring_consensus", "POST"): (f"{E}/consensus", ADMIN, 404),
    ("scoring_committee_csv", "GET"): (f"{C}/matrice.csv", STAFF, 404),
    ("scoring_committee_pdf", "GET"): (f"{C}/rapport.pdf", STAFF, 404),
    ("scoring_designation_page", "GET"): (f"{C}/designation", STAFF, 404),
    ("scoring_recommend", "POST"): (f"{C}/recommandation", ADMIN, 404),
    ("scoring_decide", "POST"): (f"{C}/designation", ADMIN, 404),
    ("scoring_letter", "GET"): ("/lettres/{missing}.pdf", LETTER_READERS, 404),
    ("scoring_results", "GET"): ("/resultats", INSTITUTIONS, 200),
    ("scoring_ministries", "GET"): ("/comites/ministeres", STAFF, 200),
    ("scoring_save_ministry", "POST"): ("/comites/ministeres", ADMIN, 422),
    ("scoring_remove_ministry", "POST"): ("/comites/ministeres/retirer", ADMIN, 422),
    # Its confirmation step names the period in its query string (none here: 422).
    ("scoring_remove_ministry_confirm", "GET"): ("/comites/ministeres/retirer", ADMIN, 422),
    # -- API ------------------------------------------------------------------------------
    ("api_scoring_workspace", "GET"): ("/api/scoring/evaluations", EVALUATORS, 200),
    ("api_scoring_ministries", "GET"): ("/api/scoring/ministries", STAFF, 200),
    ("api_scoring_save_ministry", "PUT"): ("/api/scoring/ministries", ADMIN, 415),
    ("api_scoring_assignment", "GET"): (AE, EVALUATORS, 404),
    ("api_scoring_save", "PUT"): (f"{AE}/scores", EVALUATORS, 415),
    ("api_scoring_declare_conflict", "POST"): (f"{AC}/my-conflicts", EVALUATORS, 415),
    ("api_scoring_committees", "GET"): ("/api/scoring/committees", STAFF, 200),
    ("api_scoring_committee", "GET"): (AC, STAFF, 404),
    ("api_scoring_parameters", "PUT"): (f"{AC}/parameters", ADMIN, 415),
    ("api_scoring_add_member", "POST"): (f"{AC}/members", ADMIN, 415),
    ("api_scoring_record_conflict", "POST"): (f"{AC}/conflicts", ADMIN, 415),
    ("api_scoring_assign", "POST"): (f"{AE}/assignments", ADMIN, 415),
    ("api_scoring_declare_link", "POST"): ("/api/scoring/links", LINK_EDITORS, 415),
    ("api_scoring_remove_link", "DELETE"): ("/api/scoring/links/{missing}", LINK_EDITORS, 404),
    ("api_scoring_proposal", "GET"): (f"{AC}/assignment-proposal", ADMIN, 404),
    ("api_scoring_bulk_assign", "POST"): (f"{AC}/bulk-assignments", ADMIN, 415),
    ("api_scoring_unassign", "DELETE"): (f"{AE}/assignments/1", ADMIN, 404),
    ("api_scoring_reopen", "POST"): (f"{AE}/reopen", ADMIN, 415),
    ("api_scoring_consensus", "POST"): (f"{AE}/consensus", ADMIN, 415),
    ("api_scoring_recommend", "POST"): (f"{AC}/recommendations", ADMIN, 415),
    ("api_scoring_decide", "POST"): (f"{AE}/decision", ADMIN, 415),
    ("api_scoring_committee_csv", "GET"): (f"{AC}/matrix.csv", STAFF, 404),
    ("api_scoring_letter", "GET"): (f"{AE}/letter", LETTER_READERS, 404),
    ("api_scoring_results", "GET"): ("/api/scoring/results", INSTITUTIONS, 200),
}


def scoring_rows(row_cls, outcome_cls) -> dict:
    """The rows above as the matrix's ``Row`` objects."""
    return {
        key: row_cls(path, allowed=allowed, granted=outcome_cls(status))
        for key, (path, allowed, status) in ROUTES.items()
    }
