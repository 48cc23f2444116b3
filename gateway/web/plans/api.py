"""The plans JSON API: each operation passes its ids, query and body to one RPC of the
contract (summaries: the contract's docstrings); the online acceptance, which records the
caller's address, is an ordinary route."""

from __future__ import annotations

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
    Api("api_plan", f"GET {P}", "get_plan", PARTIES, params=plans.VersionQuery),
    Api("api_plan_pdf", f"GET {P}/pdf", "get_pdf", PARTIES, file=True, params=plans.VersionQuery),
    Api("api_plan_courtesy_translation", f"GET {P}/courtesy-translation", "courtesy_translation",
        PARTIES, file=True, params=plans.VersionQuery),
    Api("api_plan_comparison", f"GET {P}/comparison", "compare", PARTIES,
        params=plans.ComparisonQuery),
    Api("api_plan_update", f"PATCH {P}", "update_draft", INSTITUTIONS),
    Api("api_plan_estimate", f"PUT {P}/estimate", "save_estimate", INSTITUTIONS),
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


@route(f"{P}/accept", methods=("POST",), access=EMPLOYERS, body=plans.OnlineAcceptanceIn)
def api_plan_accept(ctx: Ctx, plan_id: int) -> plans.PlanRow:
    """Accepter en ligne la version émise (nom, titre, « J’accepte », empreinte)"""
    return ctx.plans.accept_online(plan_id=plan_id, data=ctx.body, ip=ctx.client_ip())
