"""Reddition de comptes of the CERACs and special mandates: pages and JSON API.

Thin handlers over the ``applications`` service (the actor is added by ``ctx.rpc``):
- a CERAC's users (any institution role of the designated institution) see their reports
  and special mandates, write drafts (objectives, indicators, narrative, attachments per
  mandate part or deliverable), and submit; another institution's report is "not found";
- the ministry's analysts and admin see every report (filter by status, late ones), set the
  due date of each experimentation year, review the submitted version (accept, or ask for
  changes with a comment per section), and read the history of versions;
- the admin entrusts special mandates (object, deliverables, due date, amount).
The evaluator (evaluation committee) and employers have nothing here (403).
"""

from __future__ import annotations

import base64
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from gateway.web.framework import Ctx, HttpError, route
from gateway.web.network import iso_long_date
from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES, Role
from rac_shared.errors import DomainError
from rac_shared.formatting import money

STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
ADMIN = frozenset({Role.MINISTRY_ADMIN})
INSTITUTIONS = INSTITUTION_ROLES
REPORTING = STAFF | INSTITUTION_ROLES
MAX_UPLOAD = 10 * 1024 * 1024
EXTRA_INDICATOR_ROWS = 2
MAX_INDICATORS = 20
NOTICES = {
    "enregistre": "Le brouillon est enregistré.",
    "depose": "Le rapport est déposé. Le Ministère en fera l'analyse; cette version est "
    "conservée dans l'historique.",
    "piece": "La pièce jointe est ajoutée.",
    "piece-retiree": "La pièce jointe est retirée.",
    "accepte": "Le rapport est accepté.",
    "modifications": "Les modifications demandées sont transmises au CERAC.",
    "echeance": "L'échéance est enregistrée; les rapports de cette année la suivent.",
    "mandat": "Le mandat particulier est confié; son rapport est ouvert pour le CERAC.",
}
STATUS_FILTERS = {
    "": "Tous",
    "draft": "En rédaction",
    "submitted": "Déposés, à analyser",
    "changes_requested": "Modifications demandées",
    "accepted": "Acceptés",
}


# -- API models ---------------------------------------------------------------------------


class IndicatorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field("", max_length=300)
    unit: str = Field("", max_length=60)
    target: str | int | None = Field(None, description="Valeur cible, p. ex. « 12.5 »")
    achieved: str | int | None = Field(None, description="Valeur atteinte")
    source: Literal["support_received", "support_answered"] | None = None


class SectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objectives: str = Field("", max_length=10000)
    narrative: str = Field("", max_length=20000)
    indicators: list[IndicatorBody] = Field(default_factory=list, max_length=MAX_INDICATORS)


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: dict[str, SectionBody] = Field(
        max_length=30, description="Clé de section (offer, quality, development, livrable-N)"
    )


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["accepted", "changes_requested"]
    comments: dict[str, str] = Field(default_factory=dict, max_length=30)
    general_comment: str = Field("", max_length=4000)


class DeadlineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experimentation_year: str = Field(max_length=9, description="p. ex. 2014-2015")
    due_date: date


class MandateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cerac_id: int
    object: str = Field(max_length=300)
    deliverables: list[str] = Field(max_length=10)
    due_date: date
    amount: str | int = Field(description="Montant en texte décimal, p. ex. « 25000.00 »")


# -- helpers ------------------------------------------------------------------------------


