"""Demo billing data (idempotent): the Cégep de Lévis bills the CISSS de Chaudière-Appalaches
for a workplace RAC project (AEC in health care, three candidate-workers).

The plan itself belongs to the plans service; the demo simulates its acceptance by calling
billing's own domain function with a ``plan.accepted`` payload, so that the schedule, two
issued invoices (one paid, one overdue) and the installment awaiting the end of the
evaluations exist even before plans publishes anything.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.clock import clock
from rac_shared.contracts.billing import CostsIncurredIn, EstimateSpec, PaymentIn, PlanRef
from rac_shared.contracts.funding import (
    AllocationIn,
    DisbursementPaymentIn,
    ProjectDecisionIn,
    ProjectIn,
    ScheduleIn,
)
from rac_shared.db import SessionFactory
from rac_shared.events import CancelledPlanCandidate
from rac_shared.formatting import long_date, money
from services.billing import (
    cancellation,
    estimates,
    funding,
    invoicing,
    payments,
    schedule,
    settlements,
)
from services.billing.models import (
    Base,
    BillingPlan,
    FundingDisbursement,
    Invoice,
    OperatingAllocation,
    Organisation,
)
from services.billing.testing import (
    abandoned,
    accepted,
    cancelled,
    estimate_spec,
    milestone,
)

DEMO_PLAN_ID = 9001
DEMO_REFERENCE = "PMO-CLV-2026-DEMO"
LEVIS_TAX_NUMBERS = ("123456789 RT0001", "1234567890 TQ0001")


def seed(
    session: Session, organisations: dict, people: dict, ceracs: list[dict] | None = None
) -> str:
    """``organisations`` by code and ``people`` by e-mail, as the gateway's directory shows;
    ``ceracs``: the CERACs the scoring demo designated (see ``seed_funding``)."""
    summary = seed_invoicing(session, organisations, people)
    summary += "\n" + seed_cancellation(session, organisations, people)
    if ceracs is None:
        return summary
    return summary + "\n" + seed_funding(session, ceracs, people)


def _coordinator(people: dict, institution: dict) -> Actor:
    coordinator = people["rac@cegeplevis.demo.quebec"]
    return Actor(
        user_id=coordinator["id"],
        role=Role.RAC_COORDINATOR,
        organisation_id=institution["id"],
        organisation_kind=OrganisationKind.CEGEP,
        full_name=coordinator["full_name"],
    )


def _two_installments_invoiced(
    session: Session,
    actor: Actor,
    plan_id: int,
    reference: str,
    ids: dict,
    *,
    accepted_on,
    welcome_on,
    payment: tuple[int, str, str],
):
    """The sample estimate (three candidate-workers) saved 20 days before ``accepted_on``
    and accepted then; the acceptance installment invoiced and paid ``payment`` = (days
    later, method, reference); the welcome meeting reached on ``welcome_on`` and its
    installment invoiced. Returns both invoices."""
    with clock.frozen_at(accepted_on - timedelta(days=20)):
        estimate = estimates.save_estimate(
            session,
            actor,
            PlanRef(plan_id=plan_id, version=1, reference=reference, candidate_count=3, **ids),
            EstimateSpec.model_validate(estimate_spec()),
        )
        estimates.freeze(estimate)
    institution_id = ids["institution_id"]
    with clock.frozen_at(accepted_on):
        schedule.accept_plan(session, accepted(plan_id, 1, accepted_on, reference=reference, **ids))
        [first] = invoicing.issue_due_batch(session, accepted_on, institution_id=institution_id)
    days, method, payment_reference = payment
    paid_on = accepted_on + timedelta(days=days)
    with clock.frozen_at(paid_on):
        payments.record_payment(
            session,
            actor,
            first.id,
            PaymentIn(
                paid_on=paid_on, amount=first.total, method=method, reference=payment_reference
            ),
        )
    with clock.frozen_at(welcome_on):
        schedule.milestone_reached(
            session, milestone(plan_id, "welcome_meeting", welcome_on, **ids)
        )
        [second] = invoicing.issue_due_batch(session, welcome_on, institution_id=institution_id)
    return first, second


def seed_invoicing(session: Session, organisations: dict, people: dict) -> str:
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
    actor = _coordinator(people, levis)
    today = clock.today()
    ids = {"institution_id": levis["id"], "employer_id": cisss["id"]}
    first, second = _two_installments_invoiced(
        session,
        actor,
        DEMO_PLAN_ID,
        DEMO_REFERENCE,
        ids,
        accepted_on=today - timedelta(days=75),
        welcome_on=today - timedelta(days=40),
        payment=(21, "transfer", "VIR-2026-0412"),
    )
    session.flush()
    return (
        f"Facturation : plan {DEMO_REFERENCE} accepté, factures {first.number} (payée) et "
        f"{second.number} (échue le {long_date(second.due_on)})."
    )


# -- a cancelled plan: abandonment credit note, costs incurred ----------------------------------

DEMO_CANCELLED_PLAN_ID = 9002
DEMO_CANCELLED_REFERENCE = "PMO-CLV-2026-DEMO2"
DEMO_CANDIDATES = [(901, "Josée Bilodeau"), (902, "Marc-André Turcotte"), (903, "Nadia Fortin")]


def seed_cancellation(session: Session, organisations: dict, people: dict) -> str:
    """A second plan of the Cégep de Lévis with the CISSS de Chaudière-Appalaches: accepted,
    two installments invoiced, one candidate-worker abandoned (fee and pro rata credit note,
    whose ``credit_note.issued`` is e-mailed to the CISSS with its PDF once the services run),
    then cancelled by the CISSS; the coordinator recorded the costs incurred since the welcome
    meeting and the final invoice was issued. (The CISSS, which already receives the demo's
    invoices: the other demo employers get no demo e-mail.)"""
    if session.get(BillingPlan, DEMO_CANCELLED_PLAN_ID) is not None:
        return "Facturation : plan annulé de démonstration déjà présent."
    levis, cisss = organisations["CLV"], organisations["CCA"]
    for view in (levis, cisss):
        if session.get(Organisation, view["id"]) is None:
            estimates.upsert_organisation(session, view)
    actor = _coordinator(people, levis)
    today = clock.today()
    accepted_on = today - timedelta(days=90)
    welcome_on = today - timedelta(days=50)
    abandoned_on = today - timedelta(days=30)
    cancelled_on = today - timedelta(days=10)
    ids = {"institution_id": levis["id"], "employer_id": cisss["id"]}
    plan_id, reference = DEMO_CANCELLED_PLAN_ID, DEMO_CANCELLED_REFERENCE
    _two_installments_invoiced(
        session,
        actor,
        plan_id,
        reference,
        ids,
        accepted_on=accepted_on,
        welcome_on=welcome_on,
        payment=(18, "cheque", "CHQ-004512"),
    )
    with clock.frozen_at(abandoned_on):
        settled = settlements.record_abandonment(
            session, abandoned(plan_id, DEMO_CANDIDATES[2][0], abandoned_on, "0.5", **ids)
        )
    with clock.frozen_at(cancelled_on):
        settlements.cancel_plan(
            session,
            cancelled(
                plan_id,
                cancelled_on,
                reference=reference,
                reason="Réorganisation du soutien à domicile : le projet est reporté",
                candidates=[
                    CancelledPlanCandidate(candidate_id=i, full_name=name)
                    for i, name in DEMO_CANDIDATES
                ],
                **ids,
            ),
        )
    with clock.frozen_at(cancelled_on + timedelta(days=5)):
        record, _ = cancellation.record_costs(
            session,
            actor,
            plan_id,
            CostsIncurredIn.model_validate(
                {
                    "items": [
                        {"line": 3, "quantity": "6"},  # accompaniment since the welcome meeting
                        {"line": 4, "candidate_id": DEMO_CANDIDATES[0][0], "quantity": "0.5"},
                        {"line": 4, "candidate_id": DEMO_CANDIDATES[1][0], "quantity": "0.25"},
                    ]
                }
            ),
        )
    session.flush()
    final = session.get(Invoice, record.invoice_id)
    return (
        f"Facturation : plan {reference} annulé le {long_date(cancelled_on)}, note de crédit "
        f"{settled['credit_note'].number} (abandon ; l'avis part à l'organisation au démarrage "
        f"des services), facture finale des coûts engagés {final.number} "
        f"({money(final.total)})."
    )


# -- funding of the designated CERACs ---------------------------------------------------------

# (amounts of the operating allocations of the current fiscal year, in recording order)
DEMO_ALLOCATIONS = [("200000", "45000"), ("180000",), ("210000",), ("150000",), ("225000",)]
DEMO_PROJECTS = [
    {
        "title": "Trousse d'outils pour la RAC à distance",
        "mandate_part": "development",
        "objectives": (
            "Concevoir et mettre à l'essai des outils d'évaluation à distance (entrevue de "
            "validation, mises en situation filmées) avec trois établissements du réseau."
        ),
        "budget_lines": [
            {"label": "Conception des instruments d'évaluation", "amount": "32000"},
            {"label": "Essais en établissement et ajustements", "amount": "12500"},
            {"label": "Diffusion dans le réseau", "amount": "3500"},
        ],
    },
    {
        "title": "Accompagnement de nouveaux services de RAC en région",
        "mandate_part": "offer",
        "objectives": (
            "Soutenir quatre établissements dans la mise en place de leur service de RAC : "
            "formation des conseillères et conseillers, gabarits de dossiers, suivi mensuel."
        ),
        "budget_lines": [
            {"label": "Formation des équipes", "amount": "18000"},
            {"label": "Déplacements et suivi", "amount": "7500"},
        ],
    },
]


def seed_funding(session: Session, ceracs: list[dict], people: dict) -> str:
    """Funding of the current fiscal year for the CERACs the scoring demo designated (its
    ``ceracs`` rows: cerac_id, organisation_id, organisation_name, education_order,
    mandate_parts, experimentation_years, designated_on): billing's local CERAC records,
    operating allocations (the first CERAC close to the cap, in two allocations), one approved
    and one pending development project, paid disbursements and a held one (the first
    disbursement of the first CERAC's allocation is held until the report of its last
    experimentation year, still to be accepted in the reporting demo). Demo history: its
    events are not published."""
    today = clock.today()
    # The 2013 designations are not made yet on a platform whose clock is in 2012.
    ceracs = [c for c in ceracs if c["designated_on"] <= today]
    if not ceracs:
        return f"Financement : aucun CERAC désigné au {long_date(today)}, aucune donnée."
    if session.scalar(select(func.count(OperatingAllocation.id))):
        return "Financement : données de démonstration déjà présentes."
    outbox = Base.metadata.tables["outbox"]
    before = session.scalar(select(func.coalesce(func.max(outbox.c.id), 0)))
    person = people["admin@mes.demo.quebec"]
    ministry = Actor(
        user_id=person["id"],
        role=Role.MINISTRY_ADMIN,
        organisation_id=person["organisation_id"],
        organisation_kind=OrganisationKind.MINISTRY,
        full_name=person["full_name"],
    )
    year = funding.fiscal_year_of(today)
    start, _ = funding.fiscal_bounds(year)
    recorded_on = min(start + timedelta(days=14), today)
    rows = [
        funding.upsert_cerac(
            session,
            cerac_id=c["cerac_id"],
            organisation_id=c["organisation_id"],
            name=c["organisation_name"],
            education_order=c["education_order"],
            mandate_parts=c["mandate_parts"],
            experimentation_years=c["experimentation_years"],
            designated_on=c["designated_on"],
        )
        for c in ceracs
    ]
    with clock.frozen_at(recorded_on):
        for cerac, amounts in zip(rows, DEMO_ALLOCATIONS, strict=False):
            for number, amount in enumerate(amounts):
                data = AllocationIn(
                    fiscal_year=year,
                    amount=amount,
                    installments=1 if number else None,
                    note="" if number else "Allocation annuelle de fonctionnement.",
                )
                allocation = funding.record_allocation(session, ministry, cerac.cerac_id, data)
                if cerac is rows[0] and not number and cerac.experimentation_years:
                    _hold_first(session, ministry, allocation, cerac.experimentation_years[-1])
        first = rows[0]
        period_start = max(recorded_on, start + timedelta(days=30))
        projects = []
        for spec in DEMO_PROJECTS:
            data = ProjectIn(
                **spec, period_start=period_start, period_end=period_start + timedelta(days=364)
            )
            projects.append(funding.create_project(session, first, ministry.user_id, data))
        approve = ProjectDecisionIn(decision="approved")
        funding.decide_project(session, ministry, projects[0].id, approve)
    # Paid: what fell due more than a week ago and is not held (so some are still to pay).
    with clock.frozen_at(today):
        due = session.scalars(
            select(FundingDisbursement)
            .where(FundingDisbursement.due_on <= today - timedelta(days=7))
            .order_by(FundingDisbursement.id)
        ).all()
        paid = 0
        for row in due:
            if not row.held:
                funding.pay_disbursement(
                    session,
                    ministry,
                    row.id,
                    DisbursementPaymentIn(paid_on=row.due_on, reference=f"DEM-{row.id:05d}"),
                )
                paid += 1
    session.execute(delete(outbox).where(outbox.c.id > before))
    session.flush()
    held = sum(1 for row in session.scalars(select(FundingDisbursement)) if row.held)
    return (
        f"Financement {year} : {len(rows)} CERAC, allocations de fonctionnement (dont "
        f"{first.name} à 245 000 $ sur le plafond), un projet de développement approuvé et un "
        f"en attente, {paid} versement(s) payé(s), {held} retenu(s) jusqu'à l'acceptation d'un "
        f"rapport annuel."
    )


def _hold_first(session: Session, ministry, allocation, report_year: str) -> None:
    """The ministry edits the schedule: its first installment waits for ``report_year``."""
    items = [
        {
            "due_on": row.due_on.isoformat(),
            "amount": str(row.amount),
            "hold_report_year": report_year if position == 0 else row.hold_report_year,
        }
        for position, row in enumerate(allocation.disbursements)
    ]
    schedule = ScheduleIn.model_validate({"items": items})
    funding.replace_schedule(session, ministry, "allocation", allocation.id, schedule)


# -- rac demo's step (see rac_shared/manifest.py) ----------------------------------------------


def seed_billing(context) -> tuple[str, dict]:
    """Invoices, a cancellation and the funding of the CERACs the scoring step designated
    (forwarded as ``ceracs``)."""
    directory = context.forwarded["directory"]
    ceracs = context.forwarded["designations"]["ceracs"]
    with SessionFactory("billing", Base.metadata).transaction() as session:
        summary = seed(session, directory["organisations"], directory["people"], ceracs)
    return summary, {}
