"""Billing's copies of candidate-workers' names, anonymised when the plans service's
retention rule anonymises their plan (``plan.anonymised``, Loi 25).

Billing keeps a cancelled plan's candidate-workers (from ``plan.cancelled``) to record the
costs incurred per person; once the plan is anonymised they become « Personne candidate N »
in the same order as the plan's document, so quantities and invoices keep adding up.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from rac_shared.events import PlanAnonymised
from services.billing.models import BillingPlan


def anonymise_plan(session: Session, payload: PlanAnonymised) -> None:
    plan = session.get(BillingPlan, payload.plan_id, with_for_update=True)
    if plan is None or not plan.candidates:
        return
    plan.candidates = [
        {**person, "full_name": f"Personne candidate {number}"}
        for number, person in enumerate(plan.candidates, start=1)
    ]
