"""Funding of designated CERACs: operating allocations within a dated yearly cap, development
projects outside it, disbursement schedules with holds until a yearly report is accepted.

Plain domain functions (no nameko, no HTTP): the service's entrypoints open the transaction
and call them. Who may do what:

- the ministry's administrators and analysts record allocations, decide projects, edit
  schedules and record payments; every ministry role reads everything;
- a CERAC (the users of the institution billing knows from ``cerac.designated``) reads its
  own statement and projects, and submits development projects;
- anyone else finds nothing (another CERAC's statement or project is "not found").

Fiscal years run from April 1 to March 31 and are labelled "2025-2026". The operating cap
of a fiscal year is the one in force on its first day (``BILLING_FUNDING_OPERATING_CAPS``);
approved project amounts are outside it. Money is ``Decimal``, rounded once
(``round_money``): a generated schedule splits the total into equal rounded shares and the
last installment takes the remainder, so the installments always add up to the total.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, Role
from rac_shared.clock import clock
from rac_shared.contracts.funding import (
    AllocationIn,
    DisbursementPaymentIn,
    MandatePart,
    ProjectDecisionIn,
    ProjectIn,
    ProjectStatus,
    ScheduleIn,
)
from rac_shared.errors import conflict, forbidden, invalid, not_found
from rac_shared.events import (
    CeracDesignated,
    CeracReportAccepted,
    FundingAllocationRecorded,
    FundingDisbursementPaid,
    FundingDisbursementReleased,
    FundingProjectDecided,
    FundingProjectSubmitted,
)
from rac_shared.formatting import CENT, money, round_money
from rac_shared.outbox import record_event
from services.billing.config import billing_settings
from services.billing.models import (
    DISBURSEMENT_PAID,
    DISBURSEMENT_SCHEDULED,
    PROJECT_ADJUSTED,
    PROJECT_APPROVED,
    PROJECT_SUBMITTED,
    AcceptedReport,
    FundingCerac,
    FundingDisbursement,
    FundingProject,
    OperatingAllocation,
)

MANAGERS = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
MANDATE_PARTS = MandatePart.labels()
PROJECT_STATUS_LABELS = ProjectStatus.labels()
FUNDED = (PROJECT_APPROVED, PROJECT_ADJUSTED)
ZERO = Decimal("0.00")


# -- fiscal years and the cap -----------------------------------------------------------------


def fiscal_year_of(day: date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{start + 1}"


def fiscal_bounds(label: str) -> tuple[date, date]:
    """``"2025-2026"`` → (2025-04-01, 2026-03-31); anything else is refused."""
    start, dash, end = str(label).partition("-")
    if not (dash and start.isdigit() and end.isdigit() and len(start) == len(end) == 4):
        raise invalid(
            "Un exercice financier AAAA-AAAA est attendu (p. ex. 2025-2026).",
            {"fiscal_year": "Exercice invalide."},
        )
    if int(end) != int(start) + 1:
        raise invalid(
            "L'exercice financier va du 1er avril au 31 mars (p. ex. 2025-2026).",
            {"fiscal_year": "Exercice invalide."},
        )
    return date(int(start), 4, 1), date(int(end), 3, 31)


def previous_fiscal_year(label: str) -> str:
    start, _ = fiscal_bounds(label)
    return f"{start.year - 1}-{start.year}"


def cap_for(fiscal_year: str, caps: list[tuple[date, Decimal]] | None = None) -> Decimal | None:
    """The operating cap in force on the fiscal year's first day (None before any cap)."""
    start, _ = fiscal_bounds(fiscal_year)
    schedule = caps if caps is not None else billing_settings().operating_caps
    in_force = [amount for since, amount in sorted(schedule) if since <= start]
    return round_money(in_force[-1]) if in_force else None


