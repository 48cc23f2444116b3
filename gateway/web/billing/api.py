"""The billing JSON API: most operations pass their ids, query and body to one RPC of the
contract (summaries: the contract's docstrings), the statement and the aging report their
file on request (``format=csv``); the others answer a status that depends on the reply, or
404 for a missing estimate, or refuse a body."""

from __future__ import annotations

from pydantic import Field

from gateway.web.billing.pages import ESTIMATE_READERS, INSTITUTIONS, READERS
from gateway.web.framework import Ctx, HttpError, route
from gateway.web.passthrough import Api, passthrough
from rac_shared.contracts import billing
from rac_shared.contracts.base import OptionalDate, OptionalInt, Strict

B = "/api/billing"
F = f"{B}/invoices/<int:invoice_id>"
C = f"{B}/plans/<int:plan_id>/costs-incurred"


class StatementQuery(Strict):
    employer_id: OptionalInt = Field(None, title="Organisation employeuse")


class AgingQuery(Strict):
    as_of: OptionalDate = Field(None, title="En date du")


# fmt: off
passthrough(
    "billing",
    Api("api_invoices", f"GET {B}/invoices", "list_invoices", READERS),
    Api("api_invoice", f"GET {F}", "get_invoice", READERS),
    Api("api_invoice_pdf", f"GET {F}/pdf", "invoice_pdf", READERS, file=True),
    Api("api_record_payment", f"POST {F}/payments", "record_payment", INSTITUTIONS, status=201),
    Api("api_import_payments", f"POST {B}/payments/import", "import_payments", INSTITUTIONS),
    Api("api_cancellation_costs", f"GET {C}", "cancellation_costs", INSTITUTIONS),
    Api("api_credit_notes", f"GET {B}/credit-notes", "list_credit_notes", READERS),
    Api("api_credit_note", f"GET {B}/credit-notes/<int:credit_note_id>", "get_credit_note",
        READERS),
    Api("api_preview_estimate", f"POST {B}/estimates/preview", "preview_estimate", INSTITUTIONS),
    Api("api_statement", f"GET {B}/statement", "statement", READERS, params=StatementQuery,
        formats={"csv": "statement_csv"}),
    Api("api_aging", f"GET {B}/aging", "aging", INSTITUTIONS, params=AgingQuery,
        formats={"csv": "aging_csv"}),
)
# fmt: on


@route(f"{B}/invoicing/run", methods=("POST",), access=INSTITUTIONS)
def api_issue_due_invoices(ctx: Ctx) -> billing.IssuedInvoices:
    """Facturer maintenant les versements échus de son établissement"""
    if ctx.request.content_length:
        raise HttpError(400, "Cette requête ne prend pas de corps.")
    return ctx.billing.issue_due_invoices()


@route(
    C,
    methods=("POST",),
    access=INSTITUTIONS,
    body=billing.CostsIncurredIn,
    response=billing.CostsRecorded,
    statuses=(200, 201),
)
def api_record_cancellation_costs(ctx: Ctx, plan_id: int):
    """Inscrire les coûts engagés d'un plan annulé et émettre la facture finale (une seule fois :
    les mêmes quantités renvoient la facture déjà émise)"""
    recorded = ctx.billing.record_cancellation_costs(plan_id=plan_id, data=ctx.body)
    return recorded, 201 if recorded.created else 200


@route(f"{B}/estimates/<int:plan_id>/<int:version>", access=ESTIMATE_READERS)
def api_estimate(ctx: Ctx, plan_id: int, version: int) -> billing.EstimateView:
    """L'estimation des coûts d'une version de plan (parties du plan et Ministère)"""
    estimate = ctx.billing.get_estimate(plan_id=plan_id, version=version)
    if estimate is None:
        raise HttpError(404, "Estimation des coûts introuvable.")
    return estimate
