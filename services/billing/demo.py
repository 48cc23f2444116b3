"""Demo billing data (idempotent, resumable): billing's side of the plans the plans demo
made, and the funding of the CERACs the scoring demo designated.

The plans step forwards its events (``plan.issued``, ``plan.accepted``,
``plan.milestone_reached``, ``plan.candidate_abandoned``, ``plan.cancelled``…, read from
its own outbox) and the cancelled plan's id. This step hands each event to billing's own
handlers on the day it happened (``context.client("billing").deliver``, as the bus would:
idempotent by event id, so the same events relayed when the services start change
nothing), and does on those days what the Cégep de Lévis's coordinator and billing's
invoicing job would, through billing's entrypoints: the installments due are invoiced, the
cancelled plan's first invoice is paid by cheque, its costs incurred are recorded after the
cancellation. The amended plan's acceptance invoice is left unpaid: it is overdue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.clock import clock
from rac_shared.contracts.funding import (
    AllocationIn,
    DisbursementPaymentIn,
    ProjectDecisionIn,
    ProjectIn,
    ScheduleIn,
)
from rac_shared.db import SessionFactory
from rac_shared.formatting import long_date, money
from rac_shared.french import enumeration, plural
from rac_shared.manifest import demo_actor
from rac_shared.outbox import recorded_events
from services.billing import estimates, funding
from services.billing.models import (
    Base,
    BillingTask,
    CancellationCosts,
    CreditNote,
    FundingDisbursement,
    Invoice,
    OperatingAllocation,
    Organisation,
)

LEVIS_TAX_NUMBERS = ("123456789 RT0001", "1234567890 TQ0001")
LEVIS_PAYMENT_INSTRUCTIONS = (
    "Par virement bancaire au compte 815-30001-1234567 (Caisse Desjardins de Lévis) ou par "
    "chèque à l'ordre du Cégep de Lévis, 205, route Monseigneur-Bourget, Lévis (Québec) "
    "G6V 6Z9, en indiquant le numéro de la facture."
)
# What billing does on the days of the plans' events.
INVOICED_AFTER = ("plan.accepted", "plan.milestone_reached")
PAID_DAYS_AFTER_ACCEPTANCE = 18
COSTS_DAYS_AFTER_CANCELLATION = 5
# The costs incurred on the cancelled plan since the welcome meeting: accompaniment hours
# (line 3), and the share of their evaluation (line 4) of the two who stayed, by name.
COSTS_ACCOMPANIMENT_HOURS = "6"
COSTS_EVALUATION_SHARES = {"Josée Bilodeau": "0.5", "Marc-André Turcotte": "0.25"}


def seed_profiles(session: Session, organisations: dict) -> None:
    """Billing's records of the directory's organisations, and the Cégep de Lévis's tax
    numbers and payment instructions (printed on its invoices)."""
    for view in organisations.values():
        if view["kind"] != OrganisationKind.MINISTRY.value:
            estimates.upsert_organisation(session, view)
    profile = session.get(Organisation, organisations["CLV"]["id"])
    profile.gst_number, profile.qst_number = LEVIS_TAX_NUMBERS
    profile.payment_instructions = LEVIS_PAYMENT_INSTRUCTIONS


def _at(body: dict) -> datetime:
    return datetime.fromisoformat(body["occurred_at"])


def _of_plan(events: list[dict], event_type: str, plan_id: int) -> dict:
    return next(
        b for b in events if b["event_type"] == event_type and b["payload"]["plan_id"] == plan_id
    )


def apply_plans(billing, sessions, coordinator: dict, plans: dict) -> None:
    """Billing's history of the demo plans, in the order things happened (see the module's
    docstring). Each action is idempotent: run again, it adds nothing."""
    events = sorted((b for b in plans["events"] if b["source"] == "plans"), key=_at)
    cancelled_id = plans["cancelled_plan_id"]
    agenda = []  # (instant, rank among the same instant, action)
    for body in events:

        def apply(body=body):
            billing.deliver(body)
            if body["event_type"] in INVOICED_AFTER:
                # « Facturer les versements échus », done by the service's worker as on the
                # page: the runs are in the institution's history (/facturation/travaux).
                # Run again, the demo finds its run of that instant and asks for none.
                with sessions.transaction() as session:
                    ran = session.scalar(
                        select(BillingTask.id).where(BillingTask.requested_at == clock.now())
                    )
                if ran is None:
                    billing.request_invoicing(actor=coordinator)
                    billing.run_tasks()

        agenda.append((_at(body), 0, apply))
    accepted = _of_plan(events, "plan.accepted", cancelled_id)
    cancelled = _of_plan(events, "plan.cancelled", cancelled_id)

    def pay_first_invoice():
        with sessions.transaction() as session:
            first = session.scalar(
                select(Invoice).where(Invoice.plan_id == cancelled_id).order_by(Invoice.id)
            )
            if first is None or first.paid_total:
                return
            number, amount = first.number, f"{first.total:.2f}".replace(".", ",")
        # The employer's cheque, deposited, comes back in the bank's file: imported in the
        # background like a file sent from the page (its report in the history).
        statement = (
            "date;montant;facture;reference;mode\n"
            f"{clock.today().isoformat()};{amount};{number};CHQ-004512;chèque\n"
        )
        billing.request_bank_import(
            actor=coordinator,
            data={"content": statement},
            filename=f"releve-desjardins-{clock.today().isoformat()}.csv",
        )
        billing.run_tasks()

    def record_costs():
        ids = {c["full_name"]: c["candidate_id"] for c in cancelled["payload"]["candidates"]}
        items = [{"line": 3, "quantity": COSTS_ACCOMPANIMENT_HOURS}]
        items += [
            {"line": 4, "candidate_id": ids[name], "quantity": share}
            for name, share in COSTS_EVALUATION_SHARES.items()
        ]
        billing.record_cancellation_costs(
            actor=coordinator, plan_id=cancelled_id, data={"items": items}
        )

    agenda.append(
        (_at(accepted) + timedelta(days=PAID_DAYS_AFTER_ACCEPTANCE), 1, pay_first_invoice)
    )
    agenda.append((_at(cancelled) + timedelta(days=COSTS_DAYS_AFTER_CANCELLATION), 1, record_costs))
    for instant, _, action in sorted(agenda, key=lambda item: item[:2]):
        with clock.frozen_at(instant):
            action()


def describe(session: Session, cancelled_id: int) -> str:
    """The demo's invoices as the operator reads them."""
    today = clock.today()
    invoices = session.scalars(select(Invoice).order_by(Invoice.id)).all()
    paid = [i.number for i in invoices if i.paid_total and not i.balance]
    overdue = [i for i in invoices if i.balance > 0 and i.due_on < today]
    record = session.scalar(
        select(CancellationCosts).where(CancellationCosts.plan_id == cancelled_id)
    )
    credit = session.scalar(
        select(CreditNote).where(
            CreditNote.plan_id == cancelled_id, CreditNote.reason_kind == "abandonment"
        )
    )
    final = session.get(Invoice, record.invoice_id) if record else None
    cancelled = session.scalar(select(Invoice).where(Invoice.plan_id == cancelled_id))
    shown = [f"{number} (payée)" for number in paid]
    shown += [f"{i.number} (échue le {long_date(i.due_on)})" for i in overdue]
    lines = [
        f"Facturation : {plural(len(invoices), 'facture émise')} pour les plans de "
        "démonstration" + (f", dont {enumeration(shown)}" if shown else "") + "."
    ]
    if cancelled is not None and final is not None and credit is not None:
        lines.append(
            f"Facturation : plan {cancelled.plan_reference} annulé, note de crédit "
            f"{credit.number} (abandon ; l'avis part à l'organisation au démarrage des "
            f"services), facture finale des coûts engagés {final.number} ({money(final.total)})."
        )
    runs = session.scalars(select(BillingTask).where(BillingTask.status == "done")).all()
    imports = [t for t in runs if t.kind == "bank_import"]
    runs_text = plural(
        len(runs) - len(imports),
        "facturation des versements échus",
        "facturations des versements échus",
    )
    imports_text = plural(
        len(imports), "importation de relevé bancaire", "importations de relevés bancaires"
    )
    lines.append(
        f"Facturation : {runs_text} et {imports_text}, faites en arrière-plan, dans "
        "l'historique du Cégep de Lévis (/facturation/travaux)."
    )
    return "\n".join(lines)


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
        f"en attente, {plural(paid, 'versement payé')}, {plural(held, 'retenu')} "
        f"jusqu'à l'acceptation d'un rapport annuel."
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
    """Billing's side of the plans the plans step made (its ``events`` and
    ``cancelled_plan_id``), then the funding of the CERACs the scoring step designated
    (``ceracs``). Forwards billing's own events (``events``) for the audit trail."""
    directory = context.forwarded["directory"]
    organisations, people = directory["organisations"], directory["people"]
    plans = context.forwarded["plans"]
    ceracs = context.forwarded["designations"]["ceracs"]
    billing = context.client("billing")
    sessions = SessionFactory("billing", Base.metadata)
    with sessions.transaction() as session:
        seed_profiles(session, organisations)
    coordinator = demo_actor(people["rac@cegeplevis.demo.quebec"], organisations["CLV"])
    apply_plans(billing, sessions, coordinator, plans)
    with sessions.transaction() as session:
        summary = describe(session, plans["cancelled_plan_id"])
        summary += "\n" + seed_funding(session, ceracs, people)
        events = recorded_events(session)
    return summary, {"events": events}
