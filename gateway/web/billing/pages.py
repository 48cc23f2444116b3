"""Invoices, payments, credit notes, statements, the aging report and the costs incurred on a
cancelled plan: the pages.

Thin handlers over the billing service (``ctx.billing``), which scopes every object to its
tenant: an institution sees its own invoices, an employer the invoices addressed to it;
another tenant's invoice is "not found". Institutions record payments, import bank files,
issue due installments, record the costs incurred of their cancelled plans and read the
aging report; employers read their invoices and statement. Estimates are edited from the
plan pages (plans service).

Each form is a contract model (``form=``); a refusal re-renders the page it came from
(``on_error=``) with what was typed and the errors. Query strings are contract models too
(``query=``).
"""

from __future__ import annotations

from pydantic import Field
from werkzeug.wrappers import Response

from gateway.web import background, lists, responses
from gateway.web.forms import NoFields
from gateway.web.framework import Ctx, notices, post, route
from gateway.web.passthrough import Download, Post, page_actions, passthrough
from rac_shared.actor import EMPLOYER_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES
from rac_shared.clock import clock
from rac_shared.contracts import billing
from rac_shared.contracts.base import OptionalDate, OptionalInt, Strict
from rac_shared.contracts.listing import Cursor, ListQuery

READERS = INSTITUTION_ROLES | EMPLOYER_ROLES
INSTITUTIONS = INSTITUTION_ROLES
ESTIMATE_READERS = READERS | MINISTRY_ROLES

notices(
    **{
        "paiement-recu": "Le paiement est enregistré.",
        "parametres-facturation": "Les paramètres de facturation sont enregistrés.",
        "couts": "Les coûts engagés sont enregistrés et la facture finale est émise.",
        "couts-deja": "Ces coûts engagés étaient déjà enregistrés : aucune autre facture "
        "n'est émise.",
    }
)


class InvoicesFilter(lists.PageQuery):
    """``/facturation?statut=overdue&employeur=5&tri=solde`` (the links of e-mails and home
    pages); the exports take the same query. (A filter left blank is no filter, a blank sort
    the default: the form decoder's rule for an empty choice.)"""

    statut: billing.InvoiceFilter = Field(billing.InvoiceFilter.ALL, title="Statut")
    employeur: OptionalInt = Field(None, title="Organisation")
    tri: billing.InvoiceSort = Field(billing.InvoiceSort.TO_PAY, title="Trier par")
    curseur: Cursor = Field(None, title="Page")

    CONTRACT = billing.InvoiceQuery
    NAMES = {"statut": "status", "employeur": "employer_id"}


class CreditNotesFilter(lists.PageQuery):
    """``/facturation/notes-de-credit?motif=abandonment&employeur=5&tri=montant``; the exports
    take the same query."""

    motif: billing.CreditReason | None = Field(None, title="Motif")
    employeur: OptionalInt = Field(None, title="Organisation")
    tri: billing.CreditNoteSort = Field(billing.CreditNoteSort.TO_APPLY, title="Trier par")
    curseur: Cursor = Field(None, title="Page")

    CONTRACT = billing.CreditNoteQuery
    NAMES = {"motif": "reason", "employeur": "employer_id"}


class StatementFilter(Strict):
    employeur: OptionalInt = Field(None, title="Organisation")


class AgingFilter(Strict):
    """``?date=2026-11-15``: the report's date, the RPCs' ``as_of``."""

    as_of: OptionalDate = Field(None, alias="date", title="En date du")


# -- invoices ------------------------------------------------------------------------------------


def _employer(ctx: Ctx) -> int | None:
    """The employer an institution filters by (an employer sees its own)."""
    return ctx.query.employeur if ctx.actor.is_institution else None


def _list_query(ctx: Ctx) -> ListQuery:
    """The service's query of an invoices or credit notes page, its employer filter an
    institution's only."""
    return ctx.query.contract().model_copy(update={"employer_id": _employer(ctx)})


def _party(ctx: Ctx) -> lists.Column:
    """The other party of an invoice or a credit note, as the lists show it."""
    if ctx.actor.is_institution:
        return lists.Column("Organisation", lambda d: d.employer_name)
    return lists.Column("Établissement", lambda d: d.institution_name)


def _invoice_columns(ctx: Ctx) -> list[lists.Column]:
    """The list's columns as the page shows them, for its exports."""
    return [
        lists.Column("Numéro", lambda i: i.number),
        _party(ctx),
        lists.Column("Plan", lambda i: i.plan_reference),
        lists.Column("Émise le", lambda i: i.issued_on),
        lists.Column("Échéance", lambda i: i.due_on),
        lists.Column("Total", lambda i: i.total),
        lists.Column("Solde", lambda i: i.balance),
        lists.Column(
            "Statut", lambda i: i.status_label + (f" ({i.days_late} j)" if i.days_late else "")
        ),
    ]


