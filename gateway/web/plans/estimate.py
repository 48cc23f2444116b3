"""Billing's estimate of a plan's draft version: its editor page and its API route.

The estimate is billing's (lines, installments, terms; amounts and taxes computed there);
the plans service sends it on to billing with the plan's facts (``save_estimate``). This
module keeps the editor as it was before the plans area moved onto its contract: billing's
contract (``rac_shared/contracts/billing.py``) is being written, and the editor moves onto
the form pipeline with it. Until then, the estimate is a mapping.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response

from gateway.web.framework import Ctx, notices, route
from gateway.web.plans.pages import INSTITUTIONS, estimate_for
from rac_shared.errors import DomainError

notices(**{"plan-estimation": "L'estimation des coûts est enregistrée."})

ESTIMATE_ROWS = 8
INSTALLMENT_ROWS = 4
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


class EstimateBody(BaseModel):
    """Billing's estimate (lines, installments, terms), as in the plans–billing contract."""

    model_config = ConfigDict(extra="forbid")

    lines: list[dict[str, Any]]
    installments: list[dict[str, Any]] = Field(default_factory=list)
    payment_term_days: int = 30
    refund_conditions: str = ""
    abandonment_fee: str = "0.00"


def _int_or(value: str, default=None):
    value = (value or "").strip()
    return int(value) if value.isdigit() else (value or default)


def _rows(form, prefix: str, fields: tuple[str, ...], limit: int = 60) -> list[dict]:
    rows = []
    for i in range(limit):
        row = {f: form.get(f"{prefix}_{f}_{i}", "").strip() for f in fields}
        if any(row.values()):
            rows.append(row)
    return rows


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
        plan=view.plan,
        estimate=estimate,
        v=values,
        line_rows=max(len((estimate or {}).get("lines", [])) + 3, ESTIMATE_ROWS),
        installment_rows=max(len((estimate or {}).get("installments", [])) + 1, INSTALLMENT_ROWS),
        categories=LINE_CATEGORIES,
        milestones=MILESTONES,
        notice=ctx.notice,
        error=error,
        errors=errors or {},
    )


@route("/plans/<int:plan_id>/estimation", access=INSTITUTIONS)
def plan_estimate_form(ctx: Ctx, plan_id: int) -> Response:
    view = ctx.plans.get_plan(plan_id=plan_id)
    estimate = estimate_for(ctx, view)
    return _render_estimate(ctx, view, estimate, _estimate_values(estimate))


@route("/plans/<int:plan_id>/estimation", methods=("POST",), access=INSTITUTIONS)
def plan_estimate_save(ctx: Ctx, plan_id: int) -> Response:
    estimate = _estimate_from_form(ctx.request.form)
    try:
        ctx.plans.save_estimate(plan_id=plan_id, estimate=estimate)
    except DomainError as exc:
        if exc.code not in ("invalid", "conflict"):
            raise
        view = ctx.plans.get_plan(plan_id=plan_id)
        return _render_estimate(
            ctx,
            view,
            estimate_for(ctx, view),
            ctx.request.form.to_dict(),
            status=422 if exc.code == "invalid" else 409,
            error=exc.message,
            errors=exc.details or {},
        )
    return ctx.done(f"/plans/{plan_id}/estimation", "plan-estimation")


@route(
    "/api/plans/<int:plan_id>/estimate",
    methods=("PUT",),
    access=INSTITUTIONS,
    body=EstimateBody,
    summary="Enregistrer l'estimation des coûts de la version en préparation (facturation)",
)
def api_plan_estimate(ctx: Ctx, plan_id: int):
    return ctx.plans.save_estimate(plan_id=plan_id, estimate=ctx.body.model_dump(mode="json"))