def operating_cap(fiscal_year: str, caps: list[tuple[date, Decimal]] | None = None) -> Decimal:
    cap = cap_for(fiscal_year, caps)
    if cap is None:
        raise invalid(
            f"Aucun plafond de fonctionnement n'est en vigueur pour l'exercice {fiscal_year}.",
            {"fiscal_year": "Exercice sans plafond."},
        )
    return cap


def over_cap_message(
    fiscal_year: str, cap: Decimal, allocated: Decimal, amount: Decimal
) -> str | None:
    """The French refusal when ``amount`` would take the year's total over ``cap``."""
    if allocated + amount <= cap:
        return None
    left = max(cap - allocated, ZERO)
    return (
        f"Le plafond de fonctionnement de l'exercice {fiscal_year} est de {money(cap)} : "
        f"{money(allocated)} sont déjà alloués à ce CERAC et il reste {money(left)}. "
        f"L'allocation de {money(amount)} dépasserait le plafond."
    )


# -- schedules --------------------------------------------------------------------------------


def split_amount(total: Decimal, count: int) -> list[Decimal]:
    """``count`` shares of ``total``: equal rounded shares, the last takes the remainder."""
    total = round_money(total)
    count = max(1, min(count, int(total / CENT) or 1))
    while count > 1:
        share = round_money(total / count)
        last = total - share * (count - 1)
        if last > 0:
            return [share] * (count - 1) + [last]
        count -= 1
    return [total]


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def installment_dates(start: date, months: int, count: int, not_before: date) -> list[date]:
    """``count`` dates spread over ``months`` months from ``start``, none before
    ``not_before`` (an installment already due when the schedule is made is due at once)."""
    step = max(months, 1) / count
    return [max(add_months(start, int(step * i)), not_before) for i in range(count)]


def months_between(start: date, end: date) -> int:
    return max((end.year - start.year) * 12 + end.month - start.month + 1, 1)


def default_hold(session: Session, cerac: FundingCerac, fiscal_year: str) -> str | None:
    """The report year the first disbursement of an allocation for ``fiscal_year`` waits
    for: the previous year's, if the CERAC reports on that year (one of its experimentation
    years) and that report is not accepted yet."""
    previous = previous_fiscal_year(fiscal_year)
    if previous not in (cerac.experimentation_years or []):
        return None
    return None if report_accepted_already(session, cerac.cerac_id, previous) else previous


def report_accepted_already(session: Session, cerac_id: int, period_label: str) -> bool:
    return (
        session.scalar(
            select(AcceptedReport.id).where(
                AcceptedReport.cerac_id == cerac_id, AcceptedReport.period_label == period_label
            )
        )
        is not None
    )


def _schedule(
    session: Session,
    owner: OperatingAllocation | FundingProject,
    cerac_id: int,
    fiscal_year: str,
    amounts: list[Decimal],
    dates: list[date],
    holds: list[str | None],
    first_position: int = 1,
) -> list[FundingDisbursement]:
    rows = []
    for offset, (amount, due_on, hold) in enumerate(zip(amounts, dates, holds, strict=True)):
        row = FundingDisbursement(
            cerac_id=cerac_id,
            fiscal_year=fiscal_year,
            position=first_position + offset,
            due_on=due_on,
            amount=amount,
            hold_report_year=hold,
            status=DISBURSEMENT_SCHEDULED,
            payment_reference="",
        )
        if hold is not None and report_accepted_already(session, cerac_id, hold):
            row.released_on = clock.today()
        if isinstance(owner, OperatingAllocation):
            row.allocation = owner
        else:
            row.project = owner
        session.add(row)
        rows.append(row)
    return rows


# -- access -----------------------------------------------------------------------------------


def ensure_manager(actor: Actor) -> None:
    if actor.role not in MANAGERS:
        raise forbidden("Le financement des CERAC est géré par l'administration du Ministère.")


