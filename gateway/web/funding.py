"""Funding of designated CERACs: pages under ``/financement`` and the JSON API under
``/api/funding``.

Thin handlers over the ``billing`` service, which scopes everything: the ministry sees every
CERAC, a CERAC (the institution designated) only its own statement and projects; another
CERAC's statement or project is "not found". The ministry's administrators and analysts
record allocations, decide projects, edit schedules and record payments; institutions
submit development projects (the service refuses an institution that is not a CERAC);
employers have no access.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from gateway.web.billing import _csv, _file
from gateway.web.framework import Ctx, HttpError, route
from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES, Role
from rac_shared.clock import clock
from rac_shared.errors import DomainError
from rac_shared.formatting import long_date

READERS = MINISTRY_ROLES | INSTITUTION_ROLES
MANAGERS = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES
MANDATE_PARTS = {
    "offer": "Accroître l'offre de service en RAC",
    "quality": "Améliorer la qualité des services offerts",
    "development": "Contribuer au développement de la RAC",
}
DECISIONS = {
    "approved": "Approuver le montant demandé",
    "adjusted": "Approuver un montant ajusté (inférieur au montant demandé)",
    "refused": "Refuser le projet",
}
BUDGET_ROWS = 6
EXTRA_SCHEDULE_ROWS = 2
NOTICES = {
    "allocation": "L'allocation de fonctionnement est enregistrée et son échéancier créé.",
    "projet": "Le projet de développement est soumis au Ministère.",
    "decision": "La décision est enregistrée.",
    "echeancier": "L'échéancier des versements est enregistré.",
    "paiement": "Le versement est enregistré comme payé.",
}


# -- API models -------------------------------------------------------------------------------

Amount = str | int


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class AllocationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fiscal_year: str = Field(description="Exercice financier, p. ex. « 2025-2026 »")
    amount: Amount = Field(description="Montant en texte décimal, p. ex. « 62500.00 »")
    installments: int | None = Field(None, ge=1, le=12)
    note: str = Field("", max_length=2000)


class BudgetLineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(max_length=200)
    amount: Amount


class ProjectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=200)
    mandate_part: Literal["offer", "quality", "development"]
    objectives: str = Field(max_length=8000)
    budget_lines: list[BudgetLineBody] = Field(max_length=50)
    period_start: date
    period_end: date


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "adjusted", "refused"]
    approved_amount: Amount | None = None
    reason: str = Field("", max_length=4000)
    installments: int | None = Field(None, ge=1, le=12)


class ScheduleItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_on: date
    amount: Amount
    hold_report_year: str | None = None


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ScheduleItemBody] = Field(max_length=24)


class PaymentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paid_on: date
    reference: str = Field("", max_length=120)


class OverviewOut(Loose):
    fiscal_year: str
    cap: str | None
    ceracs: list[dict]
    totals: dict
    projects: list[dict]


class FiguresOut(Loose):
    fiscal_year: str
    cap: str | None
    ceracs: list[dict]
    totals: dict


class StatementOut(Loose):
    fiscal_year: str
    cerac: dict
    operating_allocated: str
    projects_approved: str
    paid: str
    remaining: str
    schedule: list[dict]


class ProjectOut(Loose):
    id: int
    status: str
    requested_amount: str


class AllocationOut(Loose):
    id: int
    fiscal_year: str
    amount: str
    disbursements: list[dict]


class DisbursementOut(Loose):
    id: int
    status: str
    amount: str


# -- helpers ----------------------------------------------------------------------------------


def _iso_long_date(value: str | None) -> str:
    return long_date(date.fromisoformat(value)) if value else ""


def _render(ctx: Ctx, template: str, status: int = 200, **context) -> Response:
    ctx.app.templates.filters.setdefault("funding_date", _iso_long_date)
    context.setdefault("notice", NOTICES.get(ctx.request.args.get("fait", "")))
    context.setdefault("error", None)
    context.setdefault("errors", {})
    return ctx.render(
        template,
        status=status,
        mandate_parts=MANDATE_PARTS,
        decisions=DECISIONS,
        can_manage=ctx.actor.role in MANAGERS,
        **context,
    )


def _year_arg(ctx: Ctx, name: str = "exercice") -> str | None:
    value = ctx.request.args.get(name, "").strip()
    if not value:
        return None
    start, dash, end = value.partition("-")
    if not (dash and start.isdigit() and end.isdigit() and len(value) == 9):
        raise HttpError(422, f"Le paramètre « {name} » doit être un exercice AAAA-AAAA.")
    return value


def _field(ctx: Ctx, name: str, limit: int = 200) -> str:
    return ctx.request.form.get(name, "").strip()[:limit]


def _optional_int(text: str) -> int | str | None:
    return int(text) if text.isdigit() else (text or None)


def _statement_url(cerac_id: int, year: str | None, done: str | None = None) -> str:
    query = {k: v for k, v in (("exercice", year), ("fait", done)) if v}
    return f"/financement/ceracs/{cerac_id}" + (f"?{urlencode(query)}" if query else "")


def _pdf(payload: dict) -> Response:
    return _file(base64.b64decode(payload["content_b64"]), payload["filename"], "application/pdf")


# -- pages: overview and statements ---------------------------------------------------------


@route("/financement", access=READERS)
def funding_page(ctx: Ctx) -> Response:
    year = _year_arg(ctx)
    overview = ctx.rpc("billing", "funding_overview", fiscal_year=year)
    return _render(ctx, "funding/index.html.j2", overview=overview, statement=overview["statement"])


def _cerac_page(ctx: Ctx, cerac_id: int, year: str | None, status: int = 200, **context):
    statement = ctx.rpc("billing", "funding_statement", cerac_id=cerac_id, fiscal_year=year)
    context.setdefault(
        "form",
        {"fiscal_year": statement["fiscal_year"], "amount": "", "installments": "", "note": ""},
    )
    return _render(
        ctx,
        "funding/statement.html.j2",
        status=status,
        statement=statement,
        today=clock.today().isoformat(),
        **context,
    )


@route("/financement/ceracs/<int:cerac_id>", access=READERS)
def funding_cerac_page(ctx: Ctx, cerac_id: int) -> Response:
    return _cerac_page(ctx, cerac_id, _year_arg(ctx))


@route("/financement/ceracs/<int:cerac_id>/releve.csv", access=READERS)
def funding_statement_csv(ctx: Ctx, cerac_id: int) -> Response:
    year = _year_arg(ctx)
    text = ctx.rpc("billing", "funding_statement_csv", cerac_id=cerac_id, fiscal_year=year)
    return _csv(text, f"financement-cerac-{cerac_id}-{year or 'exercice-courant'}.csv")


@route("/financement/ceracs/<int:cerac_id>/releve.pdf", access=READERS)
def funding_statement_pdf(ctx: Ctx, cerac_id: int) -> Response:
    year = _year_arg(ctx)
    return _pdf(
        ctx.rpc("billing", "funding_statement_pdf", cerac_id=cerac_id, fiscal_year=year, timeout=90)
    )


@route("/financement/ceracs/<int:cerac_id>/allocations", methods=("POST",), access=MANAGERS)
def funding_allocate(ctx: Ctx, cerac_id: int) -> Response:
    form = {
        "fiscal_year": _field(ctx, "fiscal_year", 20),
        "amount": _field(ctx, "amount", 40),
        "installments": _field(ctx, "installments", 4),
        "note": _field(ctx, "note", 2000),
    }
    data = {**form, "installments": _optional_int(form["installments"])}
    try:
        ctx.rpc("billing", "record_funding_allocation", cerac_id=cerac_id, allocation=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        year = form["fiscal_year"] if len(form["fiscal_year"]) == 9 else None
        try:
            return _cerac_page(
                ctx, cerac_id, year, 422, form=form, errors=exc.details or {}, error=exc.message
            )
        except DomainError:
            return _cerac_page(
                ctx, cerac_id, None, 422, form=form, errors=exc.details or {}, error=exc.message
            )
    return ctx.redirect(_statement_url(cerac_id, form["fiscal_year"], "allocation"))


# -- pages: development projects --------------------------------------------------------------


def _project_form(ctx: Ctx, status: int = 200, **context) -> Response:
    overview = ctx.rpc("billing", "funding_overview")
    empty = {"label": "", "amount": ""}
    context.setdefault(
        "form",
        {
            "title": "",
            "mandate_part": "",
            "objectives": "",
            "period_start": "",
            "period_end": "",
            "lines": [dict(empty) for _ in range(BUDGET_ROWS)],
        },
    )
    return _render(
        ctx, "funding/project_form.html.j2", status=status, is_cerac=overview["is_cerac"], **context
    )


@route("/financement/projets/nouveau", access=INSTITUTIONS)
def funding_project_form(ctx: Ctx) -> Response:
    return _project_form(ctx)


@route("/financement/projets", methods=("POST",), access=INSTITUTIONS)
def funding_submit_project(ctx: Ctx) -> Response:
    lines = [
        {"label": _field(ctx, f"line_label_{i}"), "amount": _field(ctx, f"line_amount_{i}", 40)}
        for i in range(BUDGET_ROWS)
    ]
    form = {
        "title": _field(ctx, "title"),
        "mandate_part": _field(ctx, "mandate_part", 20),
        "objectives": _field(ctx, "objectives", 8000),
        "period_start": _field(ctx, "period_start", 20),
        "period_end": _field(ctx, "period_end", 20),
        "lines": lines,
    }
    data = {k: v for k, v in form.items() if k != "lines"}
    data["budget_lines"] = [line for line in lines if line["label"] or line["amount"]]
    for key in ("period_start", "period_end", "mandate_part"):
        if not data[key]:
            data.pop(key)  # "Ce champ est obligatoire." rather than a parsing message
    try:
        project = ctx.rpc("billing", "submit_funding_project", project=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return _project_form(ctx, 422, form=form, errors=exc.details or {}, error=exc.message)
    return ctx.redirect(f"/financement/projets/{project['id']}?fait=projet")


def _project_page(ctx: Ctx, project_id: int, status: int = 200, **context) -> Response:
    project = ctx.rpc("billing", "get_funding_project", project_id=project_id)
    context.setdefault(
        "form", {"decision": "", "approved_amount": "", "reason": "", "installments": ""}
    )
    context.setdefault("schedule_form", _schedule_rows(project["disbursements"]))
    return _render(
        ctx,
        "funding/project.html.j2",
        status=status,
        project=project,
        today=clock.today().isoformat(),
        **context,
    )


@route("/financement/projets/<int:project_id>", access=READERS)
def funding_project_page(ctx: Ctx, project_id: int) -> Response:
    return _project_page(ctx, project_id)


@route("/financement/projets/<int:project_id>/decision", methods=("POST",), access=MANAGERS)
def funding_decide(ctx: Ctx, project_id: int) -> Response:
    form = {
        "decision": _field(ctx, "decision", 20),
        "approved_amount": _field(ctx, "approved_amount", 40),
        "reason": _field(ctx, "reason", 4000),
        "installments": _field(ctx, "installments", 4),
    }
    data = {
        "decision": form["decision"] or None,
        "approved_amount": form["approved_amount"] if form["decision"] == "adjusted" else None,
        "reason": form["reason"],
        "installments": _optional_int(form["installments"]),
    }
    if data["decision"] is None:
        data.pop("decision")
    try:
        ctx.rpc("billing", "decide_funding_project", project_id=project_id, decision=data)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _project_page(
            ctx, project_id, 422 if exc.code == "invalid" else 409,
            form=form, errors=exc.details or {}, error=exc.message,
        )  # fmt: skip
    return ctx.redirect(f"/financement/projets/{project_id}?fait=decision")


# -- pages: schedules and payments ------------------------------------------------------------


def _schedule_rows(disbursements: list[dict]) -> list[dict]:
    rows = [
        {
            "due_on": d["due_on"],
            "amount": d["amount"],
            "hold_report_year": d["hold_report_year"] or "",
        }
        for d in disbursements
        if d["status"] != "paid"
    ]
    return rows + [{"due_on": "", "amount": "", "hold_report_year": ""}] * EXTRA_SCHEDULE_ROWS


def _schedule_from_form(ctx: Ctx) -> tuple[list[dict], dict]:
    rows = []
    for i in range(24):
        row = {
            "due_on": _field(ctx, f"due_on_{i}", 20),
            "amount": _field(ctx, f"amount_{i}", 40),
            "hold_report_year": _field(ctx, f"hold_{i}", 20),
        }
        if f"due_on_{i}" not in ctx.request.form:
            break
        rows.append(row)
    items = [r for r in rows if r["due_on"] or r["amount"]]
    return rows, {"items": items}


def _allocation_page(ctx: Ctx, allocation_id: int, status: int = 200, **context) -> Response:
    allocation = ctx.rpc("billing", "get_funding_allocation", allocation_id=allocation_id)
    context.setdefault("schedule_form", _schedule_rows(allocation["disbursements"]))
    context.setdefault("today", clock.today().isoformat())  # the payment form's default date
    return _render(
        ctx, "funding/allocation.html.j2", status=status, allocation=allocation, **context
    )


@route("/financement/allocations/<int:allocation_id>", access=READERS)
def funding_allocation_page(ctx: Ctx, allocation_id: int) -> Response:
    return _allocation_page(ctx, allocation_id)


@route(
    "/financement/allocations/<int:allocation_id>/echeancier", methods=("POST",), access=MANAGERS
)
def funding_allocation_schedule(ctx: Ctx, allocation_id: int) -> Response:
    rows, schedule = _schedule_from_form(ctx)
    try:
        ctx.rpc(
            "billing",
            "update_funding_schedule",
            kind="allocation",
            owner_id=allocation_id,
            schedule=schedule,
        )
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return _allocation_page(
            ctx, allocation_id, 422, schedule_form=rows, errors=exc.details or {},
            error=exc.message,
        )  # fmt: skip
    return ctx.redirect(f"/financement/allocations/{allocation_id}?fait=echeancier")


@route("/financement/projets/<int:project_id>/echeancier", methods=("POST",), access=MANAGERS)
def funding_project_schedule(ctx: Ctx, project_id: int) -> Response:
    rows, schedule = _schedule_from_form(ctx)
    try:
        ctx.rpc(
            "billing", "update_funding_schedule", kind="project", owner_id=project_id,
            schedule=schedule,
        )  # fmt: skip
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _project_page(
            ctx, project_id, 422 if exc.code == "invalid" else 409, schedule_form=rows,
            errors=exc.details or {}, error=exc.message,
        )  # fmt: skip
    return ctx.redirect(f"/financement/projets/{project_id}?fait=echeancier")


@route("/financement/versements/<int:disbursement_id>/paiement", methods=("POST",), access=MANAGERS)
def funding_pay(ctx: Ctx, disbursement_id: int) -> Response:
    payment = {"paid_on": _field(ctx, "paid_on", 20), "reference": _field(ctx, "reference", 120)}
    back = _field(ctx, "back", 200)
    if not back.startswith("/financement/") or "//" in back:
        back = "/financement"
    try:
        ctx.rpc(
            "billing",
            "pay_funding_disbursement",
            disbursement_id=disbursement_id,
            payment=payment,
        )
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        raise HttpError(
            422 if exc.code == "invalid" else 409, exc.message, exc.details or {}
        ) from None
    separator = "&" if "?" in back else "?"
    return ctx.redirect(f"{back}{separator}fait=paiement")


# -- JSON API ---------------------------------------------------------------------------------


def _api_year(ctx: Ctx) -> str | None:
    return _year_arg(ctx, "fiscal_year")


@route(
    "/api/funding/ceracs",
    access=READERS,
    response=OverviewOut,
    summary="Financement d'un exercice (fiscal_year=2025-2026) : tous les CERAC pour le "
    "Ministère, le sien pour un CERAC",
)
def api_funding_overview(ctx: Ctx):
    return ctx.rpc("billing", "funding_overview", fiscal_year=_api_year(ctx))


@route(
    "/api/funding/figures",
    access=MINISTRY_ROLES,
    response=FiguresOut,
    summary="Tableau de bord : plafond, fonctionnement alloué, projets approuvés, versé et "
    "reste à verser par CERAC et au total",
)
def api_funding_figures(ctx: Ctx):
    return ctx.rpc("billing", "funding_figures", fiscal_year=_api_year(ctx))


@route(
    "/api/funding/ceracs/<int:cerac_id>/statement",
    access=READERS,
    response=StatementOut,
    summary="État du financement d'un CERAC pour un exercice (format=csv ou pdf pour l'exporter)",
)
def api_funding_statement(ctx: Ctx, cerac_id: int):
    year = _api_year(ctx)
    kind = ctx.request.args.get("format", "")
    if kind == "csv":
        text = ctx.rpc("billing", "funding_statement_csv", cerac_id=cerac_id, fiscal_year=year)
        return _csv(text, f"financement-cerac-{cerac_id}-{year or 'exercice-courant'}.csv")
    if kind == "pdf":
        return _pdf(
            ctx.rpc(
                "billing", "funding_statement_pdf", cerac_id=cerac_id, fiscal_year=year,
                timeout=90,
            )
        )  # fmt: skip
    return ctx.rpc("billing", "funding_statement", cerac_id=cerac_id, fiscal_year=year)


@route(
    "/api/funding/ceracs/<int:cerac_id>/allocations",
    methods=("POST",),
    access=MANAGERS,
    body=AllocationBody,
    response=AllocationOut,
    summary="Enregistrer une allocation de fonctionnement (refusée au-delà du plafond annuel)",
)
def api_funding_allocate(ctx: Ctx, cerac_id: int):
    allocation = ctx.body.model_dump(mode="json")
    return (
        ctx.rpc("billing", "record_funding_allocation", cerac_id=cerac_id, allocation=allocation),
        201,
    )


@route(
    "/api/funding/projects",
    methods=("POST",),
    access=INSTITUTIONS,
    body=ProjectBody,
    response=ProjectOut,
    summary="Soumettre un projet de développement (CERAC désigné)",
)
def api_funding_submit_project(ctx: Ctx):
    project = ctx.body.model_dump(mode="json")
    return ctx.rpc("billing", "submit_funding_project", project=project), 201


@route(
    "/api/funding/projects/<int:project_id>",
    access=READERS,
    response=ProjectOut,
    summary="Un projet de développement, sa décision et ses versements",
)
def api_funding_project(ctx: Ctx, project_id: int):
    return ctx.rpc("billing", "get_funding_project", project_id=project_id)


@route(
    "/api/funding/projects/<int:project_id>/decision",
    methods=("POST",),
    access=MANAGERS,
    body=DecisionBody,
    response=ProjectOut,
    summary="Approuver, ajuster (montant et motif) ou refuser (motif) un projet",
)
def api_funding_decide(ctx: Ctx, project_id: int):
    decision = ctx.body.model_dump(mode="json")
    return ctx.rpc("billing", "decide_funding_project", project_id=project_id, decision=decision)


@route(
    "/api/funding/allocations/<int:allocation_id>/schedule",
    methods=("PUT",),
    access=MANAGERS,
    body=ScheduleBody,
    response=AllocationOut,
    summary="Réécrire les versements non payés d'une allocation (total inchangé)",
)
def api_funding_allocation_schedule(ctx: Ctx, allocation_id: int):
    schedule = ctx.body.model_dump(mode="json")
    return ctx.rpc(
        "billing",
        "update_funding_schedule",
        kind="allocation",
        owner_id=allocation_id,
        schedule=schedule,
    )


@route(
    "/api/funding/projects/<int:project_id>/schedule",
    methods=("PUT",),
    access=MANAGERS,
    body=ScheduleBody,
    response=ProjectOut,
    summary="Réécrire les versements non payés d'un projet approuvé (total inchangé)",
)
def api_funding_project_schedule(ctx: Ctx, project_id: int):
    schedule = ctx.body.model_dump(mode="json")
    return ctx.rpc(
        "billing", "update_funding_schedule", kind="project", owner_id=project_id,
        schedule=schedule,
    )  # fmt: skip


@route(
    "/api/funding/disbursements/<int:disbursement_id>/payment",
    methods=("POST",),
    access=MANAGERS,
    body=PaymentBody,
    response=DisbursementOut,
    summary="Enregistrer le paiement d'un versement (refusé tant qu'il est retenu)",
)
def api_funding_pay(ctx: Ctx, disbursement_id: int):
    payment = ctx.body.model_dump(mode="json")
    return ctx.rpc(
        "billing", "pay_funding_disbursement", disbursement_id=disbursement_id, payment=payment
    )
