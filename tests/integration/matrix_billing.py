"""Expected access to the billing routes (invoices, payments, statements, aging report,
estimates), for the authorization matrix (``test_authorization_matrix.py`` merges these).

Ids are ``{missing}``: a role allowed by the route reaches the billing service, which answers
404 (another tenant's invoice is "not found" the same way); a role not allowed gets 403 from
the gateway; anonymous users go to the login page (401 on the API). API routes with a JSON
body answer 415 when called without one; the bank-file upload page answers 422 without a
file. The ministry reads estimates only: invoices are between institutions and employers.
Only institutions record the costs incurred of their cancelled plans (a missing plan: 404).
"""

from __future__ import annotations

from rac_shared.actor import EMPLOYER_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES

READERS = INSTITUTION_ROLES | EMPLOYER_ROLES
INSTITUTIONS = INSTITUTION_ROLES
ESTIMATE_READERS = READERS | MINISTRY_ROLES

F = "/facturation/factures/{missing}"
N = "/facturation/notes-de-credit/{missing}"
AF = "/api/billing/invoices/{missing}"
C = "/facturation/plans/{missing}/couts-engages"  # costs incurred of a cancelled plan
AC = "/api/billing/plans/{missing}/costs-incurred"

# (endpoint, method): (path, allowed roles, status for an allowed role)
ROUTES = {
    # -- pages ------------------------------------------------------------------------------
    ("invoices_page", "GET"): ("/facturation", READERS, 200),
    ("invoices_csv", "GET"): ("/facturation/factures.csv", READERS, 200),
    ("invoices_xlsx", "GET"): ("/facturation/factures.xlsx", READERS, 200),
    ("issue_due_invoices", "POST"): ("/facturation/emettre", INSTITUTIONS, 303),
    ("invoice_page", "GET"): (F, READERS, 404),
    ("invoice_link", "GET"): ("/factures/{missing}", READERS, 303),
    ("invoice_pdf", "GET"): (f"{F}/pdf", READERS, 404),
    ("record_payment", "POST"): (f"{F}/paiements", INSTITUTIONS, 404),
    ("credit_notes_page", "GET"): ("/facturation/notes-de-credit", READERS, 200),
    ("credit_notes_csv", "GET"): ("/facturation/notes-de-credit/liste.csv", READERS, 200),
    ("credit_notes_xlsx", "GET"): ("/facturation/notes-de-credit/liste.xlsx", READERS, 200),
    ("credit_note_page", "GET"): (N, READERS, 404),
    ("credit_note_pdf", "GET"): (f"{N}/pdf", READERS, 404),
    ("import_form", "GET"): ("/facturation/paiements/import", INSTITUTIONS, 200),
    ("import_payments", "POST"): ("/facturation/paiements/import", INSTITUTIONS, 422),
    # Invoicing runs and imports done in the background: the history, a task, its state.
    ("billing_tasks_page", "GET"): ("/facturation/travaux", INSTITUTIONS, 200),
    ("billing_task_page", "GET"): ("/facturation/travaux/{missing}", INSTITUTIONS, 404),
    ("billing_task_state", "GET"): ("/facturation/travaux/{missing}/etat", INSTITUTIONS, 404),
    ("aging_page", "GET"): ("/facturation/anciennete", INSTITUTIONS, 200),
    ("aging_csv", "GET"): ("/facturation/anciennete.csv", INSTITUTIONS, 200),
    ("statement_page", "GET"): ("/facturation/releve", READERS, 200),
    ("statement_csv", "GET"): ("/facturation/releve.csv", READERS, 200),
    ("settings_page", "GET"): ("/facturation/parametres", INSTITUTIONS, 200),
    ("save_settings", "POST"): ("/facturation/parametres", INSTITUTIONS, 303),
    ("cancellation_costs_page", "GET"): (C, INSTITUTIONS, 404),
    ("record_cancellation_costs", "POST"): (C, INSTITUTIONS, 404),
    # -- API --------------------------------------------------------------------------------
    ("api_invoices", "GET"): ("/api/billing/invoices", READERS, 200),
    ("api_invoice", "GET"): (AF, READERS, 404),
    ("api_invoice_pdf", "GET"): (f"{AF}/pdf", READERS, 404),
    ("api_record_payment", "POST"): (f"{AF}/payments", INSTITUTIONS, 415),
    ("api_import_payments", "POST"): ("/api/billing/payments/import", INSTITUTIONS, 415),
    ("api_issue_due_invoices", "POST"): ("/api/billing/invoicing/run", INSTITUTIONS, 200),
    ("api_credit_notes", "GET"): ("/api/billing/credit-notes", READERS, 200),
    ("api_credit_note", "GET"): ("/api/billing/credit-notes/{missing}", READERS, 404),
    ("api_cancellation_costs", "GET"): (AC, INSTITUTIONS, 404),
    ("api_record_cancellation_costs", "POST"): (AC, INSTITUTIONS, 415),
    ("api_statement", "GET"): ("/api/billing/statement", READERS, 200),
    ("api_aging", "GET"): ("/api/billing/aging", INSTITUTIONS, 200),
    ("api_estimate", "GET"): ("/api/billing/estimates/{missing}/1", ESTIMATE_READERS, 404),
    ("api_preview_estimate", "POST"): ("/api/billing/estimates/preview", INSTITUTIONS, 415),
}


def billing_rows(row_cls, outcome_cls) -> dict:
    """The rows above as the matrix's ``Row`` objects."""
    return {
        key: row_cls(path, allowed=allowed, granted=outcome_cls(status))
        for key, (path, allowed, status) in ROUTES.items()
    }