def ceracs_of(session: Session, actor: Actor) -> list[FundingCerac]:
    """The CERACs the actor sees: all for the ministry, its own for an institution."""
    query = select(FundingCerac).order_by(FundingCerac.education_order, FundingCerac.name)
    if actor.is_ministry:
        return list(session.scalars(query))
    if actor.is_institution:
        return list(
            session.scalars(query.where(FundingCerac.organisation_id == actor.organisation_id))
        )
    return []


def visible_cerac(
    session: Session, actor: Actor, cerac_id: int, lock: bool = False
) -> FundingCerac:
    cerac = session.get(FundingCerac, cerac_id, with_for_update=lock or None)
    if cerac is None or not (
        actor.is_ministry
        or (actor.is_institution and cerac.organisation_id == actor.organisation_id)
    ):
        raise not_found("CERAC introuvable.")
    return cerac


def visible_project(
    session: Session, actor: Actor, project_id: int, lock: bool = False
) -> FundingProject:
    project = session.get(FundingProject, project_id, with_for_update=lock or None)
    if project is None:
        raise not_found("Projet de développement introuvable.")
    try:
        visible_cerac(session, actor, project.cerac_id)
    except Exception:
        raise not_found("Projet de développement introuvable.") from None
    return project


# -- the local CERAC registry -----------------------------------------------------------------


def register_cerac(session: Session, payload: CeracDesignated) -> FundingCerac:
    """Create (or refresh) billing's record of a designated CERAC; idempotent."""
    return upsert_cerac(
        session,
        cerac_id=payload.cerac_id,
        organisation_id=payload.organisation_id,
        name=payload.organisation_name,
        education_order=payload.education_order,
        mandate_parts=payload.mandate_parts,
        experimentation_years=payload.experimentation_years,
        designated_on=payload.decision_date,
    )


def upsert_cerac(
    session: Session,
    *,
    cerac_id: int,
    organisation_id: int | None,
    name: str,
    education_order: str,
    mandate_parts: list[str],
    experimentation_years: list[str],
    designated_on: date,
) -> FundingCerac:
    now = clock.now()
    cerac = session.get(FundingCerac, cerac_id)
    if cerac is None:
        cerac = FundingCerac(cerac_id=cerac_id, created_at=now)
        session.add(cerac)
    cerac.organisation_id = organisation_id
    cerac.name = name
    cerac.education_order = education_order
    cerac.mandate_parts = list(mandate_parts)
    cerac.experimentation_years = list(experimentation_years)
    cerac.designated_on = designated_on
    cerac.updated_at = now
    session.flush()
    return cerac


# -- operating allocations --------------------------------------------------------------------


def operating_total(session: Session, cerac_id: int, fiscal_year: str) -> Decimal:
    total = session.scalar(
        select(func.coalesce(func.sum(OperatingAllocation.amount), 0)).where(
            OperatingAllocation.cerac_id == cerac_id, OperatingAllocation.fiscal_year == fiscal_year
        )
    )
    return round_money(Decimal(total))


