"""Workplace RAC implementation plans: pages and JSON API.

Thin handlers over the ``plans`` service (the actor is added by ``ctx.rpc``), which scopes
every plan to its parties: the institution that prepared it, the employer it is addressed
to (once issued). The ministry sees network figures only. Estimates are billing's: the
estimate form goes to billing through the plans service (``save_estimate``), and the plan
pages show billing's estimate view.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from gateway.models import Organisation
from gateway.web.framework import ALL_ROLES, Ctx, HttpError, route
from rac_shared.actor import EMPLOYER_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES
from rac_shared.errors import DomainError

INSTITUTIONS = INSTITUTION_ROLES
EMPLOYERS = EMPLOYER_ROLES
PARTIES = INSTITUTION_ROLES | EMPLOYER_ROLES
ISSUE_TIMEOUT = 90.0  # billing freezes the estimate, then the PDF is rendered
MAX_SCAN_BYTES = 10 * 1024 * 1024

STATUS_FILTERS = {
    "": "Tous",
    "draft": "Brouillons",
    "issued": "Émis, en attente d'acceptation",
    "accepted": "Acceptés",
    "lapsed": "Caducs",
    "declined": "Refusés",
    "cancelled": "Annulés",
    "completed": "Terminés",
}
STEP_FIELDS = (
    ("information_meeting", "Rencontre d’information"),
    ("file_deposit", "Dépôt du dossier"),
    ("validation_interview", "Entrevue de validation"),
    ("welcome_meeting", "Rencontre d’accueil"),
    ("missing_training", "Formation manquante"),
    ("sanction", "Sanction"),
)
PROGRESS_STEPS = (
    ("not_started", "Pas encore commencé"),
    ("information_meeting", "Rencontre d’information"),
    ("file_deposit", "Dépôt du dossier"),
    ("validation_interview", "Entrevue de validation"),
    ("welcome_meeting", "Rencontre d’accueil"),
    ("evaluations", "Évaluations"),
    ("missing_training", "Formation manquante"),
    ("sanction", "Sanction"),
)
RESULTS = (
    ("en_cours", "En cours"),
    ("reconnue", "Reconnue"),
    ("formation_manquante", "Formation manquante"),
)
ANNEX_B_CATEGORIES = (
    ("accompaniment", "Moyens d’accompagnement"),
    ("facilitating", "Conditions facilitantes"),
    ("modalities", "Modalités"),
)
LINE_CATEGORIES = (
    ("advisory", "Services-conseils auprès de l'organisation"),
    ("administrative", "Frais administratifs"),
    ("accompaniment", "Accompagnement de candidats-travailleurs"),
    ("evaluation", "Frais d'évaluation (par candidat-travailleur)"),
    ("abandonment", "Abandon de la démarche de RAC"),
    ("other", "Autre"),
)
MILESTONES = (
    ("acceptance", "à l'acceptation du plan"),
    ("welcome_meeting", "à la rencontre d'accueil"),
    ("end_of_evaluations", "à la fin des évaluations"),
)
NOTICES = {
    "cree": "Le plan est créé à partir du modèle de l'établissement. Complétez chaque section.",
    "enregistre": "Les modifications sont enregistrées.",
    "emis": "Le plan est émis : l'organisation a 30 jours pour l'accepter.",
    "accepte": "Le plan est accepté. Merci : l'établissement en est avisé.",
    "refuse": "L'offre est refusée : l'établissement en est avisé, avec le motif du refus.",
    "acceptation": "L'acceptation reçue est enregistrée.",
    "modification": "Une nouvelle version est en préparation : modifiez-la puis émettez-la.",
    "annule": "Le plan est annulé.",
    "termine": "Le projet est marqué comme terminé.",
    "estimation": "L'estimation des coûts est enregistrée.",
    "modele": "Le modèle d'annexes de l'établissement est enregistré.",
    "suivi": "Le suivi est enregistré.",
}
FIELD_LABELS = {
    "context": "Contexte de réalisation",
    "objectives": "Objectifs",
    "competencies": "Compétences",
    "candidates": "Candidats-travailleurs",
    "employer_id": "Organisation",
    "code": "Code",
    "statement": "Énoncé",
    "weeks_3h": "Semaines à 3 h",
    "weeks_6h": "Semaines à 6 h",
    "email": "Courriel",
    "rhythm": "Rythme",
    "start_date": "Date de début",
    "estimate": "Estimation des coûts",
    "signatory_name": "Signataire de l'établissement",
    "representative_name": "Personne représentante",
    "representative_email": "Courriel de la personne représentante",
}


# -- API models ---------------------------------------------------------------------------


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlanCreateBody(Body):
    employer_id: int | None = Field(None, description="Organisation employeuse du répertoire")
    employer_name: str = Field("", max_length=300)
    employer_service: str = Field("", max_length=300)
    employer_address: str = Field("", max_length=2000)
    representative_name: str = Field("", max_length=300)
    representative_title: str = Field("", max_length=300)
    representative_email: str = Field("", max_length=300)
    program_kind: Literal["AEC", "DEC"]
    program_code: str = Field(max_length=20, description="Code de la forme XXX.XX")
    program_title: str = Field(max_length=200)
    target_jobs: str = Field("", max_length=300)
    organisation_domain: str = Field("", max_length=300)


class DraftBody(BaseModel):
    """Parts of the draft version to replace, each whole (see the plan's JSON view)."""

    model_config = ConfigDict(extra="forbid")

    institution: dict[str, Any] | None = None
    employer: dict[str, Any] | None = None
    program: dict[str, Any] | None = None
    sections: dict[str, Any] | None = None
    competencies: list[dict[str, Any]] | None = None
    candidates: list[dict[str, Any]] | None = None
    steps: list[dict[str, Any]] | None = None
    closure_dates: list[str] | None = None
    aide_memoire: dict[str, Any] | None = None
    annexes: dict[str, Any] | None = None


class EstimateBody(BaseModel):
    """Billing's estimate (lines, installments, terms), as in the plans–billing contract."""

    model_config = ConfigDict(extra="forbid")

    lines: list[dict[str, Any]]
    installments: list[dict[str, Any]] = Field(default_factory=list)
    payment_term_days: int = 30
    refund_conditions: str = ""
    abandonment_fee: str = "0.00"


class AcceptBody(Body):
    version: int = Field(ge=1)
    content_hash: str = Field(min_length=64, max_length=64)
    full_name: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    statement: str = Field(max_length=40, description="« J’accepte »")


class RecordBody(Body):
    version: int = Field(ge=1)
    received_on: date
    signed_by_name: str = Field(min_length=1, max_length=200)
    signed_by_title: str = Field("", max_length=200)
    filename: str = Field(min_length=1, max_length=200)
    content_b64: str = Field(min_length=4, description="Copie numérisée (PDF, PNG, JPEG)")


class DeclineBody(Body):
    version: int = Field(ge=1, description="La version en attente d'acceptation")
    reason: str = Field(min_length=1, max_length=2000, description="Motif du refus")


class SummaryBody(Body):
    summary: str = Field(min_length=1, max_length=4000)


class ReasonBody(Body):
    reason: str = Field(min_length=1, max_length=2000)


class StepBody(Body):
    step: str = Field(max_length=40)


class ResultBody(Body):
    competency_code: str = Field(max_length=12)
    result: Literal["en_cours", "reconnue", "formation_manquante"]


class AbandonBody(Body):
    abandoned_on: date


class AnnexTemplateBody(Body):
    annex_a: str = Field(max_length=40000)
    annex_b: str = Field(max_length=20000)
    annex_c: str = Field(max_length=20000)
    logo: str = Field("", max_length=800000, description="data:image/png;base64,… ou vide")


class PlanRowOut(Loose):
    id: int
    reference: str
    status: str
    status_label: str
    employer_name: str
    program: str
    days_left: int | None = None


class PlanListOut(BaseModel):
    plans: list[PlanRowOut]


class PlanOut(Loose):
    plan: PlanRowOut
    version: dict
    content: dict
    computed: dict
    permissions: dict


class FiguresOut(Loose):
    total: int
    by_status: list[dict]
    acceptance_rate: float | None


class ProgressOut(Loose):
    plan: PlanRowOut
    available: bool
    aggregate: dict | None
    candidates: list[dict] | None


# -- helpers ----------------------------------------------------------------------------------


def _download(document: dict, inline: bool = False) -> Response:
    content = base64.b64decode(document["content_b64"])
    disposition = "inline" if inline else "attachment"
    filename = document["filename"]
    response = Response(content, mimetype=document.get("mime") or "application/pdf")
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _notice(ctx: Ctx) -> str | None:
    return NOTICES.get(ctx.request.args.get("ok", ""))


def _employers(ctx: Ctx) -> list[dict]:
    """Employer organisations of the directory (the gateway's own), for the new-plan form."""
    from sqlalchemy import select

    session = ctx.db()
    try:
        rows = session.execute(
            select(Organisation.id, Organisation.name, Organisation.address)
            .where(Organisation.kind == "employer")
            .order_by(Organisation.name)
        ).all()
    finally:
        session.close()
    return [{"id": r.id, "name": r.name, "address": r.address} for r in rows]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _field_errors(details: dict) -> dict:
    """Service error paths (« sections.context », « competencies.2.code ») by form field."""
    errors = {}
    for path, message in (details or {}).items():
        parts = [p for p in str(path).split(".") if not p.isdigit()] or ["corps"]
        errors.setdefault(parts[-1], message)
        errors.setdefault(str(path), message)
    return errors


def _int_or(value: str, default=None):
    value = (value or "").strip()
    return int(value) if value.isdigit() else (value or default)


def _plan(ctx: Ctx, plan_id: int, version: int | None = None) -> dict:
    return ctx.rpc("plans", "get_plan", plan_id=plan_id, version=version)


def _estimate_for(ctx: Ctx, view: dict) -> dict | None:
    """The frozen estimate of an issued version, billing's current one for a draft."""
    version = view["version"]
    if version.get("estimate"):
        return version["estimate"]
    if view["plan"]["employer_id"] is None:
        return None
    try:
        return ctx.rpc(
            "billing", "get_estimate", plan_id=view["plan"]["id"], version=version["number"]
        )
    except DomainError:
        return None


def _render_plan(ctx: Ctx, view: dict, status: int = 200, **extra) -> Response:
    return ctx.render(
        "plans/plan.html.j2",
        status=status,
        view=view,
        plan=view["plan"],
        content=view["content"],
        computed=view["computed"],
        estimate=_estimate_for(ctx, view),
        notice=_notice(ctx),
        error=extra.pop("error", None),
        errors=extra.pop("errors", {}),
        form=extra.pop("form", {}),
        **extra,
    )


# -- pages: lists ---------------------------------------------------------------------------


@route("/plans", access=ALL_ROLES)
def plans_page(ctx: Ctx) -> Response:
    if ctx.actor.role in MINISTRY_ROLES:
        figures = ctx.rpc("plans", "network_figures")
        return ctx.render("plans/figures.html.j2", figures=figures)
    status = ctx.request.args.get("statut", "")
    if status not in STATUS_FILTERS:
        status = ""
    plans = ctx.rpc("plans", "list_plans", status=status or None)
    return ctx.render(
        "plans/list.html.j2",
        plans=plans,
        selected=status,
        filters=STATUS_FILTERS,
        institution=ctx.actor.is_institution,
        notice=_notice(ctx),
    )


@route("/plans/nouveau", access=INSTITUTIONS)
def plan_new_form(ctx: Ctx) -> Response:
    return ctx.render(
        "plans/new.html.j2", employers=_employers(ctx), form={}, errors={}, error=None
    )


@route("/plans/nouveau", methods=("POST",), access=INSTITUTIONS)
def plan_create(ctx: Ctx) -> Response:
    form = ctx.request.form
    employer = form.get("employer_id", "").strip()
    data = {
        "employer_id": int(employer) if employer.isdigit() else None,
        "employer_name": form.get("employer_name", "")[:300],
        "employer_service": form.get("employer_service", "")[:300],
        "employer_address": form.get("employer_address", "")[:2000],
        "representative_name": form.get("representative_name", "")[:300],
        "representative_title": form.get("representative_title", "")[:300],
        "representative_email": form.get("representative_email", "")[:300],
        "program_kind": form.get("program_kind", ""),
        "program_code": form.get("program_code", "")[:20],
        "program_title": form.get("program_title", "")[:200],
        "target_jobs": form.get("target_jobs", "")[:300],
        "organisation_domain": form.get("organisation_domain", "")[:300],
    }
    try:
        created = ctx.rpc("plans", "create_plan", data=data)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return ctx.render(
            "plans/new.html.j2",
            status=422,
            employers=_employers(ctx),
            form=form.to_dict(),
            errors=_field_errors(exc.details),
            error=exc.message,
        )
    return ctx.redirect(f"/plans/{created['id']}/modifier?ok=cree")


# -- pages: one plan ---------------------------------------------------------------------------


@route("/plans/<int:plan_id>", access=PARTIES)
def plan_page(ctx: Ctx, plan_id: int) -> Response:
    version = ctx.request.args.get("version", "")
    view = _plan(ctx, plan_id, int(version) if version.isdigit() else None)
    return _render_plan(ctx, view)


@route("/plans/<int:plan_id>/pdf", access=PARTIES)
def plan_pdf(ctx: Ctx, plan_id: int) -> Response:
    version = ctx.request.args.get("version", "")
    document = ctx.rpc(
        "plans", "get_pdf", plan_id=plan_id, version=int(version) if version.isdigit() else None
    )
    return _download(document)


@route("/plans/<int:plan_id>/apercu.pdf", access=INSTITUTIONS)
def plan_preview_pdf(ctx: Ctx, plan_id: int) -> Response:
    return _download(ctx.rpc("plans", "preview_pdf", plan_id=plan_id, timeout=ISSUE_TIMEOUT))


@route("/plans/<int:plan_id>/emettre", methods=("POST",), access=INSTITUTIONS)
def plan_issue(ctx: Ctx, plan_id: int) -> Response:
    try:
        ctx.rpc("plans", "issue", plan_id=plan_id, timeout=ISSUE_TIMEOUT)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        view = _plan(ctx, plan_id)
        return _render_plan(
            ctx, view, status=422, error=exc.message, errors=_field_errors(exc.details)
        )
    return ctx.redirect(f"/plans/{plan_id}?ok=emis")


@route("/plans/<int:plan_id>/acceptation-recue", methods=("POST",), access=INSTITUTIONS)
def plan_record_acceptance(ctx: Ctx, plan_id: int) -> Response:
    form = ctx.request.form
    upload = ctx.request.files.get("fichier")
    content = upload.read(MAX_SCAN_BYTES + 1) if upload else b""
    version = form.get("version", "")
    data = {
        "version": int(version) if version.isdigit() else 0,
        "received_on": form.get("received_on", ""),
        "signed_by_name": form.get("signed_by_name", "")[:200],
        "signed_by_title": form.get("signed_by_title", "")[:200],
        "filename": (upload.filename if upload else "") or "",
        "content_b64": base64.b64encode(content).decode("ascii") if content else "",
    }
    try:
        if not content:
            raise DomainError(
                "Joignez la copie numérisée de l'acceptation signée.",
                {"fichier": "Fichier manquant."},
                "invalid",
            )
        if len(content) > MAX_SCAN_BYTES:
            raise DomainError("Le fichier dépasse 10 Mo.", {"fichier": "Trop volumineux."})
        ctx.rpc("plans", "record_acceptance", plan_id=plan_id, data=data)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        view = _plan(ctx, plan_id)
        return _render_plan(
            ctx,
            view,
            status=422,
            error=exc.message,
            errors=_field_errors(exc.details),
            form=form.to_dict(),
        )
    return ctx.redirect(f"/plans/{plan_id}?ok=acceptation")


@route("/plans/<int:plan_id>/acceptation-recue/<int:version>", access=PARTIES)
def plan_acceptance_scan(ctx: Ctx, plan_id: int, version: int) -> Response:
    return _download(ctx.rpc("plans", "get_acceptance_scan", plan_id=plan_id, version=version))


@route("/plans/<int:plan_id>/accepter", access=EMPLOYERS)
def plan_accept_form(ctx: Ctx, plan_id: int) -> Response:
    view = _plan(ctx, plan_id)
    return ctx.render(
        "plans/accept.html.j2",
        view=view,
        plan=view["plan"],
        form={"full_name": ctx.actor.full_name},
        errors={},
        error=None,
    )


@route("/plans/<int:plan_id>/accepter", methods=("POST",), access=EMPLOYERS)
def plan_accept(ctx: Ctx, plan_id: int) -> Response:
    form = ctx.request.form
    version = form.get("version", "")
    data = {
        "version": int(version) if version.isdigit() else 0,
        "content_hash": form.get("content_hash", "")[:64],
        "full_name": form.get("full_name", "")[:200],
        "title": form.get("title", "")[:200],
        "statement": form.get("statement", "")[:40],
    }
    return _answer_offer(
        ctx,
        plan_id,
        "plans/accept.html.j2",
        (
            "lu",
            "Confirmez avoir lu le plan et ses annexes A, B et C avant de l'accepter.",
            "Cochez la case pour confirmer votre lecture.",
        ),
        lambda: ctx.rpc("plans", "accept_online", plan_id=plan_id, data=data, ip=ctx.client_ip()),
        "accepte",
    )


def _answer_offer(ctx: Ctx, plan_id: int, template: str, confirmation, send, done: str):
    """The employer's answer to the offer awaiting it (accept or decline): the confirmation
    box must be checked, then ``send`` calls the service; a refusal re-renders the form with
    what was typed (422, or 409 when the offer no longer awaits an answer)."""
    form = ctx.request.form
    field, message, hint = confirmation
    try:
        if form.get(field) != "oui":
            raise DomainError(message, {field: hint}, "invalid")
        send()
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        view = _plan(ctx, plan_id)
        return ctx.render(
            template,
            status=422 if exc.code == "invalid" else 409,
            view=view,
            plan=view["plan"],
            form=form.to_dict(),
            errors=_field_errors(exc.details),
            error=exc.message,
        )
    return ctx.redirect(f"/plans/{plan_id}?ok={done}")


@route("/plans/<int:plan_id>/refuser", access=EMPLOYERS)
def plan_decline_form(ctx: Ctx, plan_id: int) -> Response:
    view = _plan(ctx, plan_id)
    return ctx.render(
        "plans/decline.html.j2", view=view, plan=view["plan"], form={}, errors={}, error=None
    )


@route("/plans/<int:plan_id>/refuser", methods=("POST",), access=EMPLOYERS)
def plan_decline(ctx: Ctx, plan_id: int) -> Response:
    """The employer's representative declines the offer, after confirming, with a reason."""
    form = ctx.request.form
    version = form.get("version", "")
    data = {
        "version": int(version) if version.isdigit() else 0,
        "reason": form.get("reason", "")[:2000],
    }
    return _answer_offer(
        ctx,
        plan_id,
        "plans/decline.html.j2",
        (
            "confirme",
            "Confirmez que vous refusez l'offre au nom de l'organisation.",
            "Cochez la case pour confirmer le refus.",
        ),
        lambda: ctx.rpc("plans", "decline", plan_id=plan_id, data=data),
        "refuse",
    )


@route("/plans/<int:plan_id>/modification", methods=("POST",), access=INSTITUTIONS)
def plan_amend(ctx: Ctx, plan_id: int) -> Response:
    summary = ctx.request.form.get("summary", "")[:4000]
    try:
        ctx.rpc("plans", "amend", plan_id=plan_id, data={"summary": summary})
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        view = _plan(ctx, plan_id)
        return _render_plan(
            ctx,
            view,
            status=422,
            error=exc.message,
            errors=_field_errors(exc.details),
            form={"summary": summary},
        )
    return ctx.redirect(f"/plans/{plan_id}/modifier?ok=modification")


@route("/plans/<int:plan_id>/comparaison", access=PARTIES)
def plan_compare(ctx: Ctx, plan_id: int) -> Response:
    args = ctx.request.args
    left, right = args.get("de", ""), args.get("a", "")
    compared = ctx.rpc(
        "plans",
        "compare",
        plan_id=plan_id,
        left=int(left) if left.isdigit() else None,
        right=int(right) if right.isdigit() else None,
    )
    estimate = None
    try:
        estimate = ctx.rpc(
            "billing", "get_estimate", plan_id=plan_id, version=compared["right"]["number"]
        )
    except DomainError:
        estimate = None
    return ctx.render("plans/compare.html.j2", compared=compared, estimate=estimate)


@route("/plans/<int:plan_id>/annuler", methods=("POST",), access=PARTIES)
def plan_cancel(ctx: Ctx, plan_id: int) -> Response:
    reason = ctx.request.form.get("reason", "")[:2000]
    try:
        ctx.rpc("plans", "cancel", plan_id=plan_id, data={"reason": reason})
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        view = _plan(ctx, plan_id)
        return _render_plan(
            ctx,
            view,
            status=422,
            error=exc.message,
            errors=_field_errors(exc.details),
            form={"reason": reason},
        )
    return ctx.redirect(f"/plans/{plan_id}?ok=annule")


@route("/plans/<int:plan_id>/terminer", methods=("POST",), access=INSTITUTIONS)
def plan_complete(ctx: Ctx, plan_id: int) -> Response:
    try:
        ctx.rpc("plans", "complete", plan_id=plan_id)
    except DomainError as exc:
        if exc.code != "conflict":
            raise
        return _render_plan(ctx, _plan(ctx, plan_id), status=409, error=exc.message)
    return ctx.redirect(f"/plans/{plan_id}?ok=termine")


# -- pages: the editor ---------------------------------------------------------------------


def _edit_values(view: dict) -> dict:
    """The draft's content as the editor's flat form fields."""
    c = view["content"]
    s, inst, emp, prog = c["sections"], c["institution"], c["employer"], c["program"]
    am, ax = c["aide_memoire"], c["annexes"]
    values = {
        "signatory_name": inst["signatory_name"],
        "signatory_title": inst["signatory_title"],
        "institution_address": inst["address"],
        "institution_contact": inst["contact"],
        "employer_name": emp["name"],
        "employer_service": emp["service"],
        "employer_address": emp["address"],
        "representative_name": emp["representative_name"],
        "representative_title": emp["representative_title"],
        "representative_email": emp["representative_email"],
        "program_kind": prog["kind"],
        "program_code": prog["code"],
        "program_title": prog["title"],
        "domains": "\n".join(s["domains"]),
        "objectives": "\n".join(s["objectives"]),
        "closure_dates": "\n".join(str(d) for d in c["closure_dates"]),
        "annex_a": ax["annex_a"],
        "annex_b": ax["annex_b"],
        "annex_c": ax["annex_c"],
        "annex_c_representative": ax["annex_c_representative"],
        "annex_c_start_date": ax["annex_c_start_date"] or "",
    }
    for key in (
        "context",
        "target_jobs",
        "institution_expertise",
        "equipment",
        "specialists_text",
        "organisation_domain",
        "organisation_expertise",
        "process",
        "implementation",
        "missing_training_procedure",
    ):
        values[key] = s[key]
    for key in am:
        values[key] = am[key]
    for i, person in enumerate(s["specialists"]):
        values[f"specialist_name_{i}"] = person["name"]
        values[f"specialist_field_{i}"] = person["field"]
    for i, entry in enumerate(ax["annex_b_entries"]):
        values[f"b_category_{i}"] = entry["category"]
        values[f"b_what_{i}"] = entry["what"]
        values[f"b_who_{i}"] = entry["who"]
    steps = {st["kind"]: st for st in c["steps"]}
    for kind, _ in STEP_FIELDS:
        step = steps.get(kind, {})
        values[f"{kind}_start"] = step.get("start") or ""
        values[f"{kind}_end"] = step.get("end") or ""
        values[f"{kind}_period"] = step.get("period") or ""
    return values


def _render_editor(
    ctx: Ctx, view: dict, status: int = 200, submitted: dict | None = None, **extra
) -> Response:
    values = _edit_values(view)
    values.update(submitted or {})
    return ctx.render(
        "plans/edit.html.j2",
        status=status,
        view=view,
        plan=view["plan"],
        content=view["content"],
        computed=view["computed"],
        v=values,
        specialists_rows=max(len(view["content"]["sections"]["specialists"]) + 2, 3),
        annex_b_rows=max(len(view["content"]["annexes"]["annex_b_entries"]) + 2, 4),
        step_fields=STEP_FIELDS,
        annex_b_categories=ANNEX_B_CATEGORIES,
        notice=_notice(ctx),
        error=extra.get("error"),
        errors=extra.get("errors", {}),
        add_form=extra.get("add_form", ""),
    )


@route("/plans/<int:plan_id>/modifier", access=INSTITUTIONS)
def plan_edit_form(ctx: Ctx, plan_id: int) -> Response:
    view = _plan(ctx, plan_id)
    if not view["permissions"]["edit"]:
        return ctx.redirect(f"/plans/{plan_id}")
    return _render_editor(ctx, view)


def _save_draft(ctx: Ctx, plan_id: int, method: str, anchor: str, **kwargs) -> Response:
    try:
        ctx.rpc("plans", method, plan_id=plan_id, **kwargs)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        view = _plan(ctx, plan_id)
        return _render_editor(
            ctx,
            view,
            status=422 if exc.code == "invalid" else 409,
            submitted=ctx.request.form.to_dict(),
            error=exc.message,
            errors=_field_errors(exc.details),
            add_form=anchor,
        )
    return ctx.redirect(f"/plans/{plan_id}/modifier?ok=enregistre#{anchor}")


def _rows(form, prefix: str, fields: tuple[str, ...], limit: int = 60) -> list[dict]:
    rows = []
    for i in range(limit):
        row = {f: form.get(f"{prefix}_{f}_{i}", "").strip() for f in fields}
        if any(row.values()):
            rows.append(row)
    return rows


@route("/plans/<int:plan_id>/sections", methods=("POST",), access=INSTITUTIONS)
def plan_save_sections(ctx: Ctx, plan_id: int) -> Response:
    f = ctx.request.form
    specialists = [
        {"name": r["name"], "field": r["field"]}
        for r in _rows(f, "specialist", ("name", "field"), 40)
    ]
    institution_name = _plan(ctx, plan_id)["content"]["institution"]["name"]
    data = {
        "institution": {
            "name": institution_name,  # the directory's name, not editable here
            "address": f.get("institution_address", ""),
            "contact": f.get("institution_contact", ""),
            "signatory_name": f.get("signatory_name", ""),
            "signatory_title": f.get("signatory_title", ""),
        },
        "employer": {
            "name": f.get("employer_name", ""),
            "service": f.get("employer_service", ""),
            "address": f.get("employer_address", ""),
            "representative_name": f.get("representative_name", ""),
            "representative_title": f.get("representative_title", ""),
            "representative_email": f.get("representative_email", ""),
        },
        "program": {
            "kind": f.get("program_kind", ""),
            "code": f.get("program_code", ""),
            "title": f.get("program_title", ""),
        },
        "sections": {
            "context": f.get("context", ""),
            "target_jobs": f.get("target_jobs", ""),
            "institution_expertise": f.get("institution_expertise", ""),
            "domains": _lines(f.get("domains", "")),
            "equipment": f.get("equipment", ""),
            "specialists_text": f.get("specialists_text", ""),
            "specialists": specialists,
            "organisation_domain": f.get("organisation_domain", ""),
            "organisation_expertise": f.get("organisation_expertise", ""),
            "objectives": _lines(f.get("objectives", "")),
            "process": f.get("process", ""),
            "implementation": f.get("implementation", ""),
            "missing_training_procedure": f.get("missing_training_procedure", ""),
        },
    }
    return _save_draft(ctx, plan_id, "update_draft", "sections", data=data)


@route("/plans/<int:plan_id>/etapes", methods=("POST",), access=INSTITUTIONS)
def plan_save_steps(ctx: Ctx, plan_id: int) -> Response:
    f = ctx.request.form
    steps = [
        {
            "kind": kind,
            "start": f.get(f"{kind}_start") or None,
            "end": f.get(f"{kind}_end") or None,
            "period": f.get(f"{kind}_period", ""),
        }
        for kind, _ in STEP_FIELDS
    ]
    data = {"steps": steps, "closure_dates": _lines(f.get("closure_dates", ""))}
    return _save_draft(ctx, plan_id, "update_draft", "etapes", data=data)


@route("/plans/<int:plan_id>/aide-memoire", methods=("POST",), access=INSTITUTIONS)
def plan_save_aide_memoire(ctx: Ctx, plan_id: int) -> Response:
    f = ctx.request.form
    keys = (
        "evaluation_fees_note",
        "human_financial_resources",
        "safety_equipment",
        "refund_conditions",
        "modalities",
    )
    data = {"aide_memoire": {k: f.get(k, "") for k in keys}}
    return _save_draft(ctx, plan_id, "update_draft", "aide-memoire", data=data)


@route("/plans/<int:plan_id>/annexes", methods=("POST",), access=INSTITUTIONS)
def plan_save_annexes(ctx: Ctx, plan_id: int) -> Response:
    f = ctx.request.form
    entries = [
        {"category": r["category"], "what": r["what"], "who": r["who"]}
        for r in _rows(f, "b", ("category", "what", "who"), 60)
        if r["what"] or r["who"]
    ]
    data = {
        "annexes": {
            "annex_a": f.get("annex_a", ""),
            "annex_b": f.get("annex_b", ""),
            "annex_b_entries": entries,
            "annex_c": f.get("annex_c", ""),
            "annex_c_representative": f.get("annex_c_representative", ""),
            "annex_c_start_date": f.get("annex_c_start_date") or None,
        }
    }
    return _save_draft(ctx, plan_id, "update_draft", "annexes", data=data)


@route("/plans/<int:plan_id>/competences", methods=("POST",), access=INSTITUTIONS)
def plan_add_competency(ctx: Ctx, plan_id: int) -> Response:
    f = ctx.request.form
    competency = {
        "code": f.get("code", "")[:12],
        "statement": f.get("statement", "")[:500],
        "group": f.get("group", "")[:60],
        "weeks_3h": _int_or(f.get("weeks_3h", ""), None),
        "weeks_6h": _int_or(f.get("weeks_6h", ""), None),
    }
    return _save_draft(ctx, plan_id, "add_competency", "competences", competency=competency)


@route("/plans/<int:plan_id>/competences/<code>/retirer", methods=("POST",), access=INSTITUTIONS)
def plan_remove_competency(ctx: Ctx, plan_id: int, code: str) -> Response:
    return _save_draft(ctx, plan_id, "remove_competency", "competences", code=code[:12])


@route("/plans/<int:plan_id>/candidats", methods=("POST",), access=INSTITUTIONS)
def plan_add_candidate(ctx: Ctx, plan_id: int) -> Response:
    f = ctx.request.form
    candidate = {
        "full_name": f.get("full_name", "")[:200],
        "job_title": f.get("job_title", "")[:300],
        "email": f.get("email", "")[:300],
        "rhythm": _int_or(f.get("rhythm", ""), None),
        "start_date": f.get("start_date", "") or None,
        "modality": f.get("modality", ""),
    }
    return _save_draft(ctx, plan_id, "add_candidate", "candidats", candidate=candidate)


@route(
    "/plans/<int:plan_id>/candidats/<int:candidate_id>/retirer",
    methods=("POST",),
    access=INSTITUTIONS,
)
def plan_remove_candidate(ctx: Ctx, plan_id: int, candidate_id: int) -> Response:
    return _save_draft(ctx, plan_id, "remove_candidate", "candidats", candidate_id=candidate_id)


# -- pages: the estimate (billing's) ----------------------------------------------------------


ESTIMATE_ROWS = 8
INSTALLMENT_ROWS = 4


def _estimate_values(estimate: dict | None) -> dict:
    values: dict[str, Any] = {
        "payment_term_days": 30,
        "refund_conditions": "",
        "abandonment_fee": "",
    }
    if not estimate:
        return values
    for i, line in enumerate(estimate.get("lines", [])):
        for key in ("category", "description", "quantity", "unit", "unit_price", "tax"):
            values[f"line_{key}_{i}"] = line.get(key) or ""
    for i, item in enumerate(estimate.get("installments", [])):
        due = item.get("due") or {}
        values[f"inst_label_{i}"] = item.get("label", "")
        values[f"inst_percent_{i}"] = item.get("percent") or ""
        values[f"inst_amount_{i}"] = item.get("fixed_amount") or ""
        values[f"inst_kind_{i}"] = due.get("kind", "milestone")
        values[f"inst_date_{i}"] = due.get("date", "")
        values[f"inst_milestone_{i}"] = due.get("milestone", "")
        values[f"inst_offset_{i}"] = due.get("offset_days", 0)
    values["payment_term_days"] = estimate.get("payment_term_days", 30)
    values["refund_conditions"] = estimate.get("refund_conditions", "")
    values["abandonment_fee"] = estimate.get("abandonment_fee", "")
    return values


def _estimate_from_form(form) -> dict:
    lines = []
    for row in _rows(
        form, "line", ("category", "description", "quantity", "unit", "unit_price", "tax"), 40
    ):
        if not (row["description"] or row["unit_price"]):
            continue
        lines.append({**row, "tax": row["tax"] or "taxable"})
    installments = []
    for row in _rows(
        form, "inst", ("label", "percent", "amount", "kind", "date", "milestone", "offset"), 20
    ):
        if not row["label"]:
            continue
        if row["kind"] == "date":
            due = {"kind": "date", "date": row["date"] or None}
        else:
            due = {
                "kind": "milestone",
                "milestone": row["milestone"] or "acceptance",
                "offset_days": _int_or(row["offset"], 0),
            }
        installments.append(
            {
                "label": row["label"],
                "percent": row["percent"] or None,
                "amount": row["amount"] or None,
                "due": due,
            }
        )
    term = form.get("payment_term_days", "30").strip()
    return {
        "lines": lines,
        "installments": installments,
        "payment_term_days": int(term) if term.isdigit() else term,
        "refund_conditions": form.get("refund_conditions", "")[:4000],
        "abandonment_fee": form.get("abandonment_fee", "").strip() or "0.00",
    }


def _render_estimate(ctx, view, estimate, values, status=200, error=None, errors=None):
    return ctx.render(
        "plans/estimate.html.j2",
        status=status,
        view=view,
        plan=view["plan"],
        estimate=estimate,
        v=values,
        line_rows=max(len((estimate or {}).get("lines", [])) + 3, ESTIMATE_ROWS),
        installment_rows=max(len((estimate or {}).get("installments", [])) + 1, INSTALLMENT_ROWS),
        categories=LINE_CATEGORIES,
        milestones=MILESTONES,
        notice=_notice(ctx),
        error=error,
        errors=errors or {},
    )


@route("/plans/<int:plan_id>/estimation", access=INSTITUTIONS)
def plan_estimate_form(ctx: Ctx, plan_id: int) -> Response:
    view = _plan(ctx, plan_id)
    estimate = _estimate_for(ctx, view)
    return _render_estimate(ctx, view, estimate, _estimate_values(estimate))


@route("/plans/<int:plan_id>/estimation", methods=("POST",), access=INSTITUTIONS)
def plan_estimate_save(ctx: Ctx, plan_id: int) -> Response:
    estimate = _estimate_from_form(ctx.request.form)
    try:
        ctx.rpc("plans", "save_estimate", plan_id=plan_id, estimate=estimate)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        view = _plan(ctx, plan_id)
        return _render_estimate(
            ctx,
            view,
            _estimate_for(ctx, view),
            ctx.request.form.to_dict(),
            status=422 if exc.code == "invalid" else 409,
            error=exc.message,
            errors=exc.details or {},
        )
    return ctx.redirect(f"/plans/{plan_id}/estimation?ok=estimation")


# -- pages: progress ---------------------------------------------------------------------------


@route("/plans/<int:plan_id>/suivi", access=PARTIES)
def plan_progress_page(ctx: Ctx, plan_id: int) -> Response:
    progress = ctx.rpc("plans", "get_progress", plan_id=plan_id)
    return ctx.render(
        "plans/progress.html.j2",
        progress=progress,
        plan=progress["plan"],
        steps=PROGRESS_STEPS,
        results=RESULTS,
        notice=_notice(ctx),
        error=None,
    )


def _progress_action(ctx: Ctx, plan_id: int, method: str, **kwargs) -> Response:
    try:
        ctx.rpc("plans", method, plan_id=plan_id, **kwargs)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        progress = ctx.rpc("plans", "get_progress", plan_id=plan_id)
        return ctx.render(
            "plans/progress.html.j2",
            status=422 if exc.code == "invalid" else 409,
            progress=progress,
            plan=progress["plan"],
            steps=PROGRESS_STEPS,
            results=RESULTS,
            notice=None,
            error=exc.message,
        )
    return ctx.redirect(f"/plans/{plan_id}/suivi?ok=suivi")


@route(
    "/plans/<int:plan_id>/suivi/<int:candidate_id>/etape", methods=("POST",), access=INSTITUTIONS
)
def plan_progress_step(ctx: Ctx, plan_id: int, candidate_id: int) -> Response:
    step = ctx.request.form.get("step", "")[:40]
    return _progress_action(
        ctx, plan_id, "set_candidate_step", candidate_id=candidate_id, data={"step": step}
    )


@route(
    "/plans/<int:plan_id>/suivi/<int:candidate_id>/resultat",
    methods=("POST",),
    access=INSTITUTIONS,
)
def plan_progress_result(ctx: Ctx, plan_id: int, candidate_id: int) -> Response:
    form = ctx.request.form
    data = {
        "competency_code": form.get("competency_code", "")[:12],
        "result": form.get("result", "")[:40],
    }
    return _progress_action(
        ctx, plan_id, "set_competency_result", candidate_id=candidate_id, data=data
    )


@route(
    "/plans/<int:plan_id>/suivi/<int:candidate_id>/abandon",
    methods=("POST",),
    access=INSTITUTIONS,
)
def plan_progress_abandon(ctx: Ctx, plan_id: int, candidate_id: int) -> Response:
    data = {"abandoned_on": ctx.request.form.get("abandoned_on", "")[:10]}
    return _progress_action(ctx, plan_id, "abandon_candidate", candidate_id=candidate_id, data=data)


# -- pages: the institution's annex template ---------------------------------------------------


@route("/plans/modele-annexes", access=INSTITUTIONS)
def annex_template_form(ctx: Ctx) -> Response:
    template = ctx.rpc("plans", "get_annex_template")
    return ctx.render(
        "plans/annexes.html.j2", v=template, errors={}, error=None, notice=_notice(ctx)
    )


@route("/plans/modele-annexes", methods=("POST",), access=INSTITUTIONS)
def annex_template_save(ctx: Ctx) -> Response:
    form = ctx.request.form
    current = ctx.rpc("plans", "get_annex_template")
    logo = current.get("logo", "")
    upload = ctx.request.files.get("logo")
    if form.get("remove_logo") == "oui":
        logo = ""
    elif upload is not None and upload.filename:
        content = upload.read(512 * 1024 + 1)
        mime = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
        logo = f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"
    data = {
        "annex_a": form.get("annex_a", "")[:40000],
        "annex_b": form.get("annex_b", "")[:20000],
        "annex_c": form.get("annex_c", "")[:20000],
        "logo": logo,
    }
    try:
        ctx.rpc("plans", "save_annex_template", data=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return ctx.render(
            "plans/annexes.html.j2",
            status=422,
            v={**current, **form.to_dict()},
            errors=exc.details or {},
            error=exc.message,
            notice=None,
        )
    return ctx.redirect("/plans/modele-annexes?ok=modele")


# -- JSON API ----------------------------------------------------------------------------------


@route(
    "/api/plans",
    access=PARTIES,
    response=PlanListOut,
    summary="Plans de mise en œuvre de l'établissement ou adressés à l'organisation",
)
def api_plans(ctx: Ctx):
    status = ctx.request.args.get("status") or None
    if status is not None and status not in STATUS_FILTERS:
        raise HttpError(422, "Statut inconnu.", {"status": "Valeur non permise."})
    return {"plans": ctx.rpc("plans", "list_plans", status=status)}


@route(
    "/api/plans",
    methods=("POST",),
    access=INSTITUTIONS,
    body=PlanCreateBody,
    response=PlanRowOut,
    summary="Créer un plan de mise en œuvre (brouillon, à partir du modèle)",
)
def api_plan_create(ctx: Ctx):
    return ctx.rpc("plans", "create_plan", data=ctx.body.model_dump(mode="json"))


@route(
    "/api/plans/figures",
    access=MINISTRY_ROLES,
    response=FiguresOut,
    summary="Indicateurs du réseau : nombre de plans par statut, taux d'acceptation",
)
def api_plan_figures(ctx: Ctx):
    return ctx.rpc("plans", "network_figures")


@route(
    "/api/plans/<int:plan_id>",
    access=PARTIES,
    response=PlanOut,
    summary="Un plan (la version courante, ou ?version=N)",
)
def api_plan(ctx: Ctx, plan_id: int):
    version = ctx.request.args.get("version", "")
    return _plan(ctx, plan_id, int(version) if version.isdigit() else None)


@route(
    "/api/plans/<int:plan_id>",
    methods=("PATCH",),
    access=INSTITUTIONS,
    body=DraftBody,
    response=PlanRowOut,
    summary="Remplacer des parties de la version en préparation",
)
def api_plan_update(ctx: Ctx, plan_id: int):
    data = ctx.body.model_dump(mode="json", exclude_unset=True)
    return ctx.rpc("plans", "update_draft", plan_id=plan_id, data=data)


@route(
    "/api/plans/<int:plan_id>/estimate",
    methods=("PUT",),
    access=INSTITUTIONS,
    body=EstimateBody,
    summary="Enregistrer l'estimation des coûts de la version en préparation (facturation)",
)
def api_plan_estimate(ctx: Ctx, plan_id: int):
    return ctx.rpc(
        "plans", "save_estimate", plan_id=plan_id, estimate=ctx.body.model_dump(mode="json")
    )


@route(
    "/api/plans/<int:plan_id>/issue",
    methods=("POST",),
    access=INSTITUTIONS,
    response=PlanRowOut,
    summary="Émettre la version en préparation (PDF, délai d'acceptation de 30 jours)",
)
def api_plan_issue(ctx: Ctx, plan_id: int):
    return ctx.rpc("plans", "issue", plan_id=plan_id, timeout=ISSUE_TIMEOUT)


@route(
    "/api/plans/<int:plan_id>/pdf",
    access=PARTIES,
    summary="Le PDF d'une version émise (application/pdf; ?version=N)",
)
def api_plan_pdf(ctx: Ctx, plan_id: int):
    version = ctx.request.args.get("version", "")
    document = ctx.rpc(
        "plans", "get_pdf", plan_id=plan_id, version=int(version) if version.isdigit() else None
    )
    return _download(document)


@route(
    "/api/plans/<int:plan_id>/accept",
    methods=("POST",),
    access=EMPLOYERS,
    body=AcceptBody,
    response=PlanRowOut,
    summary="Accepter en ligne la version émise (nom, titre, « J’accepte », empreinte)",
)
def api_plan_accept(ctx: Ctx, plan_id: int):
    return ctx.rpc(
        "plans",
        "accept_online",
        plan_id=plan_id,
        data=ctx.body.model_dump(mode="json"),
        ip=ctx.client_ip(),
    )


@route(
    "/api/plans/<int:plan_id>/acceptance-record",
    methods=("POST",),
    access=INSTITUTIONS,
    body=RecordBody,
    response=PlanRowOut,
    summary="Enregistrer une acceptation signée reçue autrement (copie, date de réception)",
)
def api_plan_record_acceptance(ctx: Ctx, plan_id: int):
    return ctx.rpc(
        "plans", "record_acceptance", plan_id=plan_id, data=ctx.body.model_dump(mode="json")
    )


@route(
    "/api/plans/<int:plan_id>/decline",
    methods=("POST",),
    access=EMPLOYERS,
    body=DeclineBody,
    response=PlanRowOut,
    summary="Refuser la version émise en attente d'acceptation (motif obligatoire)",
)
def api_plan_decline(ctx: Ctx, plan_id: int):
    return ctx.rpc("plans", "decline", plan_id=plan_id, data=ctx.body.model_dump())


@route(
    "/api/plans/<int:plan_id>/amendments",
    methods=("POST",),
    access=INSTITUTIONS,
    body=SummaryBody,
    response=PlanRowOut,
    summary="Préparer une modification écrite (nouvelle version, résumé des changements)",
)
def api_plan_amend(ctx: Ctx, plan_id: int):
    return ctx.rpc("plans", "amend", plan_id=plan_id, data=ctx.body.model_dump())


@route(
    "/api/plans/<int:plan_id>/comparison",
    access=PARTIES,
    summary="Comparaison côte à côte d'une version et de celle qu'elle modifie",
)
def api_plan_comparison(ctx: Ctx, plan_id: int):
    args = ctx.request.args
    left, right = args.get("from", ""), args.get("to", "")
    return ctx.rpc(
        "plans",
        "compare",
        plan_id=plan_id,
        left=int(left) if left.isdigit() else None,
        right=int(right) if right.isdigit() else None,
    )


@route(
    "/api/plans/<int:plan_id>/cancel",
    methods=("POST",),
    access=PARTIES,
    body=ReasonBody,
    response=PlanRowOut,
    summary="Annuler le plan (l'une ou l'autre des parties)",
)
def api_plan_cancel(ctx: Ctx, plan_id: int):
    return ctx.rpc("plans", "cancel", plan_id=plan_id, data=ctx.body.model_dump())


@route(
    "/api/plans/<int:plan_id>/complete",
    methods=("POST",),
    access=INSTITUTIONS,
    response=PlanRowOut,
    summary="Marquer le projet comme terminé",
)
def api_plan_complete(ctx: Ctx, plan_id: int):
    return ctx.rpc("plans", "complete", plan_id=plan_id)


@route(
    "/api/plans/<int:plan_id>/progress",
    access=PARTIES,
    response=ProgressOut,
    summary="Suivi : par candidat-travailleur (établissement), agrégé (organisation)",
)
def api_plan_progress(ctx: Ctx, plan_id: int):
    return ctx.rpc("plans", "get_progress", plan_id=plan_id)


@route(
    "/api/plans/<int:plan_id>/candidates/<int:candidate_id>/step",
    methods=("POST",),
    access=INSTITUTIONS,
    body=StepBody,
    response=ProgressOut,
    summary="Étape atteinte par un candidat-travailleur",
)
def api_plan_candidate_step(ctx: Ctx, plan_id: int, candidate_id: int):
    return ctx.rpc(
        "plans",
        "set_candidate_step",
        plan_id=plan_id,
        candidate_id=candidate_id,
        data=ctx.body.model_dump(),
    )


@route(
    "/api/plans/<int:plan_id>/candidates/<int:candidate_id>/result",
    methods=("POST",),
    access=INSTITUTIONS,
    body=ResultBody,
    response=ProgressOut,
    summary="Résultat d'une compétence (reconnue, formation manquante, en cours)",
)
def api_plan_candidate_result(ctx: Ctx, plan_id: int, candidate_id: int):
    return ctx.rpc(
        "plans",
        "set_competency_result",
        plan_id=plan_id,
        candidate_id=candidate_id,
        data=ctx.body.model_dump(),
    )


@route(
    "/api/plans/<int:plan_id>/candidates/<int:candidate_id>/abandon",
    methods=("POST",),
    access=INSTITUTIONS,
    body=AbandonBody,
    response=ProgressOut,
    summary="Abandon de la démarche par un candidat-travailleur",
)
def api_plan_candidate_abandon(ctx: Ctx, plan_id: int, candidate_id: int):
    return ctx.rpc(
        "plans",
        "abandon_candidate",
        plan_id=plan_id,
        candidate_id=candidate_id,
        data=ctx.body.model_dump(mode="json"),
    )


@route(
    "/api/plans/annex-template",
    access=INSTITUTIONS,
    summary="Le modèle d'annexes A, B et C de l'établissement",
)
def api_annex_template(ctx: Ctx):
    return ctx.rpc("plans", "get_annex_template")


@route(
    "/api/plans/annex-template",
    methods=("PUT",),
    access=INSTITUTIONS,
    body=AnnexTemplateBody,
    summary="Modifier le modèle d'annexes de l'établissement",
)
def api_annex_template_save(ctx: Ctx):
    return ctx.rpc("plans", "save_annex_template", data=ctx.body.model_dump())