@route("/facturation", access=READERS, query=InvoicesFilter, name="invoices_page")
def invoices_view(ctx: Ctx) -> Response:
    if not isinstance(ctx.query, InvoicesFilter):  # a refused form re-renders the list
        ctx.query = InvoicesFilter()
    page = ctx.billing.invoices_page(query=_list_query(ctx))
    return ctx.render(
        "billing/invoices.html.j2",
        page=page,
        pager=lists.pager(ctx, page.listing),
        filters=ctx.query,
        statuses=billing.InvoiceFilter.choices(),
        orders=billing.InvoiceSort.choices(),
        form=ctx.form(endpoint="issue_due_invoices"),
    )


lists.exports(
    "/facturation/factures",
    name="invoices",
    filename="factures",
    access=READERS,
    query=InvoicesFilter,
    sheet="Factures",
    fetch=lambda ctx, query: ctx.billing.list_invoices(query=query),
    contract=_list_query,
    columns=_invoice_columns,
)


def _credit_note_columns(ctx: Ctx) -> list[lists.Column]:
    return [
        lists.Column("Numéro", lambda c: c.number),
        _party(ctx),
        lists.Column("Plan", lambda c: c.plan_reference),
        lists.Column("Émise le", lambda c: c.issued_on),
        lists.Column("Motif", lambda c: c.reason_label),
        lists.Column("Montant", lambda c: c.total),
        lists.Column("Non appliqué", lambda c: c.unapplied),
    ]


@route("/facturation/notes-de-credit", access=READERS, query=CreditNotesFilter)
def credit_notes_page(ctx: Ctx) -> Response:
    # One RPC per page: an organisation is chosen from the invoices page's link or the API
    # (``?employeur=``), not from a list the page would ask billing for a second time.
    page = ctx.billing.list_credit_notes(query=_list_query(ctx))
    return ctx.render(
        "billing/credit_notes.html.j2",
        page=page,
        pager=lists.pager(ctx, page),
        filters=ctx.query,
        reasons=billing.CreditReason.choices(),
        orders=billing.CreditNoteSort.choices(),
    )


lists.exports(
    "/facturation/notes-de-credit/liste",
    name="credit_notes",
    filename="notes-de-credit",
    access=READERS,
    query=CreditNotesFilter,
    sheet="Notes de crédit",
    fetch=lambda ctx, query: ctx.billing.list_credit_notes(query=query),
    contract=_list_query,
    columns=_credit_note_columns,
)


@route("/facturation/factures/<int:invoice_id>", access=READERS)
def invoice_page(ctx: Ctx, invoice_id: int) -> Response:
    invoice = ctx.billing.get_invoice(invoice_id=invoice_id)
    payment = {"paid_on": clock.today(), "method": billing.PaymentMethod.TRANSFER}
    return ctx.render(
        "billing/invoice.html.j2",
        invoice=invoice,
        methods=billing.PaymentMethod.choices(),
        form=ctx.form(payment, endpoint="record_payment"),
    )


@route("/factures/<int:invoice_id>", access=READERS)
def invoice_link(ctx: Ctx, invoice_id: int) -> Response:
    """The short link e-mails carry (``invoice.issued``, ``invoice.overdue``)."""
    return ctx.redirect(f"/facturation/factures/{invoice_id}")


@route("/facturation/notes-de-credit/<int:credit_note_id>", access=READERS)
def credit_note_page(ctx: Ctx, credit_note_id: int) -> Response:
    credit = ctx.billing.get_credit_note(credit_note_id=credit_note_id)
    return ctx.render("billing/credit_note.html.j2", credit=credit)


# -- costs incurred on a cancelled plan (annex A, 1 d) ---------------------------------------------


def cost_rows(costs: billing.CostsView) -> list[dict]:
    """The form's rows, one per quantity to type: a line, or a line and one of its
    candidate-workers (those who abandoned were settled by the abandonment)."""
    rows = []
    for line in costs.lines:
        if not line.per_candidate:
            rows.append({"line": line.line, "candidate_id": None})
            continue
        rows += [
            {"line": line.line, "candidate_id": person.candidate_id}
            for person in line.people
            if person.abandoned_on is None
        ]
    return rows


@route("/facturation/plans/<int:plan_id>/couts-engages", access=INSTITUTIONS)
def cancellation_costs_page(ctx: Ctx, plan_id: int) -> Response:
    costs = ctx.billing.cancellation_costs(plan_id=plan_id)
    rows = cost_rows(costs)
    return ctx.render(
        "billing/costs_incurred.html.j2",
        costs=costs,
        rows={(r["line"], r["candidate_id"]): index for index, r in enumerate(rows)},
        form=ctx.form({"items": rows}, endpoint="record_cancellation_costs"),
    )


# -- bank file -------------------------------------------------------------------------------------


@route("/facturation/paiements/import", access=INSTITUTIONS)
def import_form(ctx: Ctx) -> Response:
    return ctx.render(
        "billing/import.html.j2",
        max_megabytes=billing.MAX_BANK_FILE // (1024 * 1024),
        form=ctx.form(endpoint="import_payments"),
    )


