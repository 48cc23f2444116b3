"""Expected access to the routes of calls for interest and applications, for the
authorization matrix (``test_authorization_matrix.py`` merges these rows).

Ids are ``{missing}``: a role allowed by the route reaches the service, which answers
404; a role not allowed gets 403 from the gateway; anonymous users are sent to the login
page (401 on the API). API routes with a JSON body answer 415 when called without one, and
upload routes 422 without a file, before any service call.
"""

from __future__ import annotations

from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES, Role

AREA = MINISTRY_ROLES | INSTITUTION_ROLES
ADMIN = frozenset({Role.MINISTRY_ADMIN})
STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES

C = "/appels/{missing}"
D = "/demandes/{missing}"
AC = "/api/calls/{missing}"
AD = "/api/applications/{missing}"

# (endpoint, method): (path, allowed roles, status for an allowed role)
ROUTES = {
    # -- pages: calls ---------------------------------------------------------------------
    ("calls_page", "GET"): ("/appels", AREA, 200),
    ("call_new_form", "GET"): ("/appels/nouveau", ADMIN, 200),
    ("call_create", "POST"): ("/appels/nouveau", ADMIN, 422),  # empty form: re-rendered
    ("call_page", "GET"): (C, AREA, 404),
    ("call_update", "POST"): (f"{C}/modifier", ADMIN, 404),
    ("call_add_section", "POST"): (f"{C}/sections", ADMIN, 404),
    ("call_delete_section", "POST"): (f"{C}/sections/1/supprimer", ADMIN, 404),
    # A removal's confirmation step asks no service: it only says what will happen.
    ("call_delete_section_confirm", "GET"): (f"{C}/sections/1/supprimer", ADMIN, 200),
    ("call_move_section", "POST"): (f"{C}/sections/1/deplacer", ADMIN, 404),
    ("call_add_question", "POST"): (f"{C}/sections/1/questions", ADMIN, 404),
    ("call_delete_question", "POST"): (f"{C}/sections/1/questions/1/supprimer", ADMIN, 404),
    ("call_delete_question_confirm", "GET"): (f"{C}/sections/1/questions/1/supprimer", ADMIN, 200),
    ("call_set_grid", "POST"): (f"{C}/grille", ADMIN, 404),
    ("call_upload_guide", "POST"): (f"{C}/guide", ADMIN, 404),
    ("call_guide_download", "GET"): (f"{C}/guide", AREA, 404),
    ("call_publish", "POST"): (f"{C}/publier", ADMIN, 404),
    ("call_close", "POST"): (f"{C}/fermer", ADMIN, 404),
    ("call_close_confirm", "GET"): (f"{C}/fermer", ADMIN, 200),
    ("call_amend", "POST"): (f"{C}/modificatifs", ADMIN, 404),
    ("call_applications_page", "GET"): (f"{C}/demandes", STAFF, 404),
    ("bulk_admissibility_confirm", "GET"): (f"{C}/demandes/recevabilite", STAFF, 404),
    ("bulk_admissibility_decide", "POST"): (f"{C}/demandes/recevabilite", STAFF, 404),
    ("call_applications_csv", "GET"): (f"{C}/demandes.csv", STAFF, 404),
    ("call_applications_xlsx", "GET"): (f"{C}/demandes.xlsx", STAFF, 404),
    # -- pages: applications --------------------------------------------------------------
    ("application_open", "POST"): (f"{C}/demande", INSTITUTIONS, 404),
    ("application_page", "GET"): (D, AREA, 404),
    ("application_section_form", "GET"): (f"{D}/sections/1", INSTITUTIONS, 404),
    ("application_section_save", "POST"): (f"{D}/sections/1", INSTITUTIONS, 404),
    ("application_upload", "POST"): (f"{D}/pieces", INSTITUTIONS, 404),
    ("application_attachment", "GET"): (f"{D}/pieces/1", AREA, 404),
    ("application_delete_attachment", "POST"): (f"{D}/pieces/1/supprimer", INSTITUTIONS, 404),
    ("application_delete_attachment_confirm", "GET"): (
        f"{D}/pieces/1/supprimer",
        INSTITUTIONS,
        200,
    ),
    ("application_sign", "POST"): (f"{D}/signer", INSTITUTIONS, 404),
    ("application_submit", "POST"): (f"{D}/deposer", INSTITUTIONS, 404),
    ("application_withdraw", "POST"): (f"{D}/retirer", INSTITUTIONS, 404),
    ("application_withdraw_confirm", "GET"): (f"{D}/retirer", INSTITUTIONS, 200),
    ("application_reopen", "POST"): (f"{D}/rouvrir", INSTITUTIONS, 404),
    ("application_receipt", "GET"): (f"{D}/accuse-reception.pdf", AREA, 404),
    ("application_receipt_state", "GET"): (f"{D}/accuse-reception/etat", AREA, 404),
    ("application_paper", "POST"): (f"{D}/copie-papier", STAFF, 404),
    ("application_review_rule", "POST"): (f"{D}/recevabilite/deposit", STAFF, 404),
    ("application_decide", "POST"): (f"{D}/recevabilite", STAFF, 404),
    # The « demande de compléments »: the ministry's staff ask, extend and resume; only the
    # applying institution's people provide the items and answer.
    ("application_request_complements", "POST"): (f"{D}/complements", STAFF, 404),
    ("application_extend_complements", "POST"): (f"{D}/complements/delai", STAFF, 404),
    ("application_resume", "POST"): (f"{D}/complements/reprendre", STAFF, 404),
    ("application_complement_answer", "POST"): (f"{D}/complements/elements/1", INSTITUTIONS, 404),
    ("application_complement_document", "POST"): (
        f"{D}/complements/elements/1/fichier",
        INSTITUTIONS,
        404,
    ),
    ("application_complement_sign", "POST"): (
        f"{D}/complements/elements/1/signer",
        INSTITUTIONS,
        404,
    ),
    ("application_answer_complements", "POST"): (f"{D}/complements/reponse", INSTITUTIONS, 404),
    # -- API: calls -----------------------------------------------------------------------
    ("api_calls", "GET"): ("/api/calls", AREA, 200),
    ("api_call_create", "POST"): ("/api/calls", ADMIN, 415),
    ("api_call", "GET"): (AC, AREA, 404),
    ("api_call_update", "PUT"): (AC, ADMIN, 415),
    ("api_call_add_section", "POST"): (f"{AC}/sections", ADMIN, 415),
    ("api_call_add_question", "POST"): (f"{AC}/sections/1/questions", ADMIN, 415),
    ("api_call_criteria", "PUT"): (f"{AC}/criteria", ADMIN, 415),
    ("api_call_guide_upload", "POST"): (f"{AC}/guide", ADMIN, 422),
    ("api_call_guide", "GET"): (f"{AC}/guide", AREA, 404),
    ("api_call_publish", "POST"): (f"{AC}/publish", ADMIN, 404),
    ("api_call_close", "POST"): (f"{AC}/close", ADMIN, 404),
    ("api_call_amend", "POST"): (f"{AC}/amendments", ADMIN, 415),
    ("api_call_applications", "GET"): (f"{AC}/applications", STAFF, 404),
    ("api_call_applications_csv", "GET"): (f"{AC}/applications.csv", STAFF, 404),
    ("api_call_applications_xlsx", "GET"): (f"{AC}/applications.xlsx", STAFF, 404),
    # -- API: applications ----------------------------------------------------------------
    ("api_application_open", "POST"): (f"{AC}/applications", INSTITUTIONS, 404),
    ("api_application", "GET"): (AD, AREA, 404),
    ("api_application_answers", "PUT"): (f"{AD}/sections/1", INSTITUTIONS, 415),
    ("api_application_upload", "POST"): (f"{AD}/attachments", INSTITUTIONS, 422),
    ("api_application_attachment", "GET"): (f"{AD}/attachments/1", AREA, 404),
    ("api_application_delete_attachment", "DELETE"): (f"{AD}/attachments/1", INSTITUTIONS, 404),
    ("api_application_sign", "POST"): (f"{AD}/sign", INSTITUTIONS, 404),
    ("api_application_submit", "POST"): (f"{AD}/submit", INSTITUTIONS, 404),
    ("api_application_withdraw", "POST"): (f"{AD}/withdraw", INSTITUTIONS, 404),
    ("api_application_reopen", "POST"): (f"{AD}/reopen", INSTITUTIONS, 404),
    ("api_application_receipt", "GET"): (f"{AD}/receipt", AREA, 404),
    ("api_application_paper", "POST"): (f"{AD}/paper-receipt", STAFF, 415),
    ("api_application_review_rule", "POST"): (f"{AD}/admissibility/rules/deposit", STAFF, 415),
    ("api_application_decide", "POST"): (f"{AD}/admissibility/decision", STAFF, 415),
    ("api_application_request_complements", "POST"): (f"{AD}/complements", STAFF, 415),
    ("api_application_extend_complements", "POST"): (f"{AD}/complements/deadline", STAFF, 415),
    ("api_application_resume", "POST"): (f"{AD}/admissibility/resume", STAFF, 415),
    ("api_application_complement_answer", "PUT"): (
        f"{AD}/complements/items/1",
        INSTITUTIONS,
        415,
    ),
    ("api_application_complement_document", "POST"): (
        f"{AD}/complements/items/1/file",
        INSTITUTIONS,
        422,
    ),
    ("api_application_complement_sign", "POST"): (
        f"{AD}/complements/items/1/sign",
        INSTITUTIONS,
        404,
    ),
    ("api_application_answer_complements", "POST"): (f"{AD}/complements/answer", INSTITUTIONS, 415),
    ("api_applications_decide_in_bulk", "POST"): (f"{AC}/admissibility-decisions", STAFF, 415),
}


def applications_rows(row_cls, outcome_cls) -> dict:
    """The rows above as the matrix's ``Row`` objects."""
    return {
        key: row_cls(path, allowed=allowed, granted=outcome_cls(status))
        for key, (path, allowed, status) in ROUTES.items()
    }
