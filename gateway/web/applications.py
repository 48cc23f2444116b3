"""Calls for interest and CERAC applications: pages and JSON API.

Thin handlers: they parse the request, call the ``applications`` service by RPC (the actor
is added by ``ctx.rpc``) and render or redirect. Access per route mirrors the service's
rules (see ``services/applications/access.py``): employers are refused everywhere here,
calls are managed by the ministry admin, the table, paper receipts and admissibility are
for analysts and the admin, applications are filled by institutions. Tenant scoping is
done by the service (another institution's application is "not found").
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from gateway.web.framework import Ctx, HttpError, route
from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES, Role
from rac_shared.errors import DomainError
from rac_shared.formatting import long_date, long_datetime, number

AREA = MINISTRY_ROLES | INSTITUTION_ROLES
ADMIN = frozenset({Role.MINISTRY_ADMIN})
STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES
MAX_UPLOAD = 10 * 1024 * 1024  # the service's limit (10 Mo)
RULE_KEYS = ("institution", "signatures", "completeness", "deposit")

NOTICES = {
    "cree": "L'appel d'intérêt est créé. Complétez le formulaire, la grille d'évaluation et le "
    "guide, puis publiez-le.",
    "enregistre": "Les modifications sont enregistrées.",
    "publie": "L'appel d'intérêt est publié.",
    "ferme": "L'appel d'intérêt est fermé.",
    "modificatif": "L'avis de modification est consigné; il sera annoncé aux établissements "
    "qui ont commencé une demande.",
    "ouverte": "Votre demande est ouverte. Remplissez chaque section, joignez les documents, "
    "puis faites signer la demande.",
    "section": "Les réponses de la section sont enregistrées.",
    "piece": "La pièce jointe est ajoutée.",
    "piece-retiree": "La pièce jointe est retirée.",
    "signee": "Votre signature est enregistrée.",
    "deposee": "La demande est déposée. Téléchargez l'accusé de réception ci-dessous.",
    "retiree": "La demande est retirée.",
    "rouverte": "La demande est rouverte en préparation; elle doit être signée de nouveau.",
    "papier": "La réception de la copie papier est consignée.",
    "regle": "Votre revue de la règle est consignée.",
    "decision": "La décision de recevabilité est consignée.",
}
ORDERS = ("secondaire", "collégial")
STATUS_FILTERS = {"draft": "En préparation", "submitted": "Déposée", "withdrawn": "Retirée"}
ADMISSIBILITY_FILTERS = {
    "undecided": "À décider",
    "recevable": "Recevable",
    "non_recevable": "Non recevable",
}
SORTS = {
    "organisation": "Établissement (A à Z)",
    "-organisation": "Établissement (Z à A)",
    "region": "Région",
    "order": "Ordre d'enseignement",
    "status": "Statut",
    "-submitted_at": "Dépôt le plus récent",
    "submitted_at": "Dépôt le plus ancien",
    "reference": "Référence",
}
ATTACHMENT_KINDS = {
    "support_letter": "Lettre d'appui",
    "official_document": "Document officiel",
    "designation": "Désignation d'un gestionnaire par la direction générale",
    "other": "Autre document",
}
GROUPS = {
    "qualite": "Qualité du service de RAC offert au cours des cinq dernières années",
    "pertinence": "Pertinence du projet d'intervention proposé",
}
QUESTION_KINDS = {
    "text": "Texte (longueur limitée)",
    "yes_no": "Oui ou non",
    "choice": "Choix parmi des options",
    "file": "Fichier à joindre",
}


# -- helpers -----------------------------------------------------------------------------


def _long_date_iso(value: str | None) -> str:
    """ISO date or datetime from a service reply, in French (times in Montréal)."""
    if not value:
        return ""
    if "T" in value:
        return long_datetime(datetime.fromisoformat(value))
    return long_date(date.fromisoformat(value))


def _filesize(size: int | None) -> str:
    if not size:
        return "0 octet"
    if size < 1024:
        return f"{size} octets"
    if size < 1024 * 1024:
        return f"{number(size / 1024, 0)} Ko"
    return f"{number(Decimal(size) / (1024 * 1024), 1)} Mo"


FILTERS = {"long_date_iso": _long_date_iso, "filesize": _filesize}


def _render(ctx: Ctx, template: str, status: int = 200, **context) -> Response:
    """``ctx.render`` with this area's filters (ISO dates from replies, file sizes)."""
    filters = ctx.app.templates.filters
    for name, function in FILTERS.items():
        filters.setdefault(name, function)
    return ctx.render(template, status=status, **context)


def _notice(ctx: Ctx) -> list[str]:
    notices = []
    key = ctx.request.args.get("fait")
    if key in NOTICES:
        notices.append(NOTICES[key])
    voided = ctx.request.args.get("signatures", "")
    if voided.isdigit() and int(voided) > 0:
        notices.append(
            f"Le contenu de la demande a changé : {voided} signature(s) ont été retirées. "
            "Les signataires doivent signer de nouveau."
        )
    return notices


