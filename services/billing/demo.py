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

from rac_shared.actor import OrganisationKind
from rac_shared.clock import clock
from rac_shared.contracts.funding import ProjectIn
from rac_shared.db import SessionFactory
from rac_shared.formatting import long_date, money
from rac_shared.french import enumeration, plural
from rac_shared.manifest import demo_actor
from rac_shared.outbox import recorded_events
from services.billing import estimates, funding
from services.billing.models import (
    DISBURSEMENT_PAID,
    PROJECT_SUBMITTED,
    Base,
    BillingTask,
    CancellationCosts,
    CreditNote,
    FundingCerac,
    FundingDisbursement,
    FundingProject,
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


def _register(sessions, ceracs: list[dict]) -> None:
    """Billing's local records of the designated CERACs. Not through an entrypoint because
    none makes them: on the platform ``on_cerac_designated`` makes each from
    ``cerac.designated``, but the 2013 CERACs were designated from files kept outside the
    platform (no application, mostly no institution account) and scoring publishes no such
    event for them (its contract needs both). Idempotent (an upsert)."""
    with sessions.transaction() as session:
        for c in ceracs:
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


def _open_project(sessions, cerac_id: int, user_id: int, data: dict) -> None:
    """A development project of the first CERAC. Not through ``submit_funding_project``,
    which takes the CERAC from the signed-in institution's account: this 2013 CERAC has no
    account on the platform (its projects were sent on paper and keyed by the ministry)."""
    with sessions.transaction() as session:
        cerac = session.get(FundingCerac, cerac_id)
        funding.create_project(session, cerac, user_id, ProjectIn.model_validate(data))


def _funding_state(sessions) -> dict:
    """Billing's funding as it stands in its own tables: each stage of ``seed_funding``
    runs only if not done, so a demo stopped anywhere completes when run again."""
    with sessions.transaction() as session:
        allocations = session.scalars(
            select(OperatingAllocation).order_by(OperatingAllocation.id)
        ).all()
        return {
            "allocations": {
                a.id: {
                    "cerac_id": a.cerac_id,
                    "disbursements": [
                        {
                            "due_on": d.due_on.isoformat(),
                            "amount": str(d.amount),
                            "hold_report_year": d.hold_report_year,
                        }
                        for d in sorted(a.disbursements, key=lambda d: d.position)
                    ],
                }
                for a in allocations
            },
            "paid": session.scalar(
                select(func.count(FundingDisbursement.id)).where(
                    FundingDisbursement.status == DISBURSEMENT_PAID
                )
            ),
            "projects": {
                p.title: {"id": p.id, "status": p.status}
                for p in session.scalars(select(FundingProject).order_by(FundingProject.id))
            },
        }


def seed_funding(billing, sessions, ceracs: list[dict], people: dict, ministry: dict) -> str:
    """Funding of the current fiscal year for the CERACs the scoring demo designated (its
    ``ceracs`` rows: cerac_id, organisation_id, organisation_name, education_order,
    mandate_parts, experimentation_years, designated_on): billing's local CERAC records,
    operating allocations (the first CERAC close to the cap, in two allocations), one approved
    and one pending development project, paid disbursements and a held one (the first
    disbursement of the first CERAC's allocation is held until the report of its last
    experimentation year, still to be accepted in the reporting demo) — through the
    service's RPC methods (but for ``_register`` and ``_open_project``, see why there).
    Demo history: its events are not published."""
    today = clock.today()
    # The 2013 designations are not made yet on a platform whose clock is in 2012.
    ceracs = [c for c in ceracs if c["designated_on"] <= today]
    if not ceracs:
        return f"Financement : aucun CERAC désigné au {long_date(today)}, aucune donnée."
    state = _funding_state(sessions)
    projects = state["projects"]
    if (
        len(projects) == len(DEMO_PROJECTS)
        and projects[DEMO_PROJECTS[0]["title"]]["status"] != PROJECT_SUBMITTED
        and (state["paid"] or not _to_pay(sessions, today))
    ):  # paid once: what falls due after the demo's day is left to pay (by hand)
        return "Financement : données de démonstration déjà présentes."
    ministry = demo_actor(people["admin@mes.demo.quebec"], ministry)
    year = funding.fiscal_year_of(today)
    start, _ = funding.fiscal_bounds(year)
    recorded_on = min(start + timedelta(days=14), today)
    _register(sessions, ceracs)
    first = ceracs[0]
    with clock.frozen_at(recorded_on):
        for cerac, amounts in zip(ceracs, DEMO_ALLOCATIONS, strict=False):
            for number, amount in enumerate(amounts):
                made = _allocations_of(sessions, cerac["cerac_id"])
                if number >= len(made):
                    billing.record_funding_allocation(
                        actor=ministry,
                        cerac_id=cerac["cerac_id"],
                        data={
                            "fiscal_year": year,
                            "amount": amount,
                            "installments": 1 if number else None,
                            "note": "" if number else "Allocation annuelle de fonctionnement.",
                        },
                    )
                if cerac is first and not number and cerac["experimentation_years"]:
                    [(allocation_id, allocation), *_] = _allocations_of(sessions, cerac["cerac_id"])
                    year_of_report = cerac["experimentation_years"][-1]
                    _hold_first(billing, ministry, allocation_id, allocation, year_of_report)
        period_start = max(recorded_on, start + timedelta(days=30))
        for spec in DEMO_PROJECTS:
            if spec["title"] not in state["projects"]:
                data = {
                    **spec,
                    "period_start": period_start,
                    "period_end": period_start + timedelta(days=364),
                }
                _open_project(sessions, first["cerac_id"], ministry["user_id"], data)
        state = _funding_state(sessions)
        approved = state["projects"][DEMO_PROJECTS[0]["title"]]
        if approved["status"] == PROJECT_SUBMITTED:
            billing.decide_funding_project(
                actor=ministry, project_id=approved["id"], data={"decision": "approved"}
            )
    # Paid: what fell due more than a week ago and is not held (so some are still to pay).
    with clock.frozen_at(today):
        for disbursement_id, due_on in _to_pay(sessions, today):
            billing.pay_funding_disbursement(
                actor=ministry,
                disbursement_id=disbursement_id,
                data={"paid_on": due_on, "reference": f"DEM-{disbursement_id:05d}"},
            )
    with sessions.transaction() as session:
        # Demo history: nobody is to be told of these payments and decisions.
        outbox = Base.metadata.tables["outbox"]
        session.execute(
            delete(outbox).where(
                outbox.c.published_at.is_(None), outbox.c.event_type.startswith("funding.")
            )
        )
        disbursements = session.scalars(select(FundingDisbursement)).all()
        held = sum(1 for row in disbursements if row.held)
        paid = sum(1 for row in disbursements if row.status == DISBURSEMENT_PAID)
    return (
        f"Financement {year} : {len(ceracs)} CERAC, allocations de fonctionnement (dont "
        f"{first['organisation_name']} à 245 000 $ sur le plafond), un projet de développement "
        f"approuvé et un en attente, {plural(paid, 'versement payé')}, "
        f"{plural(held, 'retenu')} jusqu'à l'acceptation d'un rapport annuel."
    )


def _allocations_of(sessions, cerac_id: int) -> list[tuple[int, dict]]:
    return [
        (allocation_id, allocation)
        for allocation_id, allocation in _funding_state(sessions)["allocations"].items()
        if allocation["cerac_id"] == cerac_id
    ]


def _to_pay(sessions, today) -> list[tuple[int, object]]:
    """The disbursements that fell due more than a week ago, not held and not paid yet."""
    with sessions.transaction() as session:
        rows = session.scalars(
            select(FundingDisbursement)
            .where(
                FundingDisbursement.due_on <= today - timedelta(days=7),
                FundingDisbursement.status != DISBURSEMENT_PAID,
            )
            .order_by(FundingDisbursement.id)
        ).all()
        return [(row.id, row.due_on) for row in rows if not row.held]


def _hold_first(billing, ministry: dict, allocation_id: int, allocation: dict, year: str) -> None:
    """The ministry edits the schedule: its first installment waits for ``year``'s report."""
    items = allocation["disbursements"]
    if not items or items[0]["hold_report_year"] == year:
        return
    items = [{**items[0], "hold_report_year": year}, *items[1:]]
    billing.update_allocation_schedule(
        actor=ministry, allocation_id=allocation_id, data={"items": items}
    )


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
    summary += "\n" + seed_funding(billing, sessions, ceracs, people, organisations["MES"])
    with sessions.transaction() as session:
        events = recorded_events(session)
    return summary, {"events": events}