def record_allocation(
    session: Session, actor: Actor, cerac_id: int, data: AllocationIn
) -> OperatingAllocation:
    ensure_manager(actor)
    # The lock serialises allocations of one CERAC: the second waits for the first to commit
    # and then sees its amount in the year's total.
    cerac = visible_cerac(session, actor, cerac_id, lock=True)
    start, end = fiscal_bounds(data.fiscal_year)
    if end < cerac.designated_on:
        raise invalid(
            f"{cerac.name} a été désigné CERAC le {cerac.designated_on.isoformat()} : "
            f"aucune allocation n'est possible pour l'exercice {data.fiscal_year}.",
            {"fiscal_year": "Exercice antérieur à la désignation."},
        )
    cap = operating_cap(data.fiscal_year)
    allocated = operating_total(session, cerac.cerac_id, data.fiscal_year)
    refusal = over_cap_message(data.fiscal_year, cap, allocated, data.amount)
    if refusal:
        raise invalid(refusal, {"amount": f"Au plus {money(max(cap - allocated, ZERO))}."})
    today = clock.today()
    allocation = OperatingAllocation(
        cerac_id=cerac.cerac_id,
        fiscal_year=data.fiscal_year,
        amount=data.amount,
        note=data.note,
        recorded_by_user_id=actor.user_id,
        recorded_on=today,
        created_at=clock.now(),
    )
    session.add(allocation)
    session.flush()
    count = data.installments or billing_settings().funding_allocation_installments
    amounts = split_amount(data.amount, count)
    dates = installment_dates(start, 12, len(amounts), not_before=today if today <= end else start)
    first_of_year = (
        session.scalar(
            select(func.count(OperatingAllocation.id)).where(
                OperatingAllocation.cerac_id == cerac.cerac_id,
                OperatingAllocation.fiscal_year == data.fiscal_year,
            )
        )
        == 1
    )
    hold = default_hold(session, cerac, data.fiscal_year) if first_of_year else None
    holds = [hold] + [None] * (len(amounts) - 1)
    _schedule(session, allocation, cerac.cerac_id, data.fiscal_year, amounts, dates, holds)
    session.flush()
    record_event(
        session,
        FundingAllocationRecorded(
            allocation_id=allocation.id,
            cerac_id=cerac.cerac_id,
            organisation_id=cerac.organisation_id or 0,
            organisation_name=cerac.name,
            fiscal_year=data.fiscal_year,
            amount=data.amount,
            operating_total_for_year=allocated + data.amount,
            operating_cap=cap,
            recorded_by_user_id=actor.user_id,
        ),
    )
    return allocation


def visible_allocation(session: Session, actor: Actor, allocation_id: int, lock: bool = False):
    allocation = session.get(OperatingAllocation, allocation_id, with_for_update=lock or None)
    if allocation is None:
        raise not_found("Allocation introuvable.")
    try:
        visible_cerac(session, actor, allocation.cerac_id)
    except Exception:
        raise not_found("Allocation introuvable.") from None
    return allocation


# -- development projects ---------------------------------------------------------------------


def submit_project(session: Session, actor: Actor, data: ProjectIn) -> FundingProject:
    if not actor.is_institution:
        raise forbidden("Seul un CERAC désigné soumet des projets de développement.")
    ceracs = ceracs_of(session, actor)
    if not ceracs:
        raise forbidden(
            "Votre établissement n'est pas un CERAC désigné : il ne peut pas soumettre de "
            "projet de développement."
        )
    return create_project(session, ceracs[0], actor.user_id, data)


def create_project(
    session: Session, cerac: FundingCerac, user_id: int, data: ProjectIn
) -> FundingProject:
    lines = [{"label": line.label, "amount": str(line.amount)} for line in data.budget_lines]
    requested = round_money(sum((line.amount for line in data.budget_lines), ZERO))
    project = FundingProject(
        cerac_id=cerac.cerac_id,
        fiscal_year=fiscal_year_of(data.period_start),
        title=data.title,
        mandate_part=data.mandate_part,
        objectives=data.objectives,
        budget_lines=lines,
        requested_amount=requested,
        period_start=data.period_start,
        period_end=data.period_end,
        status=PROJECT_SUBMITTED,
        decision_reason="",
        submitted_by_user_id=user_id,
        submitted_at=clock.now(),
    )
    session.add(project)
    session.flush()
    record_event(
        session,
        FundingProjectSubmitted(
            project_id=project.id,
            cerac_id=cerac.cerac_id,
            organisation_id=cerac.organisation_id or 0,
            organisation_name=cerac.name,
            title=project.title,
            mandate_part=project.mandate_part,
            requested_amount=requested,
            submitted_by_user_id=user_id,
        ),
    )
    return project


