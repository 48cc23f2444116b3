"""Billing's estimate of a plan's draft version: its editor page and its API route.

The estimate is billing's (lines, installments, terms; amounts and taxes computed there):
the form is billing's contract model ``EstimateSpec``, its fields named by their path
(``lines.2.unit_price``, ``installments.0.due.milestone``), and the plans service sends it
on to billing with the plan's facts (``save_estimate``), whose refusals come back on those
paths.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web.framework import Ctx, notices, post, route
from gateway.web.plans.pages import INSTITUTIONS, estimate_for
from rac_shared.contracts import billing

notices(**{"plan-estimation": "L'estimation des coûts est enregistrée."})


def _spec_of(estimate: billing.EstimateView | dict | None) -> dict:
    """The saved estimate as the editor's fields (billing answers ``fixed_amount`` where
    the form says ``amount``)."""
    if estimate is None:
        return {"payment_term_days": 30}
    if isinstance(estimate, dict):
        estimate = billing.EstimateView.model_validate(estimate)
    return {
        "lines": [
            line.model_dump(
                include={"category", "description", "quantity", "unit", "unit_price", "tax"}
            )
            for line in estimate.lines
        ],
        "installments": [
            {
                "label": item.label,
                "percent": item.percent,
                "amount": item.fixed_amount,
                "due": item.due.model_dump(),
            }
            for item in estimate.installments
        ],
        "payment_term_days": estimate.payment_term_days,
        "refund_conditions": estimate.refund_conditions,
        "abandonment_fee": estimate.abandonment_fee,
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


@post("/plans/<int:plan_id>/estimation", billing.EstimateSpec, plan_estimate_form, INSTITUTIONS)
def plan_estimate_save(ctx: Ctx, plan_id: int, form: billing.EstimateSpec) -> Response:
    ctx.plans.save_estimate(plan_id=plan_id, estimate=form)
    return ctx.done(f"/plans/{plan_id}/estimation", "plan-estimation")


@route(
    "/api/plans/<int:plan_id>/estimate",
    methods=("PUT",),
    access=INSTITUTIONS,
    body=billing.EstimateSpec,
)
def api_plan_estimate(ctx: Ctx, plan_id: int) -> billing.EstimateView:
    """Enregistrer l'estimation des coûts de la version en préparation (facturation)"""
    return ctx.plans.save_estimate(plan_id=plan_id, estimate=ctx.body)