def _content_disposition(filename: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name) or "fichier"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _download(payload: dict) -> Response:
    response = Response(base64.b64decode(payload["content_b64"]), mimetype=payload["mime"])
    response.headers["Content-Disposition"] = _content_disposition(payload["filename"])
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _uploaded(ctx: Ctx, field: str) -> tuple[str, str]:
    """(filename, base64 content) of an uploaded file; 422 when missing."""
    storage = ctx.request.files.get(field)
    if storage is None or not storage.filename:
        raise DomainError(
            "Choisissez un fichier à joindre.", {field: "Aucun fichier choisi."}, "invalid"
        )
    content = storage.read(MAX_UPLOAD + 1)
    return storage.filename, base64.b64encode(content).decode("ascii")


def _date_or_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _safe_back(target: str | None, default: str) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _redirect_with(ctx: Ctx, path: str, fait: str, voided: int = 0) -> Response:
    query = {"fait": fait}
    if voided:
        query["signatures"] = str(voided)
    return ctx.redirect(f"{path}?{urlencode(query)}")


def _call_form_data(form) -> dict:
    years = [y for y in re.split(r"[,;\s]+", form.get("experimentation_years", "")) if y]
    return {
        "title": form.get("title", "")[:400],
        "education_orders": [o for o in form.getlist("education_orders") if o in ORDERS],
        "launch_date": _date_or_none(form.get("launch_date")),
        "deadline_date": _date_or_none(form.get("deadline_date")),
        "analysis_date": _date_or_none(form.get("analysis_date")),
        "designation_date": _date_or_none(form.get("designation_date")),
        "experimentation_years": years[:5],
    }


def _grid_rows(form, prefix: str = "criteria") -> list[dict]:
    rows = []
    for index in range(6):
        label = form.get(f"{prefix}-{index}-label", "").strip()
        if not label:
            continue
        rows.append(
            {
                "group": form.get(f"{prefix}-{index}-group", ""),
                "label": label[:1000],
                "weight": form.get(f"{prefix}-{index}-weight", "").strip() or None,
                "threshold": form.get(f"{prefix}-{index}-threshold", "").strip() or None,
            }
        )
    return rows


def _grid_form_rows(criteria: list[dict]) -> list[dict]:
    """Six rows for the grid form: 4 qualité then 2 pertinence, prefilled when known."""
    rows = [dict(c) for c in criteria][:6]
    defaults = ["qualite"] * 4 + ["pertinence"] * 2
    while len(rows) < 6:
        rows.append({"group": defaults[len(rows)], "label": "", "weight": "", "threshold": ""})
    return rows


# -- calls: pages ----------------------------------------------------------------------


def _guard_evaluator(ctx: Ctx, application_id: int) -> None:
    """An evaluator reads only the applications assigned to them and free of conflict of
    interest: scoring, which owns assignments, answers "not found" otherwise."""
    if ctx.actor is not None and ctx.actor.role == Role.MINISTRY_EVALUATOR:
        ctx.rpc("scoring", "ensure_may_read_application", application_id=application_id)


@route("/appels", access=AREA)
def calls_page(ctx: Ctx) -> Response:
    calls = ctx.rpc("applications", "list_calls")
    return _render(
        ctx, "applications/calls.html.j2", calls=calls, notices=_notice(ctx), error=None, errors={}
    )


def _render_new_call(ctx: Ctx, form: dict, status: int = 200, error=None, errors=None):
    return _render(
        ctx,
        "applications/call_new.html.j2",
        status=status,
        form=form,
        error=error,
        errors=errors or {},
        orders=ORDERS,
    )


@route("/appels/nouveau", access=ADMIN)
def call_new_form(ctx: Ctx) -> Response:
    form = {
        "title": "",
        "education_orders": list(ORDERS),
        "launch_date": "",
        "deadline_date": "",
        "analysis_date": "",
        "designation_date": "",
        "experimentation_years": [],
    }
    return _render_new_call(ctx, form)


