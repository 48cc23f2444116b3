"""Invoices, payments, credit notes, statements and the aging report: pages and JSON API.

Thin handlers over the ``billing`` service (the actor is added by ``ctx.rpc``), which scopes
every object to its tenant: an institution sees its own invoices, an employer the invoices
addressed to it; another tenant's invoice is "not found". Institutions record payments,
import bank files, issue due installments and read the aging report; employers read their
invoices and statement. Estimates are edited from the plan pages (plans service); this
module only offers them read-only and as a preview through the API.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from datetime import date
from typing import Any, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from gateway.web.framework import Ctx, HttpError, route
from rac_shared.actor import EMPLOYER_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES
from rac_shared.clock import clock
from rac_shared.errors import DomainError
from rac_shared.formatting import long_date

READERS = INSTITUTION_ROLES | EMPLOYER_ROLES
INSTITUTIONS = INSTITUTION_ROLES
ESTIMATE_READERS = INSTITUTION_ROLES | EMPLOYER_ROLES | MINISTRY_ROLES
MAX_BANK_FILE = 2 * 1024 * 1024

STATUS_FILTERS = {
    "": "Toutes",
    "open": "À payer (solde dû)",
    "overdue": "En retard",
    "partly_paid": "Partiellement payées",
    "paid": "Payées",
}
METHODS = {
    "transfer": "Virement bancaire",
    "deposit": "Dépôt direct",
    "cheque": "Chèque",
    "card": "Carte de crédit",
    "other": "Autre",
}
NOTICES = {
    "paiement": "Le paiement est enregistré.",
    "parametres": "Les paramètres de facturation sont enregistrés.",
    "couts": "Les coûts engagés sont enregistrés et la facture finale est émise.",
    "couts-deja": "Ces coûts engagés étaient déjà enregistrés : aucune autre facture n'est émise.",
}
# A quantity field of the costs-incurred form: q-<line> or q-<line>-<candidate id>.
COST_FIELD = re.compile(r"^q-(\d{1,3})(?:-(\d{1,9}))?$")
MAX_COST_FIELDS = 2000


# -- API models ---------------------------------------------------------------------------


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class PaymentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paid_on: date
    amount: str | int = Field(description="Montant en texte décimal, p. ex. « 1234.50 »")
    method: Literal["transfer", "deposit", "cheque", "card", "other"]
    reference: str = Field("", max_length=120)


class BankFileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(
        max_length=MAX_BANK_FILE,
        description="Contenu CSV : date;montant;facture;reference;mode (première ligne)",
    )


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    estimate: dict[str, Any]
    candidate_count: int = Field(0, ge=0, le=10000)


class InvoiceSummaryOut(Loose):
    id: int
    number: str
    status: str
    total: str
    balance: str
    due_on: str


class InvoiceListOut(BaseModel):
    count: int
    invoices: list[InvoiceSummaryOut]


class InvoiceOut(InvoiceSummaryOut):
    lines: list[dict]
    taxes: list[dict]
    payments: list[dict]
    credits: list[dict]


class PaymentOut(BaseModel):
    payment: dict
    invoice: InvoiceSummaryOut


class ImportOut(BaseModel):
    recorded: int
    skipped: int
    lines: list[dict]


class IssueOut(BaseModel):
    issued: int
    numbers: list[str]


class StatementOut(Loose):
    employer_id: int | None  # None: every employer of the institution
    lines: list[dict]
    balance: str


class AgingOut(Loose):
    as_of: str
    rows: list[dict]
    totals: dict


class CostItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = Field(ge=1, le=200, description="Position de la ligne dans l'estimation")
    candidate_id: int | None = Field(
        None, ge=1, description="Candidat-travailleur, sur une ligne facturée par personne"
    )
    quantity: str | int = Field(description="Quantité réalisée en texte décimal, p. ex. « 7.5 »")


class CostsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[CostItemBody] = Field(min_length=1, max_length=MAX_COST_FIELDS)


class CostsOut(Loose):
    plan_id: int
    state: str  # open | recorded | unavailable
    room: str
    lines: list[dict]
    record: dict | None


class CreditNoteOut(Loose):
    id: int
    number: str
    total: str


class EstimateOut(Loose):
    plan_id: int
    version: int
    status: str
    total: str


class PreviewOut(Loose):
    total: str
    installments: list[dict]


# -- helpers ------------------------------------------------------------------------------


def _iso_long_date(value: str | None) -> str:
    return long_date(date.fromisoformat(value)) if value else ""


def _render(ctx: Ctx, template: str, status: int = 200, **context) -> Response:
    ctx.app.templates.filters.setdefault("billing_date", _iso_long_date)
    return ctx.render(
        template,
        status=status,
        status_filters=STATUS_FILTERS,
        methods=METHODS,
        is_institution=ctx.actor.is_institution,
        **context,
    )


def _content_disposition(filename: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name) or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _file(content: bytes, filename: str, mimetype: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = _content_disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _pdf(payload: dict) -> Response:
    return _file(base64.b64decode(payload["content_b64"]), payload["filename"], "application/pdf")


def _csv(text: str, filename: str) -> Response:
    response = _file(text.encode("utf-8"), filename, "text/csv")
    response.charset = "utf-8"
    return response


def _int_arg(ctx: Ctx, name: str) -> int | None:
    value = ctx.request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise HttpError(422, f"Le paramètre « {name} » doit être un nombre entier.")
    return int(value)


def _date_arg(ctx: Ctx, name: str) -> str | None:
    value = ctx.request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise HttpError(422, f"Le paramètre « {name} » doit être une date AAAA-MM-JJ.") from None


def _status_arg(ctx: Ctx, name: str) -> str:
    value = ctx.request.args.get(name, "")
    if value not in STATUS_FILTERS:
        raise HttpError(422, f"Le paramètre « {name} » n'est pas un statut connu.")
    return value


def _notice(ctx: Ctx) -> str | None:
    key = ctx.request.args.get("fait", "")
    if key == "emises":
        count = ctx.request.args.get("n", "0")
        count = int(count) if count.isdigit() else 0
        if count == 0:
            return "Aucun versement n'était à facturer."
        return f"{count} facture(s) émise(s) pour les versements échus."
    return NOTICES.get(key)


# -- pages: invoices ------------------------------------------------------------------------


@route("/facturation", access=READERS)
def invoices_page(ctx: Ctx) -> Response:
    status = _status_arg(ctx, "statut")
    employer_id = _int_arg(ctx, "employeur") if ctx.actor.is_institution else None
    query = {"status": status, "employer_id": employer_id, "limit": 200}
    page = ctx.rpc("billing", "invoices_page", query=query)
    return _render(
        ctx,
        "billing/invoices.html.j2",
        listing=page["list"],
        scheduled=page["scheduled"],
        employers=page["employers"],
        cancelled_plans=page.get("cancelled_plans", []),
        selected_status=status,
        employer_id=employer_id,
        notice=_notice(ctx),
    )


@route("/facturation/emettre", methods=("POST",), access=INSTITUTIONS)
def issue_due_invoices(ctx: Ctx) -> Response:
    result = ctx.rpc("billing", "issue_due_invoices")
    return ctx.redirect(f"/facturation?{urlencode({'fait': 'emises', 'n': result['issued']})}")


def _invoice_page(ctx: Ctx, invoice_id: int, status: int = 200, **context) -> Response:
    invoice = ctx.rpc("billing", "get_invoice", invoice_id=invoice_id)
    context.setdefault(
        "form",
        {"paid_on": clock.today().isoformat(), "amount": "", "method": "transfer", "reference": ""},
    )
    context.setdefault("errors", {})
    context.setdefault("error", None)
    return _render(
        ctx,
        "billing/invoice.html.j2",
        status=status,
        invoice=invoice,
        notice=_notice(ctx),
        **context,
    )


@route("/facturation/factures/<int:invoice_id>", access=READERS)
def invoice_page(ctx: Ctx, invoice_id: int) -> Response:
    return _invoice_page(ctx, invoice_id)


@route("/factures/<int:invoice_id>", access=READERS)
def invoice_link(ctx: Ctx, invoice_id: int) -> Response:
    """The short link e-mails carry (``invoice.issued``, ``invoice.overdue``)."""
    return ctx.redirect(f"/facturation/factures/{invoice_id}")


@route("/facturation/factures/<int:invoice_id>/pdf", access=READERS)
def invoice_pdf(ctx: Ctx, invoice_id: int) -> Response:
    return _pdf(ctx.rpc("billing", "invoice_pdf", invoice_id=invoice_id, timeout=90))


@route("/facturation/factures/<int:invoice_id>/paiements", methods=("POST",), access=INSTITUTIONS)
def record_payment(ctx: Ctx, invoice_id: int) -> Response:
    form = ctx.request.form
    data = {
        "paid_on": form.get("paid_on", "").strip()[:20],
        "amount": form.get("amount", "").strip()[:40],
        "method": form.get("method", "")[:20],
        "reference": form.get("reference", "").strip()[:120],
    }
    try:
        ctx.rpc("billing", "record_payment", invoice_id=invoice_id, payment=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return _invoice_page(
            ctx, invoice_id, status=422, form=data, errors=exc.details or {}, error=exc.message
        )
    return ctx.redirect(f"/facturation/factures/{invoice_id}?fait=paiement")


@route("/facturation/notes-de-credit/<int:credit_note_id>", access=READERS)
def credit_note_page(ctx: Ctx, credit_note_id: int) -> Response:
    credit = ctx.rpc("billing", "get_credit_note", credit_note_id=credit_note_id)
    return _render(ctx, "billing/credit_note.html.j2", credit=credit)


@route("/facturation/notes-de-credit/<int:credit_note_id>/pdf", access=READERS)
def credit_note_pdf(ctx: Ctx, credit_note_id: int) -> Response:
    return _pdf(ctx.rpc("billing", "credit_note_pdf", credit_note_id=credit_note_id, timeout=90))


# -- pages: costs incurred on a cancelled plan (annex A, 1 d) ------------------------------


def _costs_page(ctx: Ctx, plan_id: int, status: int = 200, **context) -> Response:
    costs = ctx.rpc("billing", "cancellation_costs", plan_id=plan_id)
    context.setdefault("form", {})
    context.setdefault("errors", {})
    context.setdefault("error", None)
    return _render(
        ctx,
        "billing/costs_incurred.html.j2",
        status=status,
        costs=costs,
        notice=_notice(ctx),
        **context,
    )


def _cost_items(form) -> tuple[list[dict], list[str], dict]:
    """The form's quantity fields as the service's items (empty fields left out), the field
    of each item (to put the service's errors back on it), and the values as typed."""
    items, fields, typed = [], [], {}
    names = sorted(
        (name for name in form if COST_FIELD.match(name)),
        key=lambda name: tuple(int(part or 0) for part in COST_FIELD.match(name).groups()),
    )
    if len(names) > MAX_COST_FIELDS:
        raise HttpError(413, "Le formulaire contient trop de lignes.")
    for name in names:
        value = form.get(name, "").strip()[:40]
        typed[name] = value
        if not value:
            continue
        line, candidate = COST_FIELD.match(name).groups()
        items.append(
            {
                "line": int(line),
                "candidate_id": int(candidate) if candidate else None,
                "quantity": value,
            }
        )
        fields.append(name)
    return items, fields, typed


def _form_errors(details: dict, fields: list[str]) -> dict:
    """``items.3.quantity`` → the form field of the fourth item."""
    errors = {}
    for path, message in (details or {}).items():
        parts = str(path).split(".")
        if len(parts) >= 2 and parts[0] == "items" and parts[1].isdigit():
            index = int(parts[1])
            errors[fields[index] if index < len(fields) else "quantites"] = message
        else:
            errors.setdefault("quantites", message)
    return errors


@route("/facturation/plans/<int:plan_id>/couts-engages", access=INSTITUTIONS)
def cancellation_costs_page(ctx: Ctx, plan_id: int) -> Response:
    return _costs_page(ctx, plan_id)


@route("/facturation/plans/<int:plan_id>/couts-engages", methods=("POST",), access=INSTITUTIONS)
def record_cancellation_costs(ctx: Ctx, plan_id: int) -> Response:
    items, fields, typed = _cost_items(ctx.request.form)
    if not items:
        message = "Inscrivez au moins une quantité : sans coût engagé, aucune facture n'est émise."
        return _costs_page(
            ctx, plan_id, status=422, form=typed, errors={"quantites": message}, error=message
        )
    try:
        result = ctx.rpc(
            "billing", "record_cancellation_costs", plan_id=plan_id, costs={"items": items}
        )
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _costs_page(
            ctx,
            plan_id,
            status=exc.http_status,
            form=typed,
            errors=_form_errors(exc.details, fields),
            error=exc.message,
        )
    done = "couts" if result["created"] else "couts-deja"
    return ctx.redirect(f"/facturation/plans/{plan_id}/couts-engages?fait={done}")


# -- pages: bank file -----------------------------------------------------------------------


@route("/facturation/paiements/import", access=INSTITUTIONS)
def import_form(ctx: Ctx) -> Response:
    return _render(ctx, "billing/import.html.j2", report=None, error=None, errors={})


@route("/facturation/paiements/import", methods=("POST",), access=INSTITUTIONS)
def import_payments(ctx: Ctx) -> Response:
    storage = ctx.request.files.get("fichier")
    if storage is None or not storage.filename:
        return _render(
            ctx,
            "billing/import.html.j2",
            status=422,
            report=None,
            error="Choisissez le fichier CSV du relevé bancaire.",
            errors={"fichier": "Aucun fichier choisi."},
        )
    raw = storage.read(MAX_BANK_FILE + 1)
    if len(raw) > MAX_BANK_FILE:
        return _render(
            ctx,
            "billing/import.html.j2",
            status=422,
            report=None,
            error="Le fichier dépasse 2 Mo.",
            errors={"fichier": "Fichier trop volumineux."},
        )
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        content = raw.decode("cp1252", errors="replace")  # files saved by older spreadsheets
    try:
        report = ctx.rpc("billing", "import_payments", content=content)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return _render(
            ctx,
            "billing/import.html.j2",
            status=422,
            report=None,
            error=exc.message,
            errors=exc.details or {},
        )
    return _render(ctx, "billing/import.html.j2", report=report, error=None, errors={})


# -- pages: reports -------------------------------------------------------------------------


@route("/facturation/anciennete", access=INSTITUTIONS)
def aging_page(ctx: Ctx) -> Response:
    as_of = _date_arg(ctx, "date")
    report = ctx.rpc("billing", "aging", as_of=as_of)
    return _render(ctx, "billing/aging.html.j2", report=report)


@route("/facturation/anciennete.csv", access=INSTITUTIONS)
def aging_csv(ctx: Ctx) -> Response:
    as_of = _date_arg(ctx, "date")
    text = ctx.rpc("billing", "aging_csv", as_of=as_of)
    return _csv(text, f"anciennete-des-comptes-{as_of or clock.today().isoformat()}.csv")


def _statement_employer(ctx: Ctx) -> int | None:
    return None if ctx.actor.is_employer else _int_arg(ctx, "employeur")


@route("/facturation/releve", access=READERS)
def statement_page(ctx: Ctx) -> Response:
    employer_id = _statement_employer(ctx)
    page = ctx.rpc("billing", "statement_page", employer_id=employer_id)
    employers, statement = page["employers"], page["statement"]
    return _render(
        ctx,
        "billing/statement.html.j2",
        statement=statement,
        employers=employers,
        employer_id=employer_id,
    )


@route("/facturation/releve.csv", access=READERS)
def statement_csv(ctx: Ctx) -> Response:
    employer_id = _statement_employer(ctx)
    text = ctx.rpc("billing", "statement_csv", employer_id=employer_id)
    return _csv(text, f"releve-{employer_id or 'toutes-les-organisations'}.csv")


# -- pages: billing settings of the institution ------------------------------------------


@route("/facturation/parametres", access=INSTITUTIONS)
def settings_page(ctx: Ctx) -> Response:
    profile = ctx.rpc("billing", "get_profile")
    return _render(
        ctx, "billing/settings.html.j2", form=profile, errors={}, error=None, notice=_notice(ctx)
    )


@route("/facturation/parametres", methods=("POST",), access=INSTITUTIONS)
def save_settings(ctx: Ctx) -> Response:
    form = ctx.request.form
    data = {
        "gst_number": form.get("gst_number", "").strip()[:60],
        "qst_number": form.get("qst_number", "").strip()[:60],
        "payment_instructions": form.get("payment_instructions", "").strip()[:3000],
    }
    try:
        ctx.rpc("billing", "update_profile", data=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return _render(
            ctx,
            "billing/settings.html.j2",
            status=422,
            form=data,
            errors=exc.details or {},
            error=exc.message,
            notice=None,
        )
    return ctx.redirect("/facturation/parametres?fait=parametres")


# -- JSON API -------------------------------------------------------------------------------


@route(
    "/api/billing/invoices",
    access=READERS,
    response=InvoiceListOut,
    summary="Factures visibles (les siennes : établissement émetteur ou organisation payeuse)",
)
def api_invoices(ctx: Ctx):
    query = {
        "status": _status_arg(ctx, "status"),
        "employer_id": _int_arg(ctx, "employer_id"),
        "limit": min(_int_arg(ctx, "limit") or 200, 1000),
        "offset": _int_arg(ctx, "offset") or 0,
    }
    return ctx.rpc("billing", "list_invoices", query=query)


@route(
    "/api/billing/invoices/<int:invoice_id>",
    access=READERS,
    response=InvoiceOut,
    summary="Une facture, ses paiements et ses crédits",
)
def api_invoice(ctx: Ctx, invoice_id: int):
    return ctx.rpc("billing", "get_invoice", invoice_id=invoice_id)


@route(
    "/api/billing/invoices/<int:invoice_id>/pdf",
    access=READERS,
    summary="La facture en PDF (application/pdf)",
)
def api_invoice_pdf(ctx: Ctx, invoice_id: int):
    return _pdf(ctx.rpc("billing", "invoice_pdf", invoice_id=invoice_id, timeout=90))


@route(
    "/api/billing/invoices/<int:invoice_id>/payments",
    methods=("POST",),
    access=INSTITUTIONS,
    body=PaymentBody,
    response=PaymentOut,
    summary="Enregistrer un paiement (partiel ou complet ; jamais au-delà du solde)",
)
def api_record_payment(ctx: Ctx, invoice_id: int):
    payment = ctx.body.model_dump(mode="json")
    return ctx.rpc("billing", "record_payment", invoice_id=invoice_id, payment=payment), 201


@route(
    "/api/billing/payments/import",
    methods=("POST",),
    access=INSTITUTIONS,
    body=BankFileBody,
    response=ImportOut,
    summary="Importer les paiements d'un relevé bancaire CSV (tout ou rien)",
)
def api_import_payments(ctx: Ctx):
    return ctx.rpc("billing", "import_payments", content=ctx.body.content)


@route(
    "/api/billing/invoicing/run",
    methods=("POST",),
    access=INSTITUTIONS,
    response=IssueOut,
    summary="Facturer maintenant les versements échus de son établissement",
)
def api_issue_due_invoices(ctx: Ctx):
    if ctx.request.content_length:
        raise HttpError(400, "Cette requête ne prend pas de corps.")
    return ctx.rpc("billing", "issue_due_invoices")


@route(
    "/api/billing/plans/<int:plan_id>/costs-incurred",
    access=INSTITUTIONS,
    response=CostsOut,
    summary="Coûts engagés d'un plan annulé : ce qui peut être facturé, ou ce qui l'a été",
)
def api_cancellation_costs(ctx: Ctx, plan_id: int):
    return ctx.rpc("billing", "cancellation_costs", plan_id=plan_id)


@route(
    "/api/billing/plans/<int:plan_id>/costs-incurred",
    methods=("POST",),
    access=INSTITUTIONS,
    body=CostsBody,
    response=CostsOut,
    summary="Inscrire les coûts engagés d'un plan annulé et émettre la facture finale "
    "(une seule fois : les mêmes quantités renvoient la facture déjà émise)",
)
def api_record_cancellation_costs(ctx: Ctx, plan_id: int):
    costs = ctx.body.model_dump(mode="json")
    result = ctx.rpc("billing", "record_cancellation_costs", plan_id=plan_id, costs=costs)
    return result, 201 if result["created"] else 200


@route(
    "/api/billing/credit-notes/<int:credit_note_id>",
    access=READERS,
    response=CreditNoteOut,
    summary="Une note de crédit",
)
def api_credit_note(ctx: Ctx, credit_note_id: int):
    return ctx.rpc("billing", "get_credit_note", credit_note_id=credit_note_id)


@route(
    "/api/billing/statement",
    access=READERS,
    response=StatementOut,
    summary="Relevé de compte d'une organisation employeuse, ou de toutes pour un "
    "établissement (format=csv pour l'exporter)",
)
def api_statement(ctx: Ctx):
    employer_id = _int_arg(ctx, "employer_id")
    if ctx.request.args.get("format") == "csv":
        text = ctx.rpc("billing", "statement_csv", employer_id=employer_id)
        return _csv(text, f"releve-{employer_id or 'toutes-les-organisations'}.csv")
    return ctx.rpc("billing", "statement", employer_id=employer_id)


@route(
    "/api/billing/aging",
    access=INSTITUTIONS,
    response=AgingOut,
    summary="Ancienneté des comptes clients de son établissement (format=csv pour l'exporter)",
)
def api_aging(ctx: Ctx):
    as_of = _date_arg(ctx, "as_of")
    if ctx.request.args.get("format") == "csv":
        text = ctx.rpc("billing", "aging_csv", as_of=as_of)
        return _csv(text, f"anciennete-des-comptes-{as_of or clock.today().isoformat()}.csv")
    return ctx.rpc("billing", "aging", as_of=as_of)


@route(
    "/api/billing/estimates/<int:plan_id>/<int:version>",
    access=ESTIMATE_READERS,
    response=EstimateOut,
    summary="L'estimation des coûts d'une version de plan (parties du plan et Ministère)",
)
def api_estimate(ctx: Ctx, plan_id: int, version: int):
    estimate = ctx.rpc("billing", "get_estimate", plan_id=plan_id, version=version)
    if estimate is None:
        raise HttpError(404, "Estimation des coûts introuvable.")
    return estimate


@route(
    "/api/billing/estimates/preview",
    methods=("POST",),
    access=INSTITUTIONS,
    body=PreviewBody,
    response=PreviewOut,
    summary="Calculer une estimation (totaux, taxes, versements) sans l'enregistrer",
)
def api_preview_estimate(ctx: Ctx):
    return ctx.rpc(
        "billing",
        "preview_estimate",
        estimate=ctx.body.estimate,
        candidate_count=ctx.body.candidate_count,
    )
