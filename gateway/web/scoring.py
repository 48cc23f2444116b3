"""Evaluation of CERAC applications and the minister's designation: pages and JSON API.

Thin handlers: they parse the request, call the ``scoring`` service by RPC (the actor is
added by ``ctx.rpc``) and render or redirect. Access per route mirrors the service's rules
(``services/scoring/access.py``): evaluators (and analysts sitting on a committee) score the
applications assigned to them; the admin runs the committee and records the minister's
decision; analysts read the committee's work; institutions read their own result once
the minister has decided. An evaluator reads an application's content only after the
scoring service confirmed that it is assigned to them and that they are not in conflict;
the content itself comes from the applications service, with the evaluator's own actor.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from gateway.web.framework import Ctx, HttpError, route
from rac_shared.actor import INSTITUTION_ROLES, Role
from rac_shared.clock import clock
from rac_shared.errors import DomainError
from rac_shared.formatting import long_date, long_datetime

ADMIN = frozenset({Role.MINISTRY_ADMIN})
STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
EVALUATORS = frozenset({Role.MINISTRY_EVALUATOR, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES
LETTER_READERS = STAFF | INSTITUTIONS

NOTICES = {
    "brouillon": "Votre brouillon est enregistré. Vous pourrez le reprendre plus tard.",
    "soumise": "Votre évaluation est soumise. Elle est maintenant verrouillée.",
    "conflit": "Votre conflit d'intérêts est consigné : les demandes de cet établissement ne "
    "vous seront ni confiées ni montrées.",
    "parametres": "Les paramètres du comité sont enregistrés.",
    "membre": "Le comité d'évaluation est mis à jour.",
    "conflit-consigne": "Le conflit d'intérêts est consigné; les affectations concernées sont "
    "retirées.",
    "affectation": "Les affectations sont mises à jour.",
    "rouverte": "L'évaluation est rouverte; la réouverture est consignée au journal.",
    "consensus": "La note de consensus est consignée et le résultat recalculé.",
    "recommandation": "La recommandation du comité est consignée.",
    "decision": "La décision de la ou du ministre est consignée.",
}
ORDERS = ("secondaire", "collégial")


# -- helpers -------------------------------------------------------------------------------


def _iso_date(value: str | None) -> str:
    """An ISO date or datetime of a reply, in French (times in Montréal)."""
    if not value:
        return ""
    if "T" in value:
        return long_datetime(datetime.fromisoformat(value))
    return long_date(date.fromisoformat(value))


def _render(ctx: Ctx, template: str, status: int = 200, **context) -> Response:
    ctx.app.templates.filters.setdefault("scoring_date", _iso_date)
    return ctx.render(template, status=status, **context)


def _notices(ctx: Ctx) -> list[str]:
    key = ctx.request.args.get("fait")
    notices = [NOTICES[key]] if key in NOTICES else []
    withdrawn = ctx.request.args.get("retirees", "")
    if withdrawn.isdigit() and int(withdrawn) > 0:
        notices.append(f"{withdrawn} affectation(s) retirée(s) pour conflit d'intérêts.")
    return notices


def _redirect(ctx: Ctx, path: str, fait: str, **extra) -> Response:
    return ctx.redirect(f"{path}?{urlencode({'fait': fait, **extra})}")


def _details(exc: DomainError) -> dict:
    """Field errors of a validation error ({field: French message}); a conflict's details
    are facts for API clients, not messages to list."""
    if exc.code != "invalid" or not isinstance(exc.details, dict):
        return {}
    return {k: v for k, v in exc.details.items() if isinstance(v, str)}


def _content_disposition(filename: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name) or "fichier"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _download(payload: dict) -> Response:
    response = Response(base64.b64decode(payload["content_b64"]), mimetype=payload["mime"])
    response.headers["Content-Disposition"] = _content_disposition(payload["filename"])
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _csv(payload: dict) -> Response:
    response = Response(payload["content"].encode("utf-8"), mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = _content_disposition(payload["filename"])
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


# -- evaluators: workspace and scoring form ----------------------------------------------------


def _render_workspace(ctx: Ctx, status: int = 200, **extra) -> Response:
    context = {
        "ws": ctx.rpc("scoring", "workspace"),
        "notices": _notices(ctx),
        "error": None,
        "errors": {},
        "form": {},
    }
    context.update(extra)
    return _render(ctx, "scoring/workspace.html.j2", status=status, **context)


@route("/evaluations", access=EVALUATORS)
def scoring_workspace(ctx: Ctx) -> Response:
    return _render_workspace(ctx)


@route("/evaluations/conflits", methods=("POST",), access=EVALUATORS)
def scoring_declare_conflict(ctx: Ctx) -> Response:
    form = ctx.request.form
    target = form.get("etablissement", "")
    call_id, _, key = target.partition("|")
    reason = form.get("reason", "")[:2100]
    back = form.get("retour", "")
    try:
        if not call_id.isdigit() or not key:
            raise DomainError(
                "Choisissez l'établissement avec lequel vous êtes en conflit d'intérêts.",
                {"etablissement": "Choisissez un établissement."},
                "invalid",
            )
        ctx.rpc(
            "scoring",
            "declare_conflict",
            call_id=int(call_id),
            data={"organisation_key": key[:220], "reason": reason},
        )
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        evaluation_id = _int(back)
        if evaluation_id is not None:
            return _render_form(
                ctx,
                evaluation_id,
                exc.http_status,
                error=exc.message,
                errors=_details(exc),
                failed="conflict",
                conflict_reason=reason,
            )
        return _render_workspace(
            ctx,
            exc.http_status,
            error=exc.message,
            errors=_details(exc),
            form={"etablissement": target, "reason": reason},
        )
    return _redirect(ctx, "/evaluations", "conflit")


def _application_content(ctx: Ctx, assignment: dict) -> dict | None:
    """The application's content, read from the applications service with the evaluator's
    own actor, once scoring confirmed the assignment (``assignment`` is its answer)."""
    if not assignment.get("application_id"):
        return None
    try:
        return ctx.rpc(
            "applications", "get_application", application_id=assignment["application_id"]
        )
    except DomainError as exc:
        if exc.code in ("not_found", "forbidden"):
            return None
        raise


def _render_form(ctx: Ctx, evaluation_id: int, status: int = 200, values=None, **extra):
    assignment = ctx.rpc("scoring", "get_assignment", evaluation_id=evaluation_id)
    if values is None:
        values = {
            c["id"]: {"score": c["score_display"], "comment": c["comment"]}
            for c in assignment["criteria"]
        }
    context = {
        "a": assignment,
        "application": _application_content(ctx, assignment),
        "values": values,
        "notices": _notices(ctx),
        "error": None,
        "errors": {},
        "failed": None,
        "conflict_reason": "",
    }
    context.update(extra)
    return _render(ctx, "scoring/form.html.j2", status=status, **context)


@route("/evaluations/<int:evaluation_id>", access=EVALUATORS)
def scoring_form(ctx: Ctx, evaluation_id: int) -> Response:
    return _render_form(ctx, evaluation_id)


@route("/evaluations/<int:evaluation_id>", methods=("POST",), access=EVALUATORS)
def scoring_save(ctx: Ctx, evaluation_id: int) -> Response:
    form = ctx.request.form
    submit = form.get("action") == "soumettre"
    assignment = ctx.rpc("scoring", "get_assignment", evaluation_id=evaluation_id)  # 404 first
    values, scores = {}, []
    for criterion in assignment["criteria"]:
        cid = criterion["id"]
        score = form.get(f"note-{cid}", "")[:20]
        comment = form.get(f"commentaire-{cid}", "")[:4100]
        values[cid] = {"score": score, "comment": comment}
        scores.append({"criterion_id": cid, "score": score.strip() or None, "comment": comment})
    try:
        ctx.rpc(
            "scoring",
            "save_scores",
            evaluation_id=evaluation_id,
            data={"scores": scores, "submit": submit},
        )
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        return _render_form(
            ctx,
            evaluation_id,
            exc.http_status,
            values=values,
            error=exc.message,
            errors=_details(exc),
            failed="scores",
        )
    return _redirect(ctx, f"/evaluations/{evaluation_id}", "soumise" if submit else "brouillon")


# -- the committee -------------------------------------------------------------------------------


@route("/comites", access=STAFF)
def scoring_committees(ctx: Ctx) -> Response:
    return _render(
        ctx, "scoring/committees.html.j2", committees=ctx.rpc("scoring", "list_committees")
    )


def _render_committee(ctx: Ctx, call_id: int, status: int = 200, **extra):
    page = ctx.rpc("scoring", "committee_page", call_id=call_id)
    view, candidates = page["committee"], page["candidates"]
    context = {
        "v": view,
        "candidates": candidates,
        "notices": _notices(ctx),
        "error": None,
        "errors": {},
        "failed": None,
        "form": {},
    }
    context.update(extra)
    return _render(ctx, "scoring/committee.html.j2", status=status, **context)


@route("/comites/<int:call_id>", access=STAFF)
def scoring_committee(ctx: Ctx, call_id: int) -> Response:
    return _render_committee(ctx, call_id)


def _committee_action(
    ctx: Ctx,
    call_id: int,
    failed: str,
    action,
    done: str,
    form=None,
    evaluation_id: int | None = None,
    page: str = "committee",
) -> Response:
    """Run ``action``; on a validation or state error re-render the page with the user's
    input and the French message (nothing was changed)."""
    view = ctx.rpc("scoring", "get_committee", call_id=call_id)  # 404 first
    if evaluation_id is not None and evaluation_id not in {e["id"] for e in view["evaluations"]}:
        raise HttpError(404, "Cette demande n'est pas évaluée par le comité de cet appel.")
    try:
        result = action()
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        render = _render_designation if page == "designation" else _render_committee
        return render(
            ctx,
            call_id,
            exc.http_status,
            error=exc.message,
            errors=_details(exc),
            failed=failed,
            form=form or {},
        )
    extra = {}
    if isinstance(result, dict) and result.get("withdrawn"):
        extra["retirees"] = str(result["withdrawn"])
    path = f"/comites/{call_id}" + ("/designation" if page == "designation" else "")
    return _redirect(ctx, path, done, **extra)


@route("/comites/<int:call_id>/parametres", methods=("POST",), access=ADMIN)
def scoring_parameters(ctx: Ctx, call_id: int) -> Response:
    form = ctx.request.form
    data = {
        "min_evaluators": form.get("min_evaluators", "").strip()[:3] or None,
        "spread_gap_percent": form.get("spread_gap_percent", "").strip().replace(",", ".")[:8]
        or None,
        "overall_threshold": form.get("overall_threshold", "").strip().replace(",", ".")[:8]
        or None,
    }
    return _committee_action(
        ctx,
        call_id,
        "parameters",
        lambda: ctx.rpc("scoring", "set_parameters", call_id=call_id, data=data),
        "parametres",
        form=data,
    )


@route("/comites/<int:call_id>/membres", methods=("POST",), access=ADMIN)
def scoring_add_member(ctx: Ctx, call_id: int) -> Response:
    data = {"user_id": _int(ctx.request.form.get("user_id"))}
    return _committee_action(
        ctx,
        call_id,
        "member",
        lambda: ctx.rpc("scoring", "add_member", call_id=call_id, data=data),
        "membre",
    )


@route("/comites/<int:call_id>/membres/<int:user_id>/retirer", methods=("POST",), access=ADMIN)
def scoring_remove_member(ctx: Ctx, call_id: int, user_id: int) -> Response:
    return _committee_action(
        ctx,
        call_id,
        "members",
        lambda: ctx.rpc("scoring", "remove_member", call_id=call_id, user_id=user_id),
        "membre",
    )


@route("/comites/<int:call_id>/conflits", methods=("POST",), access=ADMIN)
def scoring_record_conflict(ctx: Ctx, call_id: int) -> Response:
    form = ctx.request.form
    data = {
        "user_id": _int(form.get("user_id")),
        "organisation_key": form.get("organisation_key", "")[:220],
        "reason": form.get("reason", "")[:2100],
    }
    return _committee_action(
        ctx,
        call_id,
        "conflict",
        lambda: ctx.rpc("scoring", "record_conflict", call_id=call_id, data=data),
        "conflit-consigne",
        form=data,
    )


@route(
    "/comites/<int:call_id>/evaluations/<int:evaluation_id>/affectations",
    methods=("POST",),
    access=ADMIN,
)
def scoring_assign(ctx: Ctx, call_id: int, evaluation_id: int) -> Response:
    data = {"user_id": _int(ctx.request.form.get("user_id"))}
    return _committee_action(
        ctx,
        call_id,
        f"assign-{evaluation_id}",
        lambda: ctx.rpc("scoring", "assign", evaluation_id=evaluation_id, data=data),
        "affectation",
        evaluation_id=evaluation_id,
    )


@route(
    "/comites/<int:call_id>/evaluations/<int:evaluation_id>/affectations/<int:user_id>/retirer",
    methods=("POST",),
    access=ADMIN,
)
def scoring_unassign(ctx: Ctx, call_id: int, evaluation_id: int, user_id: int) -> Response:
    return _committee_action(
        ctx,
        call_id,
        f"assign-{evaluation_id}",
        lambda: ctx.rpc("scoring", "unassign", evaluation_id=evaluation_id, user_id=user_id),
        "affectation",
        evaluation_id=evaluation_id,
    )


@route(
    "/comites/<int:call_id>/evaluations/<int:evaluation_id>/rouvrir",
    methods=("POST",),
    access=ADMIN,
)
def scoring_reopen(ctx: Ctx, call_id: int, evaluation_id: int) -> Response:
    form = ctx.request.form
    data = {"user_id": _int(form.get("user_id")), "reason": form.get("reason", "")[:2100]}
    return _committee_action(
        ctx,
        call_id,
        f"reopen-{evaluation_id}",
        lambda: ctx.rpc("scoring", "reopen", evaluation_id=evaluation_id, data=data),
        "rouverte",
        form=data,
        evaluation_id=evaluation_id,
    )


@route(
    "/comites/<int:call_id>/evaluations/<int:evaluation_id>/consensus",
    methods=("POST",),
    access=ADMIN,
)
def scoring_consensus(ctx: Ctx, call_id: int, evaluation_id: int) -> Response:
    form = ctx.request.form
    data = {
        "criterion_id": _int(form.get("criterion_id")),
        "score": form.get("score", "")[:20],
        "justification": form.get("justification", "")[:4100],
    }
    return _committee_action(
        ctx,
        call_id,
        f"consensus-{evaluation_id}",
        lambda: ctx.rpc("scoring", "record_consensus", evaluation_id=evaluation_id, data=data),
        "consensus",
        form=data,
        evaluation_id=evaluation_id,
    )


@route("/comites/<int:call_id>/matrice.csv", access=STAFF)
def scoring_committee_csv(ctx: Ctx, call_id: int) -> Response:
    return _csv(ctx.rpc("scoring", "committee_csv", call_id=call_id))


@route("/comites/<int:call_id>/rapport.pdf", access=STAFF)
def scoring_committee_pdf(ctx: Ctx, call_id: int) -> Response:
    return _download(ctx.rpc("scoring", "committee_pdf", call_id=call_id, timeout=60))


# -- recommendation and designation --------------------------------------------------------------


def _render_designation(ctx: Ctx, call_id: int, status: int = 200, **extra) -> Response:
    context = {
        "v": ctx.rpc("scoring", "get_committee", call_id=call_id),
        "notices": _notices(ctx),
        "error": None,
        "errors": {},
        "failed": None,
        "form": {},
        "today": clock.today().isoformat(),
    }
    context.update(extra)
    return _render(ctx, "scoring/designation.html.j2", status=status, **context)


@route("/comites/<int:call_id>/designation", access=STAFF)
def scoring_designation_page(ctx: Ctx, call_id: int) -> Response:
    return _render_designation(ctx, call_id)


@route("/comites/<int:call_id>/recommandation", methods=("POST",), access=ADMIN)
def scoring_recommend(ctx: Ctx, call_id: int) -> Response:
    form = ctx.request.form
    order = form.get("education_order", "")[:20]
    ids = [i for i in (_int(v) for v in form.getlist("evaluation_ids")[:10]) if i is not None]
    data = {"education_order": order, "evaluation_ids": ids, "comment": form.get("comment", "")}
    data["comment"] = data["comment"][:4100]
    return _committee_action(
        ctx,
        call_id,
        f"recommend-{order}",
        lambda: ctx.rpc("scoring", "record_recommendation", call_id=call_id, data=data),
        "recommandation",
        form=data,
        page="designation",
    )


@route("/comites/<int:call_id>/designation", methods=("POST",), access=ADMIN)
def scoring_decide(ctx: Ctx, call_id: int) -> Response:
    form = ctx.request.form
    evaluation_id = _int(form.get("evaluation_id"))
    choice = form.get("decision", "")
    data = {
        "designated": {"designe": True, "non_designe": False}.get(choice),
        "decision_date": form.get("decision_date", "").strip()[:10] or None,
        "justification": form.get("justification", "")[:4100],
    }
    if evaluation_id is None:
        raise HttpError(404, "Demande introuvable.")

    def decide():
        if data["designated"] is None:
            raise DomainError(
                "Choisissez la décision : désigné ou non désigné.",
                {"decision": "Choisissez une décision."},
                "invalid",
            )
        return ctx.rpc("scoring", "decide", evaluation_id=evaluation_id, data=data)

    return _committee_action(
        ctx,
        call_id,
        f"decide-{evaluation_id}",
        decide,
        "decision",
        form={**data, "decision": choice},
        evaluation_id=evaluation_id,
        page="designation",
    )


@route("/lettres/<int:evaluation_id>.pdf", access=LETTER_READERS)
def scoring_letter(ctx: Ctx, evaluation_id: int) -> Response:
    return _download(ctx.rpc("scoring", "get_letter", evaluation_id=evaluation_id, timeout=60))


# -- institutions ----------------------------------------------------------------------------------


@route("/resultats", access=INSTITUTIONS)
def scoring_results(ctx: Ctx) -> Response:
    return _render(ctx, "scoring/results.html.j2", results=ctx.rpc("scoring", "my_results"))


# -- JSON API ------------------------------------------------------------------------------


class ScoringBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScoringScoreBody(ScoringBody):
    criterion_id: int
    score: str | Decimal | int | None = Field(
        None, description="Note sur l'échelle du critère (0 à sa pondération, par demi-point)"
    )
    comment: str = Field("", max_length=4000)


class ScoringScoresBody(ScoringBody):
    scores: list[ScoringScoreBody] = Field(max_length=40)
    submit: bool = False


class ScoringConflictBody(ScoringBody):
    organisation_key: str = Field(max_length=220)
    reason: str = Field(max_length=2000)


class ScoringAdminConflictBody(ScoringConflictBody):
    user_id: int


class ScoringParametersBody(ScoringBody):
    min_evaluators: int = Field(ge=2, le=9)
    spread_gap_percent: Decimal = Field(gt=0, le=100)
    overall_threshold: Decimal | None = Field(None, ge=0, le=100)


class ScoringUserBody(ScoringBody):
    user_id: int


class ScoringReopenBody(ScoringBody):
    user_id: int
    reason: str = Field(max_length=2000)


class ScoringConsensusBody(ScoringBody):
    criterion_id: int
    score: str | Decimal | int
    justification: str = Field(max_length=4000)


class ScoringRecommendationBody(ScoringBody):
    education_order: Literal["secondaire", "collégial"]
    evaluation_ids: list[int] = Field(max_length=10)
    comment: str = Field("", max_length=4000)


class ScoringDecisionBody(ScoringBody):
    designated: bool
    decision_date: date | None = None
    justification: str = Field("", max_length=4000)


class ScoringDecisionOut(BaseModel):
    evaluation_id: int
    organisation_name: str
    education_order: str
    decision: str
    decision_label: str
    decision_date: str
    qualified: bool | None


class ScoringResultOut(BaseModel):
    evaluation_id: int
    call_title: str
    reference: str
    education_order: str
    decided: bool
    status_label: str
    decision: str | None
    decision_label: str | None
    decision_date: str | None
    total: str | None
    overall_threshold: str | None
    qualified: bool | None
    criteria: list[dict]
    letter_available: bool


class ScoringResultsOut(BaseModel):
    results: list[ScoringResultOut]


def _json(ctx: Ctx) -> dict:
    return ctx.body.model_dump(mode="json")


@route(
    "/api/scoring/evaluations",
    access=EVALUATORS,
    summary="Mes évaluations : demandes confiées, progression, établissements de mes comités",
)
def api_scoring_workspace(ctx: Ctx):
    return ctx.rpc("scoring", "workspace")


@route(
    "/api/scoring/evaluations/<int:evaluation_id>",
    access=EVALUATORS,
    summary="Une demande qui m'est confiée : la grille et mes notes (jamais celles des autres)",
)
def api_scoring_assignment(ctx: Ctx, evaluation_id: int):
    return ctx.rpc("scoring", "get_assignment", evaluation_id=evaluation_id)


@route(
    "/api/scoring/evaluations/<int:evaluation_id>/scores",
    methods=("PUT",),
    access=EVALUATORS,
    body=ScoringScoresBody,
    summary="Enregistrer mes notes (brouillon) ou les soumettre (submit: true)",
)
def api_scoring_save(ctx: Ctx, evaluation_id: int):
    return ctx.rpc("scoring", "save_scores", evaluation_id=evaluation_id, data=_json(ctx))


@route(
    "/api/scoring/committees/<int:call_id>/my-conflicts",
    methods=("POST",),
    access=EVALUATORS,
    body=ScoringConflictBody,
    summary="Déclarer mon conflit d'intérêts avec un établissement de l'appel",
)
def api_scoring_declare_conflict(ctx: Ctx, call_id: int):
    return ctx.rpc("scoring", "declare_conflict", call_id=call_id, data=_json(ctx))


@route("/api/scoring/committees", access=STAFF, summary="Comités d'évaluation, par appel")
def api_scoring_committees(ctx: Ctx):
    return {"committees": ctx.rpc("scoring", "list_committees")}


@route(
    "/api/scoring/committees/<int:call_id>",
    access=STAFF,
    summary="Vue du comité : matrice demandes × critères, classement par ordre, décisions",
)
def api_scoring_committee(ctx: Ctx, call_id: int):
    return ctx.rpc("scoring", "get_committee", call_id=call_id)


@route(
    "/api/scoring/committees/<int:call_id>/parameters",
    methods=("PUT",),
    access=ADMIN,
    body=ScoringParametersBody,
    summary="Paramètres du comité : évaluateurs par demande, écart toléré, seuil global",
)
def api_scoring_parameters(ctx: Ctx, call_id: int):
    return ctx.rpc("scoring", "set_parameters", call_id=call_id, data=_json(ctx))


@route(
    "/api/scoring/committees/<int:call_id>/members",
    methods=("POST",),
    access=ADMIN,
    body=ScoringUserBody,
    summary="Faire siéger une évaluatrice, un évaluateur ou un analyste au comité",
)
def api_scoring_add_member(ctx: Ctx, call_id: int):
    return ctx.rpc("scoring", "add_member", call_id=call_id, data=_json(ctx))


@route(
    "/api/scoring/committees/<int:call_id>/conflicts",
    methods=("POST",),
    access=ADMIN,
    body=ScoringAdminConflictBody,
    summary="Consigner un conflit d'intérêts entre un membre et un établissement",
)
def api_scoring_record_conflict(ctx: Ctx, call_id: int):
    return ctx.rpc("scoring", "record_conflict", call_id=call_id, data=_json(ctx))


@route(
    "/api/scoring/evaluations/<int:evaluation_id>/assignments",
    methods=("POST",),
    access=ADMIN,
    body=ScoringUserBody,
    summary="Confier une demande à un membre du comité",
)
def api_scoring_assign(ctx: Ctx, evaluation_id: int):
    return ctx.rpc("scoring", "assign", evaluation_id=evaluation_id, data=_json(ctx))


@route(
    "/api/scoring/evaluations/<int:evaluation_id>/assignments/<int:user_id>",
    methods=("DELETE",),
    access=ADMIN,
    summary="Retirer une affectation (évaluation non soumise)",
)
def api_scoring_unassign(ctx: Ctx, evaluation_id: int, user_id: int):
    return ctx.rpc("scoring", "unassign", evaluation_id=evaluation_id, user_id=user_id)


@route(
    "/api/scoring/evaluations/<int:evaluation_id>/reopen",
    methods=("POST",),
    access=ADMIN,
    body=ScoringReopenBody,
    summary="Rouvrir l'évaluation soumise d'un membre (motif consigné)",
)
def api_scoring_reopen(ctx: Ctx, evaluation_id: int):
    return ctx.rpc("scoring", "reopen", evaluation_id=evaluation_id, data=_json(ctx))


@route(
    "/api/scoring/evaluations/<int:evaluation_id>/consensus",
    methods=("POST",),
    access=ADMIN,
    body=ScoringConsensusBody,
    summary="Consigner une note de consensus justifiée pour un critère",
)
def api_scoring_consensus(ctx: Ctx, evaluation_id: int):
    return ctx.rpc("scoring", "record_consensus", evaluation_id=evaluation_id, data=_json(ctx))


@route(
    "/api/scoring/committees/<int:call_id>/recommendations",
    methods=("POST",),
    access=ADMIN,
    body=ScoringRecommendationBody,
    summary="Consigner la recommandation du comité pour un ordre d'enseignement (3 au plus)",
)
def api_scoring_recommend(ctx: Ctx, call_id: int):
    return ctx.rpc("scoring", "record_recommendation", call_id=call_id, data=_json(ctx))


@route(
    "/api/scoring/evaluations/<int:evaluation_id>/decision",
    methods=("POST",),
    access=ADMIN,
    body=ScoringDecisionBody,
    response=ScoringDecisionOut,
    summary="Consigner la décision de la ou du ministre (3 désignations au plus par ordre)",
)
def api_scoring_decide(ctx: Ctx, evaluation_id: int):
    return ctx.rpc("scoring", "decide", evaluation_id=evaluation_id, data=_json(ctx))


@route(
    "/api/scoring/committees/<int:call_id>/matrix.csv",
    access=STAFF,
    summary="Matrice du comité en CSV (UTF-8, point-virgule)",
)
def api_scoring_committee_csv(ctx: Ctx, call_id: int):
    return _csv(ctx.rpc("scoring", "committee_csv", call_id=call_id))


@route(
    "/api/scoring/evaluations/<int:evaluation_id>/letter",
    access=LETTER_READERS,
    summary="Lettre de désignation ou de non-désignation (PDF)",
)
def api_scoring_letter(ctx: Ctx, evaluation_id: int):
    return scoring_letter(ctx, evaluation_id)


@route(
    "/api/scoring/results",
    access=INSTITUTIONS,
    response=ScoringResultsOut,
    summary="Résultats de l'évaluation des demandes de mon établissement",
)
def api_scoring_results(ctx: Ctx):
    return {"results": ctx.rpc("scoring", "my_results")}
