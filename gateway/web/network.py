"""The network of CERACs: the list (searchable by competence area and text, never by
territory: a CERAC has no region and no sector), a CERAC's page with its contacts, and
support requests between institutions and CERACs. Pages and JSON API.

Who: every institution user and the ministry read the network; institutions send support
requests, and the CERAC's own users answer them and keep its competence areas up to date.
Employers are refused (403): the network is the education networks' mutual support
(seed 000: "un ajout, en terme d'appui et d'aide, aux réseaux de la FPT"); an employer's
partner is the cégep of its implementation plan, and the contacts listed here are the
institutions' staff. Tenant scoping is the applications service's (another CERAC's
incoming request is "not found").
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from gateway.web.framework import Ctx, HttpError, route
from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES, ROLE_LABELS
from rac_shared.errors import DomainError
from rac_shared.formatting import long_date, long_datetime

AREA = MINISTRY_ROLES | INSTITUTION_ROLES
INSTITUTIONS = INSTITUTION_ROLES
NOTICES = {
    "envoyee": "Votre demande d'appui est envoyée au CERAC. Sa réponse paraîtra ci-dessous.",
    "repondue": "Votre réponse est envoyée à l'établissement.",
    "domaines": "Les domaines de compétence du CERAC sont enregistrés.",
}


class SupportRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object: str = Field(max_length=300, description="Objet de la demande")
    program: str = Field("", max_length=200, description="Programme visé (p. ex. 180.A0)")
    message: str = Field(max_length=5000)


class SupportAnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(max_length=5000)


class CompetencesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    areas: list[str] = Field(default_factory=list, max_length=20)
    programs: list[str] = Field(default_factory=list, max_length=30)


def iso_long_date(value: str | None) -> str:
    """An ISO date or datetime from a service reply, in French (times in Montréal)."""
    if not value:
        return ""
    if "T" in value:
        return long_datetime(datetime.fromisoformat(value))
    return long_date(date.fromisoformat(value))


def _render(ctx: Ctx, template: str, status: int = 200, **context) -> Response:
    ctx.app.templates.filters.setdefault("iso_long_date", iso_long_date)
    return ctx.render(
        template,
        status=status,
        role_names={role.value: label for role, label in ROLE_LABELS.items()},
        **context,
    )


def _notice(ctx: Ctx) -> str | None:
    return NOTICES.get(ctx.request.args.get("fait", ""))


def _query(ctx: Ctx) -> dict:
    return {
        "q": ctx.request.args.get("q", "")[:200],
        "domaine": ctx.request.args.get("domaine", "")[:40],
    }


def _errors(exc: DomainError) -> dict:
    return exc.details if isinstance(exc.details, dict) else {}


# -- pages --------------------------------------------------------------------------------


@route("/reseau", access=AREA)
def network_page(ctx: Ctx) -> Response:
    query = _query(ctx)
    status, error = 200, None
    try:
        result = ctx.rpc("applications", "network_ceracs", query=query)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        status, error = exc.http_status, exc.message
        result = ctx.rpc("applications", "network_ceracs", query={"q": query["q"]})
    return _render(
        ctx, "network/index.html.j2", status=status, result=result, query=query, error=error
    )


def _render_cerac(ctx: Ctx, cerac_id: int, status: int = 200, **extra) -> Response:
    cerac = ctx.rpc("applications", "get_cerac", cerac_id=cerac_id)
    context = {"cerac": cerac, "notice": _notice(ctx), "error": None, "errors": {}, "form": {}}
    context.update(extra)
    return _render(ctx, "network/cerac.html.j2", status=status, **context)


@route("/reseau/<int:cerac_id>", access=AREA)
def cerac_page(ctx: Ctx, cerac_id: int) -> Response:
    return _render_cerac(ctx, cerac_id)


@route("/reseau/<int:cerac_id>/demandes", methods=("POST",), access=INSTITUTIONS)
def send_support_request(ctx: Ctx, cerac_id: int) -> Response:
    ctx.rpc("applications", "get_cerac", cerac_id=cerac_id)  # 404 first
    form = ctx.request.form
    data = {
        "object": form.get("object", "")[:400],
        "program": form.get("program", "")[:300],
        "message": form.get("message", "")[:6000],
    }
    try:
        ctx.rpc("applications", "request_support", cerac_id=cerac_id, data=data)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_cerac(
            ctx, cerac_id, exc.http_status, error=exc.message, errors=_errors(exc), form=data
        )
    return ctx.redirect("/reseau/demandes?" + urlencode({"fait": "envoyee"}))


@route("/reseau/<int:cerac_id>/domaines", methods=("POST",), access=INSTITUTIONS)
def save_competences(ctx: Ctx, cerac_id: int) -> Response:
    cerac = ctx.rpc("applications", "get_cerac", cerac_id=cerac_id)  # 404 first
    if not cerac["mine"]:
        raise HttpError(404, "CERAC introuvable.")
    form = ctx.request.form
    programs = [p for p in form.get("programs", "").replace(";", ",").split(",") if p.strip()]
    data = {"areas": form.getlist("areas")[:20], "programs": programs[:30]}
    try:
        ctx.rpc("applications", "update_cerac_competences", cerac_id=cerac_id, data=data)
    except DomainError as exc:
        if exc.code != "invalid":
            raise
        return _render_cerac(ctx, cerac_id, exc.http_status, error=exc.message, errors=_errors(exc))
    return ctx.redirect(f"/reseau/{cerac_id}?" + urlencode({"fait": "domaines"}))


def _render_requests(ctx: Ctx, status: int = 200, **extra) -> Response:
    requests = ctx.rpc("applications", "support_requests")
    context = {"requests": requests, "notice": _notice(ctx), "error": None, "failed": None}
    context.update(extra)
    return _render(ctx, "network/requests.html.j2", status=status, **context)


@route("/reseau/demandes", access=INSTITUTIONS)
def support_requests_page(ctx: Ctx) -> Response:
    return _render_requests(ctx)


@route("/reseau/demandes/<int:request_id>/reponse", methods=("POST",), access=INSTITUTIONS)
def answer_support_request(ctx: Ctx, request_id: int) -> Response:
    data = {"answer": ctx.request.form.get("answer", "")[:6000]}
    try:
        ctx.rpc("applications", "answer_support", request_id=request_id, data=data)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_requests(
            ctx, exc.http_status, error=exc.message, failed=request_id, answer=data["answer"]
        )
    return ctx.redirect("/reseau/demandes?" + urlencode({"fait": "repondue"}))


# -- API ----------------------------------------------------------------------------------


@route(
    "/api/network/ceracs",
    access=AREA,
    summary="Les CERAC du réseau (paramètres : q = texte, domaine = domaine de compétence)",
)
def api_network(ctx: Ctx):
    return ctx.rpc("applications", "network_ceracs", query=_query(ctx))


@route("/api/network/ceracs/<int:cerac_id>", access=AREA, summary="Un CERAC et ses contacts")
def api_cerac(ctx: Ctx, cerac_id: int):
    return ctx.rpc("applications", "get_cerac", cerac_id=cerac_id)


@route(
    "/api/network/ceracs/<int:cerac_id>/competences",
    methods=("PUT",),
    access=INSTITUTIONS,
    body=CompetencesBody,
    summary="Domaines de compétence et programmes du CERAC (ses propres utilisateurs)",
)
def api_cerac_competences(ctx: Ctx, cerac_id: int):
    return ctx.rpc(
        "applications",
        "update_cerac_competences",
        cerac_id=cerac_id,
        data=ctx.body.model_dump(mode="json"),
    )


@route(
    "/api/network/ceracs/<int:cerac_id>/support-requests",
    methods=("POST",),
    access=INSTITUTIONS,
    body=SupportRequestBody,
    summary="Demander l'appui d'un CERAC (objet, programme, message)",
)
def api_request_support(ctx: Ctx, cerac_id: int):
    return ctx.rpc(
        "applications",
        "request_support",
        cerac_id=cerac_id,
        data=ctx.body.model_dump(mode="json"),
    )


@route(
    "/api/network/support-requests",
    access=INSTITUTIONS,
    summary="Demandes d'appui envoyées et, pour un CERAC, reçues",
)
def api_support_requests(ctx: Ctx):
    return ctx.rpc("applications", "support_requests")


@route(
    "/api/network/support-requests/<int:request_id>/answer",
    methods=("POST",),
    access=INSTITUTIONS,
    body=SupportAnswerBody,
    summary="Répondre à une demande d'appui reçue par son CERAC",
)
def api_answer_support(ctx: Ctx, request_id: int):
    return ctx.rpc(
        "applications",
        "answer_support",
        request_id=request_id,
        data=ctx.body.model_dump(mode="json"),
    )
