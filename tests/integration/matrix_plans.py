"""Expected access to the routes of workplace RAC implementation plans, for the
authorization matrix (``test_authorization_matrix.py`` merges these rows).

Plan ids are ``{missing}``: a role allowed by the route reaches the plans service, which
answers 404 (a page that fails validation re-reads the plan first, so 404 too); a role not
allowed gets 403 from the gateway; anonymous users go to the login page (401 on the API).
API routes with a JSON body answer 415 when called without one, before any service call.
The ministry sees network figures only: ``/plans`` shows them, ``/api/plans/figures``
returns them, and no route gives it a plan.
"""

from __future__ import annotations

from rac_shared.actor import EMPLOYER_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES, Role

INSTITUTIONS = INSTITUTION_ROLES
EMPLOYERS = EMPLOYER_ROLES
PARTIES = INSTITUTION_ROLES | EMPLOYER_ROLES
EVERYONE = frozenset(Role)

P = "/plans/{missing}"
A = "/api/plans/{missing}"

# (endpoint, method): (path, allowed roles, status for an allowed role)
ROUTES = {
    # -- pages ----------------------------------------------------------------------------
    ("plans_page", "GET"): ("/plans", EVERYONE, 200),
    ("plans_list_csv", "GET"): ("/plans/liste.csv", PARTIES, 200),
    ("plans_list_xlsx", "GET"): ("/plans/liste.xlsx", PARTIES, 200),
    ("plan_new_form", "GET"): ("/plans/nouveau", INSTITUTIONS, 200),
    ("plan_create", "POST"): ("/plans/nouveau", INSTITUTIONS, 422),  # empty form re-rendered
    ("plan_page", "GET"): (P, PARTIES, 404),
    ("plan_pdf", "GET"): (f"{P}/pdf", PARTIES, 404),
    ("plan_courtesy_translation", "GET"): (f"{P}/traduction-courtoisie.pdf", PARTIES, 404),
    ("plan_preview_pdf", "GET"): (f"{P}/apercu.pdf", INSTITUTIONS, 404),
    ("plan_issue", "POST"): (f"{P}/emettre", INSTITUTIONS, 404),
    ("plan_issue_state", "GET"): (f"{P}/emission/etat", INSTITUTIONS, 404),
    ("plan_preview", "POST"): (f"{P}/apercu", INSTITUTIONS, 404),
    ("plan_preview_state", "GET"): (f"{P}/apercu/etat", INSTITUTIONS, 404),
    ("plan_record_acceptance", "POST"): (f"{P}/acceptation-recue", INSTITUTIONS, 404),
    ("plan_acceptance_scan", "GET"): (f"{P}/acceptation-recue/1", PARTIES, 404),
    ("plan_accept_form", "GET"): (f"{P}/accepter", EMPLOYERS, 404),
    ("plan_accept", "POST"): (f"{P}/accepter", EMPLOYERS, 404),
    ("plan_decline_form", "GET"): (f"{P}/refuser", EMPLOYERS, 404),
    ("plan_decline", "POST"): (f"{P}/refuser", EMPLOYERS, 404),
    ("plan_amend", "POST"): (f"{P}/modification", INSTITUTIONS, 404),
    ("plan_compare", "GET"): (f"{P}/comparaison", PARTIES, 404),
    ("plan_cancel", "POST"): (f"{P}/annuler", PARTIES, 404),
    ("plan_cancel_form", "GET"): (f"{P}/annuler", PARTIES, 404),
    ("plan_complete", "POST"): (f"{P}/terminer", INSTITUTIONS, 404),
    ("plan_edit_form", "GET"): (f"{P}/modifier", INSTITUTIONS, 404),
    ("plan_save_sections", "POST"): (f"{P}/sections", INSTITUTIONS, 404),
    ("plan_save_steps", "POST"): (f"{P}/etapes", INSTITUTIONS, 404),
    ("plan_save_aide_memoire", "POST"): (f"{P}/aide-memoire", INSTITUTIONS, 404),
    ("plan_save_annexes", "POST"): (f"{P}/annexes", INSTITUTIONS, 404),
    ("plan_add_competency", "POST"): (f"{P}/competences", INSTITUTIONS, 404),
    ("plan_remove_competency", "POST"): (f"{P}/competences/018N/retirer", INSTITUTIONS, 404),
    ("plan_remove_competency_confirm", "GET"): (f"{P}/competences/018N/retirer", INSTITUTIONS, 200),
    ("plan_add_candidate", "POST"): (f"{P}/candidats", INSTITUTIONS, 404),
    ("plan_remove_candidate", "POST"): (f"{P}/candidats/1/retirer", INSTITUTIONS, 404),
    ("plan_remove_candidate_confirm", "GET"): (f"{P}/candidats/1/retirer", INSTITUTIONS, 200),
    ("plan_estimate_form", "GET"): (f"{P}/estimation", INSTITUTIONS, 404),
    ("plan_estimate_save", "POST"): (f"{P}/estimation", INSTITUTIONS, 404),
    ("plan_progress_page", "GET"): (f"{P}/suivi", PARTIES, 404),
    ("plan_progress_step", "POST"): (f"{P}/suivi/1/etape", INSTITUTIONS, 404),
    ("plan_progress_result", "POST"): (f"{P}/suivi/1/resultat", INSTITUTIONS, 404),
    ("plan_progress_abandon", "POST"): (f"{P}/suivi/1/abandon", INSTITUTIONS, 404),
    # The abandonment's step (what it entails, its date) reads the plan's follow-up.
    ("plan_progress_abandon_confirm", "GET"): (f"{P}/suivi/1/abandon", INSTITUTIONS, 404),
    ("privacy_page", "GET"): ("/plans/renseignements-personnels", INSTITUTIONS, 200),
    # An empty access request: the e-mail is required (the form is shown again).
    ("privacy_export", "POST"): ("/plans/renseignements-personnels", INSTITUTIONS, 422),
    ("annex_template_form", "GET"): ("/plans/modele-annexes", INSTITUTIONS, 200),
    ("annex_template_save", "POST"): ("/plans/modele-annexes", INSTITUTIONS, 422),
    # -- API ------------------------------------------------------------------------------
    ("api_plans", "GET"): ("/api/plans", PARTIES, 200),
    ("api_plan_create", "POST"): ("/api/plans", INSTITUTIONS, 415),
    ("api_plan_figures", "GET"): ("/api/plans/figures", MINISTRY_ROLES, 200),
    ("api_plan", "GET"): (A, PARTIES, 404),
    ("api_plan_update", "PATCH"): (A, INSTITUTIONS, 415),
    ("api_plan_estimate", "PUT"): (f"{A}/estimate", INSTITUTIONS, 415),
    ("api_plan_issue", "POST"): (f"{A}/issue", INSTITUTIONS, 404),
    ("api_plan_pdf", "GET"): (f"{A}/pdf", PARTIES, 404),
    ("api_plan_courtesy_translation", "GET"): (f"{A}/courtesy-translation", PARTIES, 404),
    ("api_plan_accept", "POST"): (f"{A}/accept", EMPLOYERS, 415),
    ("api_plan_record_acceptance", "POST"): (f"{A}/acceptance-record", INSTITUTIONS, 415),
    ("api_plan_decline", "POST"): (f"{A}/decline", EMPLOYERS, 415),
    ("api_plan_amend", "POST"): (f"{A}/amendments", INSTITUTIONS, 415),
    ("api_plan_comparison", "GET"): (f"{A}/comparison", PARTIES, 404),
    ("api_plan_cancel", "POST"): (f"{A}/cancel", PARTIES, 415),
    ("api_plan_complete", "POST"): (f"{A}/complete", INSTITUTIONS, 404),
    ("api_plan_progress", "GET"): (f"{A}/progress", PARTIES, 404),
    ("api_plan_candidate_step", "POST"): (f"{A}/candidates/1/step", INSTITUTIONS, 415),
    ("api_plan_candidate_result", "POST"): (f"{A}/candidates/1/result", INSTITUTIONS, 415),
    ("api_plan_candidate_abandon", "POST"): (f"{A}/candidates/1/abandon", INSTITUTIONS, 415),
    ("api_annex_template", "GET"): ("/api/plans/annex-template", INSTITUTIONS, 200),
    ("api_annex_template_save", "PUT"): ("/api/plans/annex-template", INSTITUTIONS, 415),
}


def plans_rows(row_cls, outcome_cls) -> dict:
    """The rows above as the matrix's ``Row`` objects."""
    return {
        key: row_cls(path, allowed=allowed, granted=outcome_cls(status))
        for key, (path, allowed, status) in ROUTES.items()
    }