def decide_project(
    session: Session, actor: Actor, project_id: int, data: ProjectDecisionIn
) -> FundingProject:
    ensure_manager(actor)
    project = visible_project(session, actor, project_id, lock=True)
    if project.status != PROJECT_SUBMITTED:
        raise conflict("Ce projet a déjà fait l'objet d'une décision.")
    reason = data.reason.strip()
    if data.decision == PROJECT_APPROVED:
        approved = project.requested_amount
    elif data.decision == PROJECT_ADJUSTED:
        if data.approved_amount is None:
            raise invalid(
                "Indiquez le montant approuvé.", {"approved_amount": "Montant obligatoire."}
            )
        if data.approved_amount >= project.requested_amount:
            raise invalid(
                f"Un ajustement approuve moins que le montant demandé "
                f"({money(project.requested_amount)}).",
                {"approved_amount": "Inférieur au montant demandé."},
            )
        approved = data.approved_amount
    else:
        approved = None
    if data.decision != PROJECT_APPROVED and not reason:
        raise invalid(
            "Motivez la décision : un ajustement ou un refus est expliqué au CERAC.",
            {"reason": "Motif obligatoire."},
        )
    cerac = session.get(FundingCerac, project.cerac_id)
    today = clock.today()
    project.status = data.decision
    project.approved_amount = approved
    project.decision_reason = reason
    project.decided_by_user_id = actor.user_id
    project.decided_on = today
    if approved is not None:
        count = data.installments or billing_settings().funding_project_installments
        amounts = split_amount(approved, count)
        months = months_between(project.period_start, project.period_end)
        not_before = today if today <= project.period_end else project.period_start
        dates = installment_dates(project.period_start, months, len(amounts), not_before)
        _schedule(
            session,
            project,
            project.cerac_id,
            project.fiscal_year,
            amounts,
            dates,
            [None] * len(amounts),
        )
    session.flush()
    record_event(
        session,
        FundingProjectDecided(
            project_id=project.id,
            cerac_id=project.cerac_id,
            organisation_id=cerac.organisation_id or 0,
            organisation_name=cerac.name,
            title=project.title,
            decision=data.decision,
            requested_amount=project.requested_amount,
            approved_amount=approved,
            reason=reason,
            decided_by_user_id=actor.user_id,
        ),
    )
    return project


# -- schedules: editing, payments, holds ------------------------------------------------------


def owner_of(session: Session, actor: Actor, kind: str, owner_id: int, lock: bool = False):
    if kind == "allocation":
        return visible_allocation(session, actor, owner_id, lock=lock)
    if kind == "project":
        return visible_project(session, actor, owner_id, lock=lock)
    raise invalid("Un échéancier appartient à une allocation ou à un projet.")


def funded_amount(owner: OperatingAllocation | FundingProject) -> Decimal:
    if isinstance(owner, OperatingAllocation):
        return owner.amount
    return owner.approved_amount or ZERO


def replace_schedule(
    session: Session, actor: Actor, kind: str, owner_id: int, data: ScheduleIn
) -> OperatingAllocation | FundingProject:
    """The ministry rewrites the unpaid installments; paid ones stay as they are, and the
    whole schedule must still add up exactly to the allocated or approved amount."""
    ensure_manager(actor)
    owner = owner_of(session, actor, kind, owner_id, lock=True)
    if isinstance(owner, FundingProject) and owner.status not in FUNDED:
        raise conflict("Seul un projet approuvé a un échéancier de versements.")
    total = funded_amount(owner)
    paid = [d for d in owner.disbursements if d.status == DISBURSEMENT_PAID]
    unpaid = [d for d in owner.disbursements if d.status != DISBURSEMENT_PAID]
    scheduled = round_money(sum((d.amount for d in paid), ZERO)) + round_money(
        sum((item.amount for item in data.items), ZERO)
    )
    if scheduled != total:
        already = round_money(sum((d.amount for d in paid), ZERO))
        detail = f" (dont {money(already)} déjà versés)" if paid else ""
        raise invalid(
            f"Les versements totalisent {money(scheduled)}{detail} : ils doivent égaler "
            f"exactement {money(total)}.",
            {"items": f"Total attendu : {money(total)}."},
        )
    for row in unpaid:
        session.delete(row)
    session.flush()
    session.expire(owner, ["disbursements"])
    items = sorted(data.items, key=lambda item: item.due_on)
    _schedule(
        session,
        owner,
        owner.cerac_id,
        owner.fiscal_year,
        [item.amount for item in items],
        [item.due_on for item in items],
        [item.hold_report_year for item in items],
        first_position=max((d.position for d in paid), default=0) + 1,
    )
    session.flush()
    session.expire(owner, ["disbursements"])
    return owner


