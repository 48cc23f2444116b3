"""The plans JSON API: most operations pass their ids and body to one RPC of the contract
(summaries: the contract's docstrings); a version chosen by query string, the PDF and the
online acceptance (which records the caller's address) are ordinary routes."""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web import responses
from gateway.web.framework import Ctx, route
from gateway.web.passthrough import Api, passthrough
from gateway.web.plans.pages import EMPLOYERS, INSTITUTIONS, PARTIES
from rac_shared.actor import MINISTRY_ROLES
from rac_shared.contracts import plans

S = "/api/plans"
P = f"{S}/<int:plan_id>"
C = f"{P}/candidates/<int:candidate_id>"

# fmt: off
passthrough(
    "plans",
    Api("api_plans", f"GET {S}", "list_plans", PARTIES),
    Api("api_plan_create", f"POST {S}", "create_plan", INSTITUTIONS),
    Api("api_plan_figures", f"GET {S}/figures", "network_figures", MINISTRY_ROLES),
    Api("api_plan_update", f"PATCH {P}", "update_draft", INSTITUTIONS),
    Api("api_plan_issue", f"POST {P}/issue", "issue", INSTITUTIONS),
    Api("api_plan_record_acceptance", f"POST {P}/acceptance-record", "record_acceptance",
        INSTITUTIONS),
    Api("api_plan_decline", f"POST {P}/decline", "decline", EMPLOYERS),
    Api("api_plan_amend", f"POST {P}/amendments", "amend", INSTITUTIONS),
    Api("api_plan_cancel", f"POST {P}/cancel", "cancel", PARTIES),
    Api("api_plan_complete", f"POST {P}/complete", "complete", INSTITUTIONS),
    Api("api_plan_progress", f"GET {P}/progress", "get_progress", PARTIES),
    Api("api_plan_candidate_step", f"POST {C}/step", "set_candidate_step", INSTITUTIONS),
    Api("api_plan_candidate_result", f"POST {C}/result", "set_competency_result",
        INSTITUTIONS),
    Api("api_plan_candidate_abandon", f"POST {C}/abandon", "abandon_candidate", INSTITUTIONS),
    Api("api_annex_template", f"GET {S}/annex-template", "get_annex_template", INSTITUTIONS),
    Api("api_annex_template_save", f"PUT {S}/annex-template", "save_annex_template",
        INSTITUTIONS),
)
# fmt: on


@route(P, access=PARTIES, query=plans.VersionQuery)
def api_plan(ctx: Ctx, plan_id: int) -> plans.PlanView:
    """Un plan (la version courante, ou ?version=N)"""
    return ctx.plans.get_plan(plan_id=plan_id, version=ctx.query.version)


@route(f"{P}/pdf", access=PARTIES, query=plans.VersionQuery)
def api_plan_pdf(ctx: Ctx, plan_id: int) -> Response:
    """Le PDF d'une version émise (application/pdf; ?version=N)"""
    return responses.document(ctx, ctx.plans.get_pdf(plan_id=plan_id, version=ctx.query.version))


@route(f"{P}/courtesy-translation", access=PARTIES, query=plans.VersionQuery)
def api_plan_courtesy_translation(ctx: Ctx, plan_id: int) -> Response:
    """La traduction de courtoisie anglaise d'une version émise (application/pdf; ?version=N)"""
    return responses.document(
        ctx, ctx.plans.courtesy_translation(plan_id=plan_id, version=ctx.query.version)
    )


@route(f"{P}/accept", methods=("POST",), access=EMPLOYERS, body=plans.OnlineAcceptanceIn)
def api_plan_accept(ctx: Ctx, plan_id: int) -> plans.PlanRow:
    """Accepter en ligne la version émise (nom, titre, « J’accepte », empreinte)"""
    return ctx.plans.accept_online(plan_id=plan_id, data=ctx.body, ip=ctx.client_ip())


@route(f"{P}/comparison", access=PARTIES, query=plans.ComparisonQuery)
def api_plan_comparison(ctx: Ctx, plan_id: int) -> plans.Comparison:
    """Comparaison côte à côte d'une version et de celle qu'elle modifie (?from=N&to=M)"""
    return ctx.plans.compare(plan_id=plan_id, left=ctx.query.left, right=ctx.query.right)