@route("/appels/nouveau", methods=("POST",), access=ADMIN)
def call_create(ctx: Ctx) -> Response:
    data = _call_form_data(ctx.request.form)
    try:
        call = ctx.rpc("applications", "create_call", data=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return _render_new_call(ctx, data, 422, exc.message, exc.details)
    return _redirect_with(ctx, f"/appels/{call['id']}", "cree")


def _render_call(ctx: Ctx, call_id: int, status: int = 200, **extra) -> Response:
    call = ctx.rpc("applications", "get_call", call_id=call_id)
    context = {
        "call": call,
        "notices": _notice(ctx),
        "error": None,
        "errors": {},
        "form": {},
        "failed": None,
        "orders": ORDERS,
        "groups": GROUPS,
        "question_kinds": QUESTION_KINDS,
        "grid_rows": _grid_form_rows(call["criteria"]),
    }
    context.update(extra)
    return _render(ctx, "applications/call.html.j2", status=status, **context)


@route("/appels/<int:call_id>", access=AREA)
def call_page(ctx: Ctx, call_id: int) -> Response:
    return _render_call(ctx, call_id)


def _call_action(ctx: Ctx, call_id: int, failed: str, action, done: str, form=None) -> Response:
    """Run ``action``; on a validation or state error, re-render the call page with the
    user's input and the French message (nothing was changed)."""
    ctx.rpc("applications", "get_call", call_id=call_id)  # 404 first for a missing call
    try:
        action()
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_call(
            ctx,
            call_id,
            exc.http_status,
            error=exc.message,
            errors=exc.details if isinstance(exc.details, dict) else {},
            form=form or {},
            failed=failed,
        )
    return _redirect_with(ctx, f"/appels/{call_id}", done)


@route("/appels/<int:call_id>/modifier", methods=("POST",), access=ADMIN)
def call_update(ctx: Ctx, call_id: int) -> Response:
    data = _call_form_data(ctx.request.form)
    return _call_action(
        ctx,
        call_id,
        "call",
        lambda: ctx.rpc("applications", "update_call", call_id=call_id, data=data),
        "enregistre",
        form=data,
    )


@route("/appels/<int:call_id>/sections", methods=("POST",), access=ADMIN)
def call_add_section(ctx: Ctx, call_id: int) -> Response:
    form = ctx.request.form
    data = {
        "title": form.get("title", "")[:400],
        "description": form.get("description", "")[:5000],
    }
    return _call_action(
        ctx,
        call_id,
        "section",
        lambda: ctx.rpc("applications", "add_section", call_id=call_id, data=data),
        "enregistre",
        form=data,
    )


@route("/appels/<int:call_id>/sections/<int:section_id>/supprimer", methods=("POST",), access=ADMIN)
def call_delete_section(ctx: Ctx, call_id: int, section_id: int) -> Response:
    return _call_action(
        ctx,
        call_id,
        "sections",
        lambda: ctx.rpc("applications", "delete_section", call_id=call_id, section_id=section_id),
        "enregistre",
    )


@route("/appels/<int:call_id>/sections/<int:section_id>/deplacer", methods=("POST",), access=ADMIN)
def call_move_section(ctx: Ctx, call_id: int, section_id: int) -> Response:
    step = -1 if ctx.request.form.get("sens") == "monter" else 1
    return _call_action(
        ctx,
        call_id,
        "sections",
        lambda: ctx.rpc(
            "applications", "move_section", call_id=call_id, section_id=section_id, step=step
        ),
        "enregistre",
    )


@route("/appels/<int:call_id>/sections/<int:section_id>/questions", methods=("POST",), access=ADMIN)
def call_add_question(ctx: Ctx, call_id: int, section_id: int) -> Response:
    form = ctx.request.form
    options = [o.strip() for o in form.get("options", "").splitlines() if o.strip()]
    data = {
        "label": form.get("label", "")[:1100],
        "help_text": form.get("help_text", "")[:2100],
        "kind": form.get("kind", ""),
        "max_length": form.get("max_length", "").strip() or None,
        "options": options[:30] or None,
        "required": form.get("required") == "oui",
    }
    return _call_action(
        ctx,
        call_id,
        f"question-{section_id}",
        lambda: ctx.rpc(
            "applications", "add_question", call_id=call_id, section_id=section_id, data=data
        ),
        "enregistre",
        form={**data, "options": "\n".join(options)},
    )


@route(
    "/appels/<int:call_id>/sections/<int:section_id>/questions/<int:question_id>/supprimer",
    methods=("POST",),
    access=ADMIN,
)
def call_delete_question(ctx: Ctx, call_id: int, section_id: int, question_id: int) -> Response:
    return _call_action(
        ctx,
        call_id,
        "sections",
        lambda: ctx.rpc(
            "applications",
            "delete_question",
            call_id=call_id,
            section_id=section_id,
            question_id=question_id,
        ),
        "enregistre",
    )


@route("/appels/<int:call_id>/grille", methods=("POST",), access=ADMIN)
def call_set_grid(ctx: Ctx, call_id: int) -> Response:
    rows = _grid_rows(ctx.request.form)
    return _call_action(
        ctx,
        call_id,
        "grid",
        lambda: ctx.rpc("applications", "set_criteria", call_id=call_id, criteria=rows),
        "enregistre",
        form={"grid": _grid_form_rows(rows)},
    )


@route("/appels/<int:call_id>/guide", methods=("POST",), access=ADMIN)
def call_upload_guide(ctx: Ctx, call_id: int) -> Response:
    def upload():
        filename, content = _uploaded(ctx, "fichier")
        ctx.rpc(
            "applications",
            "upload_guide",
            call_id=call_id,
            filename=filename,
            content_b64=content,
        )

    return _call_action(ctx, call_id, "guide", upload, "enregistre")


@route("/appels/<int:call_id>/guide", access=AREA)
def call_guide_download(ctx: Ctx, call_id: int) -> Response:
    return _download(ctx.rpc("applications", "get_guide", call_id=call_id))


@route("/appels/<int:call_id>/publier", methods=("POST",), access=ADMIN)
def call_publish(ctx: Ctx, call_id: int) -> Response:
    return _call_action(
        ctx,
        call_id,
        "publish",
        lambda: ctx.rpc("applications", "publish_call", call_id=call_id),
        "publie",
    )


@route("/appels/<int:call_id>/fermer", methods=("POST",), access=ADMIN)
def call_close(ctx: Ctx, call_id: int) -> Response:
    return _call_action(
        ctx,
        call_id,
        "close",
        lambda: ctx.rpc("applications", "close_call", call_id=call_id),
        "ferme",
    )


@route("/appels/<int:call_id>/modificatifs", methods=("POST",), access=ADMIN)
def call_amend(ctx: Ctx, call_id: int) -> Response:
    form = ctx.request.form
    data = {
        "reason": form.get("reason", "")[:4100],
        "deadline_date": _date_or_none(form.get("deadline_date")),
        "analysis_date": _date_or_none(form.get("analysis_date")),
        "designation_date": _date_or_none(form.get("designation_date")),
        "criteria": _grid_rows(form, "amend") if form.get("change_grid") == "oui" else None,
    }
    return _call_action(
        ctx,
        call_id,
        "amendment",
        lambda: ctx.rpc("applications", "amend_call", call_id=call_id, data=data),
        "modificatif",
        form={**data, "change_grid": form.get("change_grid") == "oui"},
    )


def _table_query(ctx: Ctx) -> dict:
    args = ctx.request.args
    return {
        key: args.get(key, "")[:80]
        for key in ("order", "status", "region", "admissibility", "sort")
        if args.get(key)
    }


@route("/appels/<int:call_id>/demandes", access=STAFF)
def call_applications_page(ctx: Ctx, call_id: int) -> Response:
    query = _table_query(ctx)
    table = ctx.rpc("applications", "applications_table", call_id=call_id, query=query)
    return _render(
        ctx,
        "applications/table.html.j2",
        table=table,
        query=query,
        csv_url=f"/appels/{call_id}/demandes.csv" + (f"?{urlencode(query)}" if query else ""),
        orders=ORDERS,
        statuses=STATUS_FILTERS,
        admissibilities=ADMISSIBILITY_FILTERS,
        sorts=SORTS,
    )


@route("/appels/<int:call_id>/demandes.csv", access=STAFF)
def call_applications_csv(ctx: Ctx, call_id: int) -> Response:
    result = ctx.rpc("applications", "applications_csv", call_id=call_id, query=_table_query(ctx))
    response = Response(result["content"].encode("utf-8"), mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = _content_disposition(result["filename"])
    return response


# -- applications: pages -----------------------------------------------------------------


@route("/appels/<int:call_id>/demande", methods=("POST",), access=INSTITUTIONS)
def application_open(ctx: Ctx, call_id: int) -> Response:
    try:
        application = ctx.rpc("applications", "open_application", call_id=call_id)
    except DomainError as exc:
        if exc.code == "conflict" and isinstance(exc.details, dict):
            existing = exc.details.get("application_id")
            if existing:
                return ctx.redirect(f"/demandes/{existing}")
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_call(ctx, call_id, exc.http_status, error=exc.message, failed="apply")
    return _redirect_with(ctx, f"/demandes/{application['id']}", "ouverte")


def _render_application(ctx: Ctx, application_id: int, status: int = 200, **extra) -> Response:
    application = ctx.rpc("applications", "get_application", application_id=application_id)
    context = {
        "app": application,
        "call": application["call"],
        "notices": _notice(ctx),
        "error": None,
        "errors": {},
        "failed": None,
        "form": {},
        "attachment_kinds": ATTACHMENT_KINDS,
        "rule_keys": RULE_KEYS,
    }
    context.update(extra)
    return _render(ctx, "applications/application.html.j2", status=status, **context)


@route("/demandes/<int:application_id>", access=AREA)
def application_page(ctx: Ctx, application_id: int) -> Response:
    _guard_evaluator(ctx, application_id)
    return _render_application(ctx, application_id)


def _application_action(
    ctx: Ctx, application_id: int, failed: str, action, done: str, form=None
) -> Response:
    ctx.rpc("applications", "get_application", application_id=application_id)  # 404 first
    try:
        result = action()
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_application(
            ctx,
            application_id,
            exc.http_status,
            error=exc.message,
            errors=exc.details if isinstance(exc.details, dict) else {},
            failed=failed,
            form=form or {},
        )
    voided = result.get("signatures_voided", 0) if isinstance(result, dict) else 0
    return _redirect_with(ctx, f"/demandes/{application_id}", done, voided)


def _render_section(ctx, application_id, section_id, status=200, values=None, **extra):
    application = ctx.rpc("applications", "get_application", application_id=application_id)
    section = next((s for s in application["call"]["sections"] if s["id"] == section_id), None)
    if section is None:
        raise HttpError(404, "Section introuvable dans ce formulaire.")
    context = {
        "app": application,
        "call": application["call"],
        "section": section,
        "values": values if values is not None else application["answers"],
        "error": None,
        "errors": {},
        "notices": _notice(ctx),
    }
    context.update(extra)
    return _render(ctx, "applications/section.html.j2", status=status, **context)


@route("/demandes/<int:application_id>/sections/<int:section_id>", access=INSTITUTIONS)
def application_section_form(ctx: Ctx, application_id: int, section_id: int) -> Response:
    return _render_section(ctx, application_id, section_id)


@route(
    "/demandes/<int:application_id>/sections/<int:section_id>",
    methods=("POST",),
    access=INSTITUTIONS,
)
def application_section_save(ctx: Ctx, application_id: int, section_id: int) -> Response:
    form = ctx.request.form
    answers = {
        key[1:]: value[:25000] for key, value in form.items() if re.fullmatch(r"q\d{1,9}", key)
    }
    try:
        result = ctx.rpc(
            "applications",
            "save_answers",
            application_id=application_id,
            section_id=section_id,
            answers=answers,
        )
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_section(
            ctx,
            application_id,
            section_id,
            exc.http_status,
            values=answers,
            error=exc.message,
            errors=exc.details if isinstance(exc.details, dict) else {},
        )
    return _redirect_with(
        ctx, f"/demandes/{application_id}", "section", result.get("signatures_voided", 0)
    )


@route("/demandes/<int:application_id>/pieces", methods=("POST",), access=INSTITUTIONS)
def application_upload(ctx: Ctx, application_id: int) -> Response:
    form = ctx.request.form
    back = _safe_back(form.get("retour"), f"/demandes/{application_id}")
    question_id = form.get("question_id", "")
    data = {
        "kind": "answer" if question_id.isdigit() else form.get("kind", ""),
        "question_id": int(question_id) if question_id.isdigit() else None,
    }
    ctx.rpc("applications", "get_application", application_id=application_id)  # 404 first
    try:
        filename, content = _uploaded(ctx, "fichier")
        result = ctx.rpc(
            "applications",
            "upload_attachment",
            application_id=application_id,
            data={**data, "filename": filename[:500], "content_b64": content},
        )
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_application(
            ctx,
            application_id,
            exc.http_status,
            error=exc.message,
            errors=exc.details if isinstance(exc.details, dict) else {},
            failed="upload",
            form=data,
        )
    query = {"fait": "piece"}
    if result.get("signatures_voided"):
        query["signatures"] = str(result["signatures_voided"])
    separator = "&" if "?" in back else "?"
    return ctx.redirect(f"{back}{separator}{urlencode(query)}")


@route("/demandes/<int:application_id>/pieces/<int:attachment_id>", access=AREA)
def application_attachment(ctx: Ctx, application_id: int, attachment_id: int) -> Response:
    _guard_evaluator(ctx, application_id)
    return _download(
        ctx.rpc(
            "applications",
            "get_attachment",
            application_id=application_id,
            attachment_id=attachment_id,
        )
    )


@route(
    "/demandes/<int:application_id>/pieces/<int:attachment_id>/supprimer",
    methods=("POST",),
    access=INSTITUTIONS,
)
def application_delete_attachment(ctx: Ctx, application_id: int, attachment_id: int):
    return _application_action(
        ctx,
        application_id,
        "attachments",
        lambda: ctx.rpc(
            "applications",
            "delete_attachment",
            application_id=application_id,
            attachment_id=attachment_id,
        ),
        "piece-retiree",
    )


@route("/demandes/<int:application_id>/signer", methods=("POST",), access=INSTITUTIONS)
def application_sign(ctx: Ctx, application_id: int) -> Response:
    return _application_action(
        ctx,
        application_id,
        "sign",
        lambda: ctx.rpc("applications", "sign", application_id=application_id),
        "signee",
    )


@route("/demandes/<int:application_id>/deposer", methods=("POST",), access=INSTITUTIONS)
def application_submit(ctx: Ctx, application_id: int) -> Response:
    return _application_action(
        ctx,
        application_id,
        "submit",
        lambda: ctx.rpc("applications", "submit", application_id=application_id),
        "deposee",
    )


@route("/demandes/<int:application_id>/retirer", methods=("POST",), access=INSTITUTIONS)
def application_withdraw(ctx: Ctx, application_id: int) -> Response:
    return _application_action(
        ctx,
        application_id,
        "withdraw",
        lambda: ctx.rpc("applications", "withdraw", application_id=application_id),
        "retiree",
    )


@route("/demandes/<int:application_id>/rouvrir", methods=("POST",), access=INSTITUTIONS)
def application_reopen(ctx: Ctx, application_id: int) -> Response:
    return _application_action(
        ctx,
        application_id,
        "reopen",
        lambda: ctx.rpc("applications", "reopen", application_id=application_id),
        "rouverte",
    )


@route("/demandes/<int:application_id>/accuse-reception.pdf", access=AREA)
def application_receipt(ctx: Ctx, application_id: int) -> Response:
    _guard_evaluator(ctx, application_id)
    return _download(ctx.rpc("applications", "get_receipt", application_id=application_id))


@route("/demandes/<int:application_id>/copie-papier", methods=("POST",), access=STAFF)
def application_paper(ctx: Ctx, application_id: int) -> Response:
    data = {"received_on": _date_or_none(ctx.request.form.get("received_on"))}
    return _application_action(
        ctx,
        application_id,
        "paper",
        lambda: ctx.rpc(
            "applications", "record_paper_receipt", application_id=application_id, data=data
        ),
        "papier",
        form=data,
    )


@route("/demandes/<int:application_id>/recevabilite/<rule>", methods=("POST",), access=STAFF)
def application_review_rule(ctx: Ctx, application_id: int, rule: str) -> Response:
    form = ctx.request.form
    verdict = form.get("resultat")
    data = {
        "rule": rule[:40],
        "passed": {"satisfaite": True, "non_satisfaite": False}.get(verdict, verdict),
        "justification": form.get("justification", "")[:4100],
    }
    return _application_action(
        ctx,
        application_id,
        f"rule-{rule}",
        lambda: ctx.rpc("applications", "review_rule", application_id=application_id, data=data),
        "regle",
        form=data,
    )


@route("/demandes/<int:application_id>/recevabilite", methods=("POST",), access=STAFF)
def application_decide(ctx: Ctx, application_id: int) -> Response:
    form = ctx.request.form
    data = {"decision": form.get("decision", ""), "comment": form.get("comment", "")[:4100]}
    return _application_action(
        ctx,
        application_id,
        "decision",
        lambda: ctx.rpc(
            "applications", "decide_admissibility", application_id=application_id, data=data
        ),
        "decision",
        form=data,
    )


# -- JSON API ------------------------------------------------------------------------------


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CallBody(Body):
    title: str = Field(max_length=300)
    education_orders: list[Literal["secondaire", "collégial"]]
    launch_date: date
    deadline_date: date
    analysis_date: date | None = None
    designation_date: date | None = None
    experimentation_years: list[str] = Field(default_factory=list, max_length=5)


class SectionBody(Body):
    title: str = Field(max_length=300)
    description: str = Field("", max_length=4000)
    position: int | None = Field(None, description="1 = première section; par défaut : à la fin")


class QuestionBody(Body):
    label: str = Field(max_length=1000)
    help_text: str = Field("", max_length=2000)
    kind: Literal["text", "yes_no", "choice", "file"]
    max_length: int | None = None
    options: list[str] | None = Field(None, max_length=30)
    required: bool = True


class CriterionBody(Body):
    group: Literal["qualite", "pertinence"]
    label: str = Field(max_length=1000)
    weight: int
    threshold: int


class GridBody(Body):
    criteria: list[CriterionBody] = Field(max_length=20)


class AmendmentBody(Body):
    reason: str = Field(max_length=4000)
    deadline_date: date | None = None
    analysis_date: date | None = None
    designation_date: date | None = None
    criteria: list[CriterionBody] | None = Field(None, max_length=20)


class AnswersBody(Body):
    answers: dict[str, str] = Field(max_length=200)


class PaperBody(Body):
    received_on: date


class ReviewBody(Body):
    passed: bool
    justification: str = Field("", max_length=4000)


class DecisionBody(Body):
    decision: Literal["recevable", "non_recevable"]
    comment: str = Field("", max_length=4000)


class CallSummaryOut(BaseModel):
    id: int
    title: str
    status: str
    status_label: str
    education_orders: list[str]
    launch_date: str
    deadline_date: str
    deadline_at: str
    deadline_passed: bool
    analysis_date: str | None
    designation_date: str | None
    experimentation_years: list[str]
    version: int


class CallListOut(BaseModel):
    calls: list[CallSummaryOut]


class ApplicationRowOut(BaseModel):
    id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    organisation_kind: str
    education_order: str | None
    region: str | None
    status: str
    status_label: str
    reference: str | None
    submitted_at: str | None
    paper_received_on: str | None
    paper_late: bool | None
    admissibility: str | None
    admissibility_label: str | None


class ApplicationTableOut(BaseModel):
    call: CallSummaryOut
    rows: list[ApplicationRowOut]
    counts: dict[str, int]
    total: int
    decisions: dict[str, int]
    regions: list[str]
    query: dict


def _json(ctx: Ctx) -> dict:
    return ctx.body.model_dump(mode="json")


@route("/api/calls", access=AREA, response=CallListOut, summary="Appels d'intérêt visibles")
def api_calls(ctx: Ctx):
    return {"calls": ctx.rpc("applications", "list_calls")}


@route(
    "/api/calls",
    methods=("POST",),
    access=ADMIN,
    body=CallBody,
    summary="Créer un appel d'intérêt (en préparation)",
)
def api_call_create(ctx: Ctx):
    return ctx.rpc("applications", "create_call", data=_json(ctx))


@route("/api/calls/<int:call_id>", access=AREA, summary="Un appel d'intérêt, avec son formulaire")
def api_call(ctx: Ctx, call_id: int):
    return ctx.rpc("applications", "get_call", call_id=call_id)


@route(
    "/api/calls/<int:call_id>",
    methods=("PUT",),
    access=ADMIN,
    body=CallBody,
    summary="Modifier un appel en préparation",
)
def api_call_update(ctx: Ctx, call_id: int):
    return ctx.rpc("applications", "update_call", call_id=call_id, data=_json(ctx))


@route(
    "/api/calls/<int:call_id>/sections",
    methods=("POST",),
    access=ADMIN,
    body=SectionBody,
    summary="Ajouter une section au formulaire",
)
def api_call_add_section(ctx: Ctx, call_id: int):
    return ctx.rpc("applications", "add_section", call_id=call_id, data=_json(ctx))


@route(
    "/api/calls/<int:call_id>/sections/<int:section_id>/questions",
    methods=("POST",),
    access=ADMIN,
    body=QuestionBody,
    summary="Ajouter une question à une section",
)
def api_call_add_question(ctx: Ctx, call_id: int, section_id: int):
    result = ctx.rpc(
        "applications", "add_question", call_id=call_id, section_id=section_id, data=_json(ctx)
    )
    return result


@route(
    "/api/calls/<int:call_id>/criteria",
    methods=("PUT",),
    access=ADMIN,
    body=GridBody,
    summary="Enregistrer la grille d'évaluation (pondérations et seuils)",
)
def api_call_criteria(ctx: Ctx, call_id: int):
    return ctx.rpc("applications", "set_criteria", call_id=call_id, criteria=_json(ctx)["criteria"])


@route(
    "/api/calls/<int:call_id>/guide",
    methods=("POST",),
    access=ADMIN,
    summary="Joindre le guide de présentation (PDF, multipart/form-data, champ « file »)",
)
def api_call_guide_upload(ctx: Ctx, call_id: int):
    filename, content = _uploaded(ctx, "file")
    result = ctx.rpc(
        "applications", "upload_guide", call_id=call_id, filename=filename, content_b64=content
    )
    return result


@route("/api/calls/<int:call_id>/guide", access=AREA, summary="Télécharger le guide (PDF)")
def api_call_guide(ctx: Ctx, call_id: int):
    return _download(ctx.rpc("applications", "get_guide", call_id=call_id))


@route(
    "/api/calls/<int:call_id>/publish",
    methods=("POST",),
    access=ADMIN,
    response=CallSummaryOut,
    summary="Publier un appel d'intérêt",
)
def api_call_publish(ctx: Ctx, call_id: int):
    return ctx.rpc("applications", "publish_call", call_id=call_id)


@route(
    "/api/calls/<int:call_id>/close",
    methods=("POST",),
    access=ADMIN,
    response=CallSummaryOut,
    summary="Fermer un appel d'intérêt",
)
def api_call_close(ctx: Ctx, call_id: int):
    return ctx.rpc("applications", "close_call", call_id=call_id)


@route(
    "/api/calls/<int:call_id>/amendments",
    methods=("POST",),
    access=ADMIN,
    body=AmendmentBody,
    summary="Modifier un appel publié par un avis de modification consigné",
)
def api_call_amend(ctx: Ctx, call_id: int):
    return ctx.rpc("applications", "amend_call", call_id=call_id, data=_json(ctx))


def _api_table_query(ctx: Ctx) -> dict:
    return _table_query(ctx)


@route(
    "/api/calls/<int:call_id>/applications",
    access=STAFF,
    response=ApplicationTableOut,
    summary="Tableau des demandes d'un appel (filtres order, status, region, admissibility; "
    "tri sort)",
)
def api_call_applications(ctx: Ctx, call_id: int):
    return ctx.rpc(
        "applications", "applications_table", call_id=call_id, query=_api_table_query(ctx)
    )


@route(
    "/api/calls/<int:call_id>/applications.csv",
    access=STAFF,
    summary="Tableau des demandes en CSV (UTF-8, point-virgule)",
)
def api_call_applications_csv(ctx: Ctx, call_id: int):
    return call_applications_csv(ctx, call_id)


@route(
    "/api/calls/<int:call_id>/applications",
    methods=("POST",),
    access=INSTITUTIONS,
    response=ApplicationRowOut,
    summary="Ouvrir la demande de son établissement (aucun champ : l'établissement est celui "
    "du compte)",
)
def api_application_open(ctx: Ctx, call_id: int):
    raw = ctx.request.get_data(cache=True)
    if raw.strip():
        if ctx.request.mimetype != "application/json":
            raise HttpError(415)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise HttpError(400, "Le corps de la requête n'est pas du JSON valide.") from exc
        if not isinstance(data, dict):
            raise HttpError(422, details={"corps": "Un objet JSON est attendu."})
        if data:
            raise HttpError(
                422,
                "L'établissement est toujours celui de votre compte : aucun champ n'est permis.",
                {key: "Ce champ n'est pas permis." for key in list(data)[:20]},
            )
    return ctx.rpc("applications", "open_application", call_id=call_id)


@route(
    "/api/applications/<int:application_id>",
    access=AREA,
    summary="Une demande : réponses, pièces, signatures, liste de vérification",
)
def api_application(ctx: Ctx, application_id: int):
    _guard_evaluator(ctx, application_id)
    return ctx.rpc("applications", "get_application", application_id=application_id)


@route(
    "/api/applications/<int:application_id>/sections/<int:section_id>",
    methods=("PUT",),
    access=INSTITUTIONS,
    body=AnswersBody,
    summary="Enregistrer les réponses d'une section (identifiant de question → valeur)",
)
def api_application_answers(ctx: Ctx, application_id: int, section_id: int):
    answers = _json(ctx)["answers"]
    bad = [k for k in answers if not k.isdigit()]
    if bad:
        raise HttpError(
            422, details={f"answers.{k}": "Identifiant de question attendu." for k in bad}
        )
    return ctx.rpc(
        "applications",
        "save_answers",
        application_id=application_id,
        section_id=section_id,
        answers=answers,
    )


@route(
    "/api/applications/<int:application_id>/attachments",
    methods=("POST",),
    access=INSTITUTIONS,
    summary="Joindre un fichier (multipart/form-data : file, kind, question_id facultatif)",
)
def api_application_upload(ctx: Ctx, application_id: int):
    filename, content = _uploaded(ctx, "file")
    question_id = ctx.request.form.get("question_id", "")
    data = {
        "kind": ctx.request.form.get("kind", "")[:40],
        "filename": filename[:500],
        "content_b64": content,
        "question_id": int(question_id) if question_id.isdigit() else None,
    }
    result = ctx.rpc("applications", "upload_attachment", application_id=application_id, data=data)
    return result


@route(
    "/api/applications/<int:application_id>/attachments/<int:attachment_id>",
    access=AREA,
    summary="Télécharger une pièce jointe",
)
def api_application_attachment(ctx: Ctx, application_id: int, attachment_id: int):
    _guard_evaluator(ctx, application_id)
    return application_attachment(ctx, application_id, attachment_id)


@route(
    "/api/applications/<int:application_id>/attachments/<int:attachment_id>",
    methods=("DELETE",),
    access=INSTITUTIONS,
    summary="Retirer une pièce jointe",
)
def api_application_delete_attachment(ctx: Ctx, application_id: int, attachment_id: int):
    return ctx.rpc(
        "applications",
        "delete_attachment",
        application_id=application_id,
        attachment_id=attachment_id,
    )


@route(
    "/api/applications/<int:application_id>/sign",
    methods=("POST",),
    access=INSTITUTIONS,
    summary="Signer la demande avec son propre compte",
)
def api_application_sign(ctx: Ctx, application_id: int):
    return ctx.rpc("applications", "sign", application_id=application_id)


@route(
    "/api/applications/<int:application_id>/submit",
    methods=("POST",),
    access=INSTITUTIONS,
    summary="Déposer la demande (complète et signée, avant la date limite)",
)
def api_application_submit(ctx: Ctx, application_id: int):
    return ctx.rpc("applications", "submit", application_id=application_id)


@route(
    "/api/applications/<int:application_id>/withdraw",
    methods=("POST",),
    access=INSTITUTIONS,
    response=ApplicationRowOut,
    summary="Retirer la demande (avant la date limite)",
)
def api_application_withdraw(ctx: Ctx, application_id: int):
    return ctx.rpc("applications", "withdraw", application_id=application_id)


@route(
    "/api/applications/<int:application_id>/reopen",
    methods=("POST",),
    access=INSTITUTIONS,
    response=ApplicationRowOut,
    summary="Rouvrir une demande retirée (avant la date limite)",
)
def api_application_reopen(ctx: Ctx, application_id: int):
    return ctx.rpc("applications", "reopen", application_id=application_id)


@route(
    "/api/applications/<int:application_id>/receipt",
    access=AREA,
    summary="Accusé de réception (PDF)",
)
def api_application_receipt(ctx: Ctx, application_id: int):
    _guard_evaluator(ctx, application_id)
    return application_receipt(ctx, application_id)


@route(
    "/api/applications/<int:application_id>/paper-receipt",
    methods=("POST",),
    access=STAFF,
    body=PaperBody,
    response=ApplicationRowOut,
    summary="Consigner la réception de la copie papier",
)
def api_application_paper(ctx: Ctx, application_id: int):
    return ctx.rpc(
        "applications", "record_paper_receipt", application_id=application_id, data=_json(ctx)
    )


@route(
    "/api/applications/<int:application_id>/admissibility/rules/<rule>",
    methods=("POST",),
    access=STAFF,
    body=ReviewBody,
    summary="Confirmer une règle de recevabilité ou y déroger avec justification",
)
def api_application_review_rule(ctx: Ctx, application_id: int, rule: str):
    if rule not in RULE_KEYS:
        raise HttpError(404, "Règle de recevabilité inconnue.")
    return ctx.rpc(
        "applications",
        "review_rule",
        application_id=application_id,
        data={"rule": rule, **_json(ctx)},
    )


@route(
    "/api/applications/<int:application_id>/admissibility/decision",
    methods=("POST",),
    access=STAFF,
    body=DecisionBody,
    response=ApplicationRowOut,
    summary="Décider : recevable ou non recevable",
)
def api_application_decide(ctx: Ctx, application_id: int):
    return ctx.rpc(
        "applications", "decide_admissibility", application_id=application_id, data=_json(ctx)
    )