def pay_disbursement(
    session: Session, actor: Actor, disbursement_id: int, data: DisbursementPaymentIn
) -> FundingDisbursement:
    ensure_manager(actor)
    row = session.get(FundingDisbursement, disbursement_id, with_for_update=True)
    if row is None:
        raise not_found("Versement introuvable.")
    if row.status == DISBURSEMENT_PAID:
        raise conflict("Ce versement est déjà payé.")
    if row.held:
        raise invalid(
            f"Ce versement est retenu jusqu'à l'acceptation du rapport de l'année "
            f"d'expérimentation {row.hold_report_year} : il ne peut pas être payé.",
            {"disbursement": "Versement retenu."},
        )
    if data.paid_on > clock.today():
        raise invalid(
            "La date du paiement ne peut pas être dans le futur.",
            {"paid_on": "Date future."},
        )
    cerac = session.get(FundingCerac, row.cerac_id)
    row.status = DISBURSEMENT_PAID
    row.paid_on = data.paid_on
    row.payment_reference = data.reference
    row.paid_by_user_id = actor.user_id
    session.flush()
    record_event(
        session,
        FundingDisbursementPaid(
            disbursement_id=row.id,
            cerac_id=row.cerac_id,
            organisation_id=cerac.organisation_id or 0,
            organisation_name=cerac.name,
            fiscal_year=row.fiscal_year,
            amount=row.amount,
            paid_on=data.paid_on,
            allocation_id=row.allocation_id,
            project_id=row.project_id,
        ),
    )
    return row


def report_accepted(session: Session, payload: CeracReportAccepted) -> list[FundingDisbursement]:
    """Remember the accepted yearly report and release the disbursements held on it."""
    if payload.special_mandate_id is not None:
        return []  # a special mandate's report holds nothing
    try:
        fiscal_bounds(payload.period_label)
    except Exception:
        return []
    if report_accepted_already(session, payload.cerac_id, payload.period_label):
        return []
    session.add(
        AcceptedReport(
            cerac_id=payload.cerac_id,
            period_label=payload.period_label,
            report_id=payload.report_id,
            accepted_on=payload.accepted_on,
        )
    )
    held = session.scalars(
        select(FundingDisbursement)
        .where(
            FundingDisbursement.cerac_id == payload.cerac_id,
            FundingDisbursement.hold_report_year == payload.period_label,
            FundingDisbursement.released_on.is_(None),
            FundingDisbursement.status != DISBURSEMENT_PAID,
        )
        .order_by(FundingDisbursement.id)
        .with_for_update()
    ).all()
    cerac = session.get(FundingCerac, payload.cerac_id)
    for row in held:
        row.released_on = payload.accepted_on
        row.released_by_report_id = payload.report_id
        record_event(
            session,
            FundingDisbursementReleased(
                disbursement_id=row.id,
                cerac_id=row.cerac_id,
                organisation_id=cerac.organisation_id or 0,  # held rows have a CERAC record
                organisation_name=cerac.name,
                fiscal_year=row.fiscal_year,
                amount=row.amount,
                report_id=payload.report_id,
                report_period_label=payload.period_label,
            ),
        )
    session.flush()
    return list(held)