def decimal_fr(value: str | None) -> str:
    """``"1250.50"`` → ``"1 250,5"`` for display and for form fields (the service reads
    commas and spaces back)."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = format(number.normalize(), "f") if number == number.to_integral() else str(number)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, _, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + "\u00a0".join(groups) + ("," + fraction if fraction else "")


def _render(ctx: Ctx, template: str, status: int = 200, **context) -> Response:
    filters = ctx.app.templates.filters
    filters.setdefault("iso_long_date", iso_long_date)
    filters.setdefault("decimal_fr", decimal_fr)
    filters.setdefault("money_text", lambda value: money(Decimal(value)) if value else "")
    notice = NOTICES.get(ctx.request.args.get("fait", ""))
    context.setdefault("notice", notice)
    context.setdefault("error", None)
    context.setdefault("errors", {})
    return ctx.render(template, status=status, **context)


def _errors(exc: DomainError) -> dict:
    return exc.details if isinstance(exc.details, dict) else {}


def _redirect(ctx: Ctx, path: str, fait: str) -> Response:
    return ctx.redirect(f"{path}?{urlencode({'fait': fait})}")


def _content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name) or "fichier"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _download(payload: dict) -> Response:
    response = Response(base64.b64decode(payload["content_b64"]), mimetype=payload["mime"])
    response.headers["Content-Disposition"] = _content_disposition(payload["filename"])
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _uploaded(ctx: Ctx, field: str) -> tuple[str, str]:
    storage = ctx.request.files.get(field)
    if storage is None or not storage.filename:
        raise DomainError(
            "Choisissez un fichier à joindre.", {field: "Aucun fichier choisi."}, "invalid"
        )
    content = storage.read(MAX_UPLOAD + 1)
    return storage.filename, base64.b64encode(content).decode("ascii")


def _report(ctx: Ctx, report_id: int) -> dict:
    return ctx.rpc("applications", "get_report", report_id=report_id)


def _form_sections(form, report: dict) -> dict:
    """The edit form's fields as the service's ``sections`` input."""
    sections = {}
    for section in report["sections"]:
        key = section["key"]
        indicators = []
        for index in range(MAX_INDICATORS + EXTRA_INDICATOR_ROWS):
            prefix = f"{key}-i{index}-"
            if f"{prefix}label" not in form and f"{prefix}source" not in form:
                continue
            source = form.get(f"{prefix}source", "") or None
            indicators.append(
                {
                    "label": form.get(f"{prefix}label", "")[:300],
                    "unit": form.get(f"{prefix}unit", "")[:60],
                    "target": form.get(f"{prefix}target", "")[:40] or None,
                    "achieved": form.get(f"{prefix}achieved", "")[:40] or None,
                    "source": source
                    if source in ("support_received", "support_answered")
                    else None,
                }
            )
        sections[key] = {
            "objectives": form.get(f"{key}-objectives", "")[:10000],
            "narrative": form.get(f"{key}-narrative", "")[:20000],
            "indicators": indicators[:MAX_INDICATORS],
        }
    return sections


def _with_form_values(report: dict, sections: dict) -> dict:
    """The report view with what the user typed, to show the form again after an error."""
    shown = dict(report)
    shown["sections"] = []
    for section in report["sections"]:
        typed = sections.get(section["key"])
        if typed is None:
            shown["sections"].append(section)
            continue
        prefilled = {i["source"]: i for i in section["indicators"] if i.get("source")}
        indicators = []
        for item in typed["indicators"]:
            if item["source"] in prefilled:
                indicators.append({**prefilled[item["source"]], "target": item["target"]})
            elif item["source"] is None:
                indicators.append(item)
        shown["sections"].append({**section, **typed, "indicators": indicators})
    return shown


# -- pages --------------------------------------------------------------------------------


def _render_overview(ctx: Ctx, status: int = 200, **extra) -> Response:
    query = {
        "status": ctx.request.args.get("statut", "")[:20],
        "late": ctx.request.args.get("retard", "") == "1",
    }
    if query["status"] not in STATUS_FILTERS:
        raise HttpError(422, "Statut inconnu.", {"statut": "Choisissez un statut de la liste."})
    overview = ctx.rpc(
        "applications",
        "reporting_overview",
        query={"status": query["status"], "late": query["late"]},
    )
    return _render(
        ctx,
        "reporting/index.html.j2",
        status=status,
        overview=overview,
        query=query,
        status_filters=STATUS_FILTERS,
        deadline_form=extra.pop("deadline_form", {}),
        **extra,
    )


@route("/redditions", access=REPORTING)
def reporting_page(ctx: Ctx) -> Response:
    return _render_overview(ctx)


@route("/redditions/echeances", methods=("POST",), access=STAFF)
def reporting_set_deadline(ctx: Ctx) -> Response:
    form = ctx.request.form
    data = {
        "experimentation_year": form.get("experimentation_year", "").strip()[:20],
        "due_date": form.get("due_date", "").strip()[:20] or None,
    }
    try:
        ctx.rpc("applications", "set_report_deadline", data=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return _render_overview(
            ctx, exc.http_status, error=exc.message, errors=_errors(exc), deadline_form=data
        )
    return _redirect(ctx, "/redditions", "echeance")


def _render_mandate_form(ctx: Ctx, status: int = 200, **extra) -> Response:
    network = ctx.rpc("applications", "network_ceracs")
    context = {"ceracs": network["ceracs"], "form": {}}
    context.update(extra)
    return _render(ctx, "reporting/mandate_new.html.j2", status=status, **context)


@route("/redditions/mandats/nouveau", access=ADMIN)
def special_mandate_form(ctx: Ctx) -> Response:
    return _render_mandate_form(ctx)


@route("/redditions/mandats", methods=("POST",), access=ADMIN)
def special_mandate_assign(ctx: Ctx) -> Response:
    form = ctx.request.form
    cerac_id = form.get("cerac_id", "").strip()
    deliverables = [line.strip() for line in form.get("deliverables", "").splitlines()]
    data = {
        "cerac_id": int(cerac_id) if cerac_id.isdigit() else None,
        "object": form.get("object", "")[:400],
        "deliverables": [d[:600] for d in deliverables if d][:12],
        "due_date": form.get("due_date", "").strip()[:20] or None,
        "amount": form.get("amount", "").strip()[:40] or None,
    }
    try:
        result = ctx.rpc("applications", "assign_special_mandate", data=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        shown = {**data, "deliverables": form.get("deliverables", "")[:6000]}
        return _render_mandate_form(
            ctx, exc.http_status, error=exc.message, errors=_errors(exc), form=shown
        )
    return _redirect(ctx, f"/redditions/{result['report_id']}", "mandat")


def _render_report(ctx: Ctx, report_id: int, status: int = 200, **extra) -> Response:
    report = _report(ctx, report_id)
    return _render(ctx, "reporting/report.html.j2", status=status, report=report, **extra)


@route("/redditions/<int:report_id>", access=REPORTING)
def report_page(ctx: Ctx, report_id: int) -> Response:
    return _render_report(ctx, report_id)


def _render_edit(ctx: Ctx, report: dict, status: int = 200, **extra) -> Response:
    return _render(
        ctx,
        "reporting/edit.html.j2",
        status=status,
        report=report,
        extra_rows=EXTRA_INDICATOR_ROWS,
        **extra,
    )


@route("/redditions/<int:report_id>/modifier", access=INSTITUTIONS)
def report_edit_form(ctx: Ctx, report_id: int) -> Response:
    report = _report(ctx, report_id)
    if not report["can_edit"]:
        return _render_report(
            ctx,
            report_id,
            409,
            error="Ce rapport ne peut pas être modifié : " + report["status_label"].lower() + ".",
        )
    return _render_edit(ctx, report)


@route("/redditions/<int:report_id>/modifier", methods=("POST",), access=INSTITUTIONS)
def report_save(ctx: Ctx, report_id: int) -> Response:
    report = _report(ctx, report_id)  # 404 first
    sections = _form_sections(ctx.request.form, report)
    submit = ctx.request.form.get("action") == "deposer"
    try:
        ctx.rpc("applications", "save_report", report_id=report_id, data={"sections": sections})
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_edit(
            ctx,
            _with_form_values(report, sections),
            exc.http_status,
            error=exc.message,
            errors=_errors(exc),
        )
    if submit:
        try:
            ctx.rpc("applications", "submit_report", report_id=report_id)
        except DomainError as exc:
            if exc.code not in ("invalid", "conflict"):
                raise
            return _render_edit(
                ctx,
                _report(ctx, report_id),
                exc.http_status,
                error="Le brouillon est enregistré, mais "
                + exc.message[0].lower()
                + exc.message[1:],
                errors=_errors(exc),
            )
        return _redirect(ctx, f"/redditions/{report_id}", "depose")
    return _redirect(ctx, f"/redditions/{report_id}/modifier", "enregistre")


@route("/redditions/<int:report_id>/soumettre", methods=("POST",), access=INSTITUTIONS)
def report_submit(ctx: Ctx, report_id: int) -> Response:
    _report(ctx, report_id)  # 404 first
    try:
        ctx.rpc("applications", "submit_report", report_id=report_id)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_report(
            ctx, report_id, exc.http_status, error=exc.message, errors=_errors(exc)
        )
    return _redirect(ctx, f"/redditions/{report_id}", "depose")


@route("/redditions/<int:report_id>/pieces", methods=("POST",), access=INSTITUTIONS)
def report_upload(ctx: Ctx, report_id: int) -> Response:
    report = _report(ctx, report_id)  # 404 first
    section = ctx.request.form.get("section", "")[:20]
    try:
        filename, content = _uploaded(ctx, "fichier")
        ctx.rpc(
            "applications",
            "upload_report_attachment",
            report_id=report_id,
            data={"section": section, "filename": filename[:500], "content_b64": content},
        )
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_edit(ctx, report, exc.http_status, error=exc.message, errors=_errors(exc))
    return _redirect(ctx, f"/redditions/{report_id}/modifier", "piece")


@route("/redditions/<int:report_id>/pieces/<int:attachment_id>", access=REPORTING)
def report_attachment(ctx: Ctx, report_id: int, attachment_id: int) -> Response:
    return _download(
        ctx.rpc(
            "applications",
            "get_report_attachment",
            report_id=report_id,
            attachment_id=attachment_id,
        )
    )


@route(
    "/redditions/<int:report_id>/pieces/<int:attachment_id>/supprimer",
    methods=("POST",),
    access=INSTITUTIONS,
)
def report_delete_attachment(ctx: Ctx, report_id: int, attachment_id: int) -> Response:
    report = _report(ctx, report_id)  # 404 first
    try:
        ctx.rpc(
            "applications",
            "delete_report_attachment",
            report_id=report_id,
            attachment_id=attachment_id,
        )
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_edit(ctx, report, exc.http_status, error=exc.message)
    return _redirect(ctx, f"/redditions/{report_id}/modifier", "piece-retiree")


@route("/redditions/<int:report_id>/revue", methods=("POST",), access=STAFF)
def report_review(ctx: Ctx, report_id: int) -> Response:
    report = _report(ctx, report_id)  # 404 first
    form = ctx.request.form
    decision = form.get("decision", "")
    data = {
        "decision": decision if decision in ("accepted", "changes_requested") else None,
        "comments": {
            s["key"]: form.get(f"comment-{s['key']}", "")[:4000] for s in report["sections"]
        },
        "general_comment": form.get("general_comment", "")[:4000],
    }
    try:
        ctx.rpc("applications", "review_report", report_id=report_id, data=data)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_report(
            ctx, report_id, exc.http_status, error=exc.message, errors=_errors(exc), review=data
        )
    return _redirect(
        ctx,
        f"/redditions/{report_id}",
        "accepte" if decision == "accepted" else "modifications",
    )


@route("/redditions/<int:report_id>/versions/<int:number>", access=REPORTING)
def report_version_page(ctx: Ctx, report_id: int, number: int) -> Response:
    version = ctx.rpc("applications", "get_report_version", report_id=report_id, number=number)
    return _render(ctx, "reporting/version.html.j2", version=version)


# -- API ----------------------------------------------------------------------------------


@route(
    "/api/reporting/reports",
    access=REPORTING,
    summary="Rapports visibles (paramètres : status, late=1); mandats et CERAC",
)
def api_reports(ctx: Ctx):
    status = ctx.request.args.get("status", "")[:20]
    late = ctx.request.args.get("late", "") in ("1", "true")
    return ctx.rpc("applications", "reporting_overview", query={"status": status, "late": late})


@route("/api/reporting/reports/<int:report_id>", access=REPORTING, summary="Un rapport")
def api_report(ctx: Ctx, report_id: int):
    return _report(ctx, report_id)


@route(
    "/api/reporting/reports/<int:report_id>",
    methods=("PUT",),
    access=INSTITUTIONS,
    body=ReportBody,
    summary="Enregistrer le brouillon (objectifs, indicateurs, bilan par section)",
)
def api_report_save(ctx: Ctx, report_id: int):
    return ctx.rpc(
        "applications",
        "save_report",
        report_id=report_id,
        data=ctx.body.model_dump(mode="json"),
    )


@route(
    "/api/reporting/reports/<int:report_id>/submit",
    methods=("POST",),
    access=INSTITUTIONS,
    summary="Déposer le rapport (fige une version)",
)
def api_report_submit(ctx: Ctx, report_id: int):
    return ctx.rpc("applications", "submit_report", report_id=report_id)


@route(
    "/api/reporting/reports/<int:report_id>/review",
    methods=("POST",),
    access=STAFF,
    body=ReviewBody,
    summary="Accepter le rapport déposé ou demander des modifications (commentaires par section)",
)
def api_report_review(ctx: Ctx, report_id: int):
    return ctx.rpc(
        "applications",
        "review_report",
        report_id=report_id,
        data=ctx.body.model_dump(mode="json"),
    )


@route(
    "/api/reporting/reports/<int:report_id>/versions/<int:number>",
    access=REPORTING,
    summary="Une version déposée, figée",
)
def api_report_version(ctx: Ctx, report_id: int, number: int):
    return ctx.rpc("applications", "get_report_version", report_id=report_id, number=number)


@route(
    "/api/reporting/reports/<int:report_id>/attachments",
    methods=("POST",),
    access=INSTITUTIONS,
    summary="Joindre un fichier à une section (multipart/form-data : file, section)",
)
def api_report_upload(ctx: Ctx, report_id: int):
    filename, content = _uploaded(ctx, "file")
    return ctx.rpc(
        "applications",
        "upload_report_attachment",
        report_id=report_id,
        data={
            "section": ctx.request.form.get("section", "")[:20],
            "filename": filename[:500],
            "content_b64": content,
        },
    )


@route(
    "/api/reporting/reports/<int:report_id>/attachments/<int:attachment_id>",
    access=REPORTING,
    summary="Télécharger une pièce jointe d'un rapport",
)
def api_report_attachment(ctx: Ctx, report_id: int, attachment_id: int):
    return report_attachment(ctx, report_id, attachment_id)


@route(
    "/api/reporting/reports/<int:report_id>/attachments/<int:attachment_id>",
    methods=("DELETE",),
    access=INSTITUTIONS,
    summary="Retirer une pièce jointe (pas celles d'une version déposée)",
)
def api_report_delete_attachment(ctx: Ctx, report_id: int, attachment_id: int):
    return ctx.rpc(
        "applications",
        "delete_report_attachment",
        report_id=report_id,
        attachment_id=attachment_id,
    )


@route(
    "/api/reporting/deadlines",
    methods=("PUT",),
    access=STAFF,
    body=DeadlineBody,
    summary="Fixer l'échéance des rapports d'une année d'expérimentation",
)
def api_reporting_deadline(ctx: Ctx):
    return ctx.rpc("applications", "set_report_deadline", data=ctx.body.model_dump(mode="json"))


@route(
    "/api/reporting/special-mandates",
    methods=("POST",),
    access=ADMIN,
    body=MandateBody,
    summary="Confier un mandat particulier à un CERAC (objet, livrables, échéance, montant)",
)
def api_special_mandate_assign(ctx: Ctx):
    return ctx.rpc("applications", "assign_special_mandate", data=ctx.body.model_dump(mode="json"))


@route(
    "/api/reporting/figures",
    access=MINISTRY_ROLES,
    summary="Indicateurs de la reddition de comptes (paramètre : as_of=AAAA-MM-JJ)",
)
def api_reporting_figures(ctx: Ctx):
    as_of = ctx.request.args.get("as_of", "")[:10] or None
    return ctx.rpc("applications", "reporting_figures", as_of=as_of)
