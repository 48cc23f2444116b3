"""Demo billing data (idempotent): the Cégep de Lévis bills the CISSS de Chaudière-Appalaches
for a workplace RAC project (AEC in health care, three candidate-workers).

The plan itself belongs to the plans service; the demo simulates its acceptance by calling
billing's own domain function with a ``plan.accepted`` payload, so that the schedule, two
issued invoices (one paid, one overdue) and the installment awaiting the end of the
evaluations exist even before plans publishes anything.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.clock import clock
from services.billing import estimates, invoicing, payments
from services.billing.models import BillingPlan, Organisation
from services.billing.schemas import EstimateSpec, PaymentIn, PlanRef
from services.billing.testing import accepted, estimate_spec, milestone

DEMO_PLAN_ID = 9001
DEMO_REFERENCE = "PMO-CLV-2026-DEMO"
LEVIS_TAX_NUMBERS = ("123456789 RT0001", "1234567890 TQ0001")


def seed(session: Session, organisations: dict, people: dict) -> str:
    """``organisations`` by code and ``people`` by e-mail, as the gateway's directory shows."""
    if session.get(BillingPlan, DEMO_PLAN_ID) is not None:
        return "Facturation : données de démonstration déjà présentes."
    levis, cisss = organisations["CLV"], organisations["CCA"]
    for view in organisations.values():
        if view["kind"] != OrganisationKind.MINISTRY.value:
            estimates.upsert_organisation(session, view)
    profile = session.get(Organisation, levis["id"])
    profile.gst_number, profile.qst_number = LEVIS_TAX_NUMBERS
    profile.payment_instructions = (
        "Par virement bancaire au compte 815-30001-1234567 (Caisse Desjardins de Lévis) ou par "
        "chèque à l'ordre du Cégep de Lévis, 205, route Monseigneur-Bourget, Lévis (Québec) "
        "G6V 6Z9, en indiquant le numéro de la facture."
    )
    coordinator = people["rac@cegeplevis.demo.quebec"]
    actor = Actor(
        user_id=coordinator["id"],
        role=Role.RAC_COORDINATOR,
        organisation_id=levis["id"],
        organisation_kind=OrganisationKind.CEGEP,
        full_name=coordinator["full_name"],
    )
    today = clock.today()
    accepted_on = today - timedelta(days=75)
    welcome_on = today - timedelta(days=40)
    ids = {"institution_id": levis["id"], "employer_id": cisss["id"]}

    with clock.frozen_at(accepted_on - timedelta(days=20)):
        estimate = estimates.save_estimate(
            session,
            actor,
            PlanRef(
                plan_id=DEMO_PLAN_ID,
                version=1,
                reference=DEMO_REFERENCE,
                candidate_count=3,
                **ids,
            ),
            EstimateSpec.model_validate(estimate_spec()),
        )
        estimates.freeze(estimate)
    with clock.frozen_at(accepted_on):
        invoicing.accept_plan(
            session, accepted(DEMO_PLAN_ID, 1, accepted_on, reference=DEMO_REFERENCE, **ids)
        )
        [first] = invoicing.issue_due_batch(session, accepted_on, institution_id=levis["id"])
    paid_on = accepted_on + timedelta(days=21)
    with clock.frozen_at(paid_on):
        payments.record_payment(
            session,
            actor,
            first.id,
            PaymentIn(
                paid_on=paid_on, amount=first.total, method="transfer", reference="VIR-2026-0412"
            ),
        )
    with clock.frozen_at(welcome_on):
        invoicing.milestone_reached(
            session, milestone(DEMO_PLAN_ID, "welcome_meeting", welcome_on, **ids)
        )
        [second] = invoicing.issue_due_batch(session, welcome_on, institution_id=levis["id"])
    session.flush()
    return (
        f"Facturation : plan {DEMO_REFERENCE} accepté, factures {first.number} (payée) et "
        f"{second.number} (échue le {second.due_on.isoformat()})."
    )
