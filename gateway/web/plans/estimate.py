"""Billing's estimate of a plan's draft version: its editor page (the API's route is a row
of ``api.py``).

The estimate is billing's (lines, installments, terms; amounts and taxes computed there):
the form is billing's contract model ``EstimateSpec``, its fields named by their path
(``lines.2.unit_price``, ``installments.0.due.milestone``), and the plans service sends it
on to billing with the plan's facts (``save_estimate``), whose refusals come back on those
paths.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web.framework import Ctx, notices, route
from gateway.web.passthrough import Post, page_actions
from gateway.web.plans.pages import INSTITUTIONS, estimate_for
from rac_shared.contracts import billing

notices(**{"plan-estimation": "L'estimation des coûts est enregistrée."})


def _spec_of(estimate: billing.EstimateView | None) -> dict:
    """The draft's saved estimate (billing's: an issued version's frozen one is not edited)
    as the editor's fields, those of ``EstimateSpec`` (billing answers ``fixed_amount`` where
    the spec says ``amount``)."""
    if estimate is None:
        return {"payment_term_days": 30}
    terms = set(billing.EstimateSpec.model_fields) - {"lines", "installments"}
    return {
        "lines": [
            line.model_dump(include=set(billing.LineSpec.model_fields)) for line in estimate.lines
        ],
        "installments": [
            {**item.model_dump(include={"label", "percent", "due"}), "amount": item.fixed_amount}
            for item in estimate.installments
        ],
        **estimate.model_dump(include=terms),
    }


@route("/plans/<int:plan_id>/estimation", access=INSTITUTIONS)
def plan_estimate_form(ctx: Ctx, plan_id: int) -> Response:
    view = ctx.plans.get_plan(plan_id=plan_id)
    estimate = estimate_for(ctx, view)
    return ctx.render(
        "plans/estimate.html.j2",
        view=view,
        plan=view.plan,
        estimate=estimate,
        form=ctx.form(_spec_of(estimate) if not view.version.estimate else None),
        categories=billing.LineCategory.choices(),
        taxes=billing.TaxTreatment.choices(),
        milestones=billing.Milestone.choices(),
    )


page_actions(
    "plans", plan_estimate_form, INSTITUTIONS,
    Post("plan_estimate_save", "/plans/<int:plan_id>/estimation", "save_estimate",
         "/plans/{plan_id}/estimation", "plan-estimation", billing.EstimateSpec),
)  # fmt: skip