@post("/facturation/paiements/import", NoFields, import_form, INSTITUTIONS)
def import_payments(ctx: Ctx, form: NoFields) -> Response:
    """The file is imported in the background: the person follows it on its page."""
    filename, content = responses.uploaded(ctx, "fichier", billing.MAX_BANK_FILE)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:  # Windows-1252, as older spreadsheets save it
        text = content.decode("cp1252", errors="replace")
    task = ctx.billing.request_bank_import(data={"content": text}, filename=filename or "")
    return ctx.redirect(f"/facturation/travaux/{task.id}")


# -- invoicing runs and imports done in the background ---------------------------------------


@route("/facturation/travaux", access=INSTITUTIONS)
def billing_tasks_page(ctx: Ctx) -> Response:
    """The institution's recent invoicing runs and bank imports."""
    return ctx.render("billing/tasks.html.j2", tasks=ctx.billing.billing_tasks())


@route("/facturation/travaux/<int:task_id>", access=INSTITUTIONS)
def billing_task_page(ctx: Ctx, task_id: int) -> Response:
    """One run or import: its progress (the status region polls it; without JavaScript the
    page refreshes itself), then its result or why it failed."""
    task = ctx.billing.billing_task(task_id=task_id)
    return ctx.render(
        "billing/task.html.j2",
        task=task,
        form=ctx.form(endpoint="issue_due_invoices"),
    )


@route("/facturation/travaux/<int:task_id>/etat", access=INSTITUTIONS)
def billing_task_state(ctx: Ctx, task_id: int) -> Response:
    """The state the task page's status region polls; ready or failed: the page itself."""
    page = f"/facturation/travaux/{task_id}"
    return background.task_state(ctx.billing.billing_task(task_id=task_id), page, page)


# -- reports ---------------------------------------------------------------------------------------


@route("/facturation/anciennete", access=INSTITUTIONS, query=AgingFilter)
def aging_page(ctx: Ctx) -> Response:
    report = ctx.billing.aging(as_of=ctx.query.as_of)
    return ctx.render("billing/aging.html.j2", report=report)


@route("/facturation/releve", access=READERS, query=StatementFilter)
def statement_page(ctx: Ctx) -> Response:
    employer_id = _employer(ctx)
    page = ctx.billing.statement_page(employer_id=employer_id)
    return ctx.render(
        "billing/statement.html.j2",
        statement=page.statement,
        employers=page.employers,
        employer_id=employer_id,
    )


@route("/facturation/releve.csv", access=READERS, query=StatementFilter)
def statement_csv(ctx: Ctx) -> Response:
    exported = ctx.billing.statement_csv(employer_id=_employer(ctx))
    return responses.csv_download(ctx, exported.content, exported.filename)


# -- the institution's billing settings ------------------------------------------------------------


@route("/facturation/parametres", access=INSTITUTIONS)
def settings_page(ctx: Ctx) -> Response:
    profile = ctx.billing.get_profile()
    return ctx.render(
        "billing/settings.html.j2",
        form=ctx.form(profile.model_dump(include=set(billing.ProfileIn.model_fields))),
    )


# -- downloads of the service's documents, and forms that are one RPC (the tables) ----------

# fmt: off
passthrough(
    "billing",
    Download("invoice_pdf", "/facturation/factures/<int:invoice_id>/pdf", "invoice_pdf", READERS),
    Download("credit_note_pdf", "/facturation/notes-de-credit/<int:credit_note_id>/pdf",
             "credit_note_pdf", READERS),
    Download("aging_csv", "/facturation/anciennete.csv", "aging_csv", INSTITUTIONS, AgingFilter),
)
page_actions(
    "billing", invoices_view, INSTITUTIONS,
    # The run is done in the background: the person follows it on its page.
    Post("issue_due_invoices", "/facturation/emettre", "request_invoicing",
         "/facturation/travaux/{reply.id}", None),
)
page_actions(
    "billing", invoice_page, INSTITUTIONS,
    Post("record_payment", "/facturation/factures/<int:invoice_id>/paiements", "record_payment",
         "/facturation/factures/{invoice_id}", "paiement-recu", billing.PaymentIn),
)
page_actions(
    "billing", cancellation_costs_page, INSTITUTIONS,
    # The same quantities again issue no other invoice: the notice says which it was.
    Post("record_cancellation_costs", "/facturation/plans/<int:plan_id>/couts-engages",
         "record_cancellation_costs", "/facturation/plans/{plan_id}/couts-engages",
         lambda form, reply: "couts" if reply.created else "couts-deja", billing.CostsIncurredIn),
)
page_actions(
    "billing", settings_page, INSTITUTIONS,
    Post("save_settings", "/facturation/parametres", "update_profile", "/facturation/parametres",
         "parametres-facturation", billing.ProfileIn),
)
# fmt: on
