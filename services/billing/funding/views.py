"""What the gateway shows of CERAC funding: statements (page, CSV, PDF), the ministry's
overview of a fiscal year, and the dashboard figures. Dicts of JSON-able values, money as
decimal strings ("250000.00"), shaped as the replies of ``rac_shared/contracts/funding.py``."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.funding import AllocationQuery, AllocationSort, DisbursementStatus
from rac_shared.contracts.scoring import EducationOrder
from rac_shared.errors import forbidden
from rac_shared.listing import Key, paginate, reply
from rac_shared.pdf import render_pdf
from rac_shared.templating import make_environment
from services.billing.funding import (
    FUNDED,
    MANAGERS,
    MANDATE_PARTS,
    PROJECT_STATUS_LABELS,
    ZERO,
    cap_for,
    ceracs_of,
    fiscal_bounds,
    fiscal_year_of,
    visible_allocation,
    visible_cerac,
    visible_project,
)
from services.billing.models import (
    DISBURSEMENT_PAID,
    PROJECT_SUBMITTED,
    FundingCerac,
    FundingDisbursement,
    FundingProject,
    OperatingAllocation,
)

templates = make_environment(Path(__file__).parent.parent / "templates")


def _m(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def current_fiscal_year() -> str:
    return fiscal_year_of(clock.today())


def chosen_year(fiscal_year: str | None) -> str:
    label = fiscal_year or current_fiscal_year()
    fiscal_bounds(label)  # refuses a malformed label (invalid → 422)
    return label


def fiscal_year_choices(ceracs: list[FundingCerac], selected: str) -> list[str]:
    current = current_fiscal_year()
    first = min((fiscal_year_of(c.designated_on) for c in ceracs), default=current)
    last = f"{int(current[:4]) + 1}-{int(current[:4]) + 2}"
    years = {selected, last}
    year = int(first[:4])
    while year <= int(last[:4]):
        years.add(f"{year}-{year + 1}")
        year += 1
    return sorted(years, reverse=True)


# -- single objects ---------------------------------------------------------------------------


def cerac_view(cerac: FundingCerac) -> dict:
    return {
        "cerac_id": cerac.cerac_id,
        "organisation_id": cerac.organisation_id,
        "name": cerac.name,
        "education_order": cerac.education_order,
        "education_order_label": EducationOrder.label_of(cerac.education_order),
        "mandate_parts": list(cerac.mandate_parts),
        "experimentation_years": list(cerac.experimentation_years),
        "designated_on": _iso(cerac.designated_on),
    }


def disbursement_view(row: FundingDisbursement, source: str) -> dict:
    if row.status == DISBURSEMENT_PAID:
        status, label = "paid", f"Payé le {row.paid_on.isoformat()}"
    elif row.held:
        status, label = "held", f"Retenu jusqu'au rapport {row.hold_report_year}"
    elif row.due_on <= clock.today():
        status, label = "payable", DisbursementStatus.PAYABLE.label
    else:
        status, label = "scheduled", DisbursementStatus.SCHEDULED.label
    return {
        "id": row.id,
        "allocation_id": row.allocation_id,
        "project_id": row.project_id,
        "fiscal_year": row.fiscal_year,
        "position": row.position,
        "source": source,
        "due_on": _iso(row.due_on),
        "amount": _m(row.amount),
        "status": status,
        "status_label": label,
        "held": row.held,
        "hold_report_year": row.hold_report_year,
        "released_on": _iso(row.released_on),
        "paid_on": _iso(row.paid_on),
        "payment_reference": row.payment_reference,
    }


def allocation_view(allocation: OperatingAllocation) -> dict:
    source = f"Fonctionnement {allocation.fiscal_year}"
    return {
        "id": allocation.id,
        "cerac_id": allocation.cerac_id,
        "fiscal_year": allocation.fiscal_year,
        "amount": _m(allocation.amount),
        "note": allocation.note,
        "recorded_on": _iso(allocation.recorded_on),
        "disbursements": [disbursement_view(d, source) for d in allocation.disbursements],
    }


def project_view(project: FundingProject, cerac: FundingCerac | None = None) -> dict:
    view = {
        "id": project.id,
        "cerac_id": project.cerac_id,
        "fiscal_year": project.fiscal_year,
        "title": project.title,
        "mandate_part": project.mandate_part,
        "mandate_part_label": MANDATE_PARTS.get(project.mandate_part, project.mandate_part),
        "objectives": project.objectives,
        "budget_lines": list(project.budget_lines),
        "requested_amount": _m(project.requested_amount),
        "approved_amount": _m(project.approved_amount),
        "period_start": _iso(project.period_start),
        "period_end": _iso(project.period_end),
        "status": project.status,
        "status_label": PROJECT_STATUS_LABELS.get(project.status, project.status),
        "decision_reason": project.decision_reason,
        "decided_on": _iso(project.decided_on),
        "submitted_on": _iso(project.submitted_at.date()) if project.submitted_at else None,
        "disbursements": [
            disbursement_view(d, f"Projet : {project.title}") for d in project.disbursements
        ],
    }
    if cerac is not None:
        view["cerac"] = cerac_view(cerac)
    return view


def get_project(session: Session, actor: Actor, project_id: int) -> dict:
    project = visible_project(session, actor, project_id)
    view = project_view(project, session.get(FundingCerac, project.cerac_id))
    view["can_decide"] = actor.role in MANAGERS and project.status == PROJECT_SUBMITTED
    view["can_manage"] = actor.role in MANAGERS
    return view


def get_allocation(session: Session, actor: Actor, allocation_id: int) -> dict:
    allocation = visible_allocation(session, actor, allocation_id)
    view = allocation_view(allocation)
    view["cerac"] = cerac_view(session.get(FundingCerac, allocation.cerac_id))
    view["can_manage"] = actor.role in MANAGERS
    return view


# -- the statement of one CERAC and fiscal year -----------------------------------------------


def statement(session: Session, actor: Actor, cerac_id: int, fiscal_year: str | None) -> dict:
    cerac = visible_cerac(session, actor, cerac_id)
    year = chosen_year(fiscal_year)
    allocations = session.scalars(
        select(OperatingAllocation)
        .where(OperatingAllocation.cerac_id == cerac_id, OperatingAllocation.fiscal_year == year)
        .options(selectinload(OperatingAllocation.disbursements))
        .order_by(OperatingAllocation.id)
    ).all()
    projects = session.scalars(
        select(FundingProject)
        .where(FundingProject.cerac_id == cerac_id, FundingProject.fiscal_year == year)
        .options(selectinload(FundingProject.disbursements))
        .order_by(FundingProject.id)
    ).all()
    cap = cap_for(year)
    operating = sum((a.amount for a in allocations), ZERO)
    approved = sum((p.approved_amount for p in projects if p.status in FUNDED), ZERO)
    pending = sum((p.requested_amount for p in projects if p.status == PROJECT_SUBMITTED), ZERO)
    allocation_views = [allocation_view(a) for a in allocations]
    project_views = [project_view(p) for p in projects]
    schedule = [d for view in allocation_views + project_views for d in view["disbursements"]]
    schedule.sort(key=lambda d: (d["due_on"], d["id"]))
    paid = sum((Decimal(d["amount"]) for d in schedule if d["status"] == "paid"), ZERO)
    held = sum((Decimal(d["amount"]) for d in schedule if d["held"]), ZERO)
    return {
        "cerac": cerac_view(cerac),
        "fiscal_year": year,
        "fiscal_years": fiscal_year_choices([cerac], year),
        "as_of": clock.today().isoformat(),
        "cap": _m(cap),
        "operating_allocated": _m(operating),
        "cap_remaining": _m(max(cap - operating, ZERO)) if cap is not None else None,
        "projects_approved": _m(approved),
        "projects_pending": _m(pending),
        "total_funded": _m(operating + approved),
        "paid": _m(paid),
        "held": _m(held),
        "remaining": _m(operating + approved - paid),
        "allocations": allocation_views,
        "projects": project_views,
        "schedule": schedule,
        "can_manage": actor.role in MANAGERS,
        "is_own": actor.is_institution,
    }


def _cell(text: str) -> str:
    """A spreadsheet must not read user text as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _amount(value: str | None) -> str:
    return value.replace(".", ",") if value else ""


def statement_csv(report: dict) -> str:
    """Semicolon-separated, decimal comma, UTF-8 with BOM (what a French spreadsheet opens)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    name, year = report["cerac"]["name"], report["fiscal_year"]
    writer.writerow(["CERAC", "Exercice", "Rubrique", "Montant"])
    for label, key in (
        ("Plafond de fonctionnement", "cap"),
        ("Fonctionnement alloué", "operating_allocated"),
        ("Marge sous le plafond", "cap_remaining"),
        ("Projets de développement approuvés", "projects_approved"),
        ("Total du financement", "total_funded"),
        ("Versé", "paid"),
        ("Reste à verser", "remaining"),
        ("Dont retenu", "held"),
    ):
        writer.writerow([_cell(name), year, label, _amount(report[key])])
    writer.writerow([])
    writer.writerow(
        ["Échéance", "Source", "Montant", "État", "Retenu jusqu'au rapport", "Payé le", "Référence"]
    )
    for d in report["schedule"]:
        writer.writerow(
            [
                d["due_on"],
                _cell(d["source"]),
                _amount(d["amount"]),
                d["status_label"],
                d["hold_report_year"] or "",
                d["paid_on"] or "",
                _cell(d["payment_reference"]),
            ]
        )
    return "\ufeff" + buffer.getvalue()


def statement_html(report: dict) -> str:
    return templates.get_template("funding/statement.html.j2").render(
        doc=report, as_date=date.fromisoformat, dec=Decimal, printed_on=clock.today()
    )


def statement_pdf(report: dict) -> tuple[str, bytes]:
    filename = f"financement-cerac-{report['cerac']['cerac_id']}-{report['fiscal_year']}.pdf"
    return filename, render_pdf(statement_html(report))


# -- the fiscal year across CERACs: overview and dashboard figures ----------------------------


def _grouped(session: Session, columns: tuple, *where) -> dict[int, Decimal]:
    """{cerac_id: sum} of ``columns`` = (cerac id column, amount column)."""
    key, amount = columns
    rows = session.execute(select(key, func.sum(amount)).where(*where).group_by(key)).all()
    return {cerac_id: Decimal(total or 0) for cerac_id, total in rows}


def _year_rows(session: Session, ceracs: list[FundingCerac], year: str) -> tuple[list, dict]:
    ids = [c.cerac_id for c in ceracs]
    if not ids:
        ids = [-1]
    allocated = _grouped(
        session,
        (OperatingAllocation.cerac_id, OperatingAllocation.amount),
        OperatingAllocation.fiscal_year == year,
        OperatingAllocation.cerac_id.in_(ids),
    )
    approved = _grouped(
        session,
        (FundingProject.cerac_id, FundingProject.approved_amount),
        FundingProject.fiscal_year == year,
        FundingProject.status.in_(FUNDED),
        FundingProject.cerac_id.in_(ids),
    )
    pending = _grouped(
        session,
        (FundingProject.cerac_id, FundingProject.requested_amount),
        FundingProject.fiscal_year == year,
        FundingProject.status == PROJECT_SUBMITTED,
        FundingProject.cerac_id.in_(ids),
    )
    paid = _grouped(
        session,
        (FundingDisbursement.cerac_id, FundingDisbursement.amount),
        FundingDisbursement.fiscal_year == year,
        FundingDisbursement.status == DISBURSEMENT_PAID,
        FundingDisbursement.cerac_id.in_(ids),
    )
    held = _grouped(
        session,
        (FundingDisbursement.cerac_id, FundingDisbursement.amount),
        FundingDisbursement.fiscal_year == year,
        FundingDisbursement.status != DISBURSEMENT_PAID,
        FundingDisbursement.hold_report_year.is_not(None),
        FundingDisbursement.released_on.is_(None),
        FundingDisbursement.cerac_id.in_(ids),
    )
    cap = cap_for(year)
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rows = []
    for cerac in ceracs:
        key = cerac.cerac_id
        operating = allocated.get(key, ZERO)
        funded = operating + approved.get(key, ZERO)
        figures = {
            "operating_allocated": operating,
            "cap_remaining": max(cap - operating, ZERO) if cap is not None else ZERO,
            "projects_approved": approved.get(key, ZERO),
            "projects_pending": pending.get(key, ZERO),
            "total_funded": funded,
            "paid": paid.get(key, ZERO),
            "held": held.get(key, ZERO),
            "remaining": funded - paid.get(key, ZERO),
        }
        for name, value in figures.items():
            totals[name] += value
        used = (
            int((operating * 100 / cap).to_integral_value()) if cap else None
        )  # percent of the cap
        rows.append(
            {
                **cerac_view(cerac),
                "cap": _m(cap),
                "cap_used_percent": used,
                **{name: _m(value) for name, value in figures.items()},
            }
        )
    total_view = {name: _m(totals[name]) for name in (
        "operating_allocated", "cap_remaining", "projects_approved", "projects_pending",
        "total_funded", "paid", "held", "remaining",
    )}  # fmt: skip
    total_view["cap"] = _m(cap * len(ceracs)) if cap is not None else None
    return rows, total_view


def overview(session: Session, actor: Actor, fiscal_year: str | None) -> dict:
    """The CERACs the actor sees, with their funding of one fiscal year."""
    year = chosen_year(fiscal_year)
    ceracs = ceracs_of(session, actor)
    rows, totals = _year_rows(session, ceracs, year)
    projects = []
    if ceracs:
        query = (
            select(FundingProject)
            .where(FundingProject.cerac_id.in_([c.cerac_id for c in ceracs]))
            .order_by(FundingProject.submitted_at.desc(), FundingProject.id.desc())
            .limit(200)
        )
        if actor.is_ministry:  # the ministry's worklist: projects awaiting a decision
            query = query.where(FundingProject.status == PROJECT_SUBMITTED)
        names = {c.cerac_id: c.name for c in ceracs}
        for project in session.scalars(query):
            view = project_view(project)
            view["cerac_name"] = names.get(project.cerac_id, "")
            view.pop("disbursements")
            projects.append(view)
    is_cerac = actor.is_institution and bool(ceracs)
    return {
        "fiscal_year": year,
        "fiscal_years": fiscal_year_choices(ceracs, year),
        "cap": _m(cap_for(year)),
        "ceracs": rows,
        "totals": totals,
        "projects": projects,
        "is_cerac": is_cerac,
        "can_manage": actor.role in MANAGERS,
        # A CERAC's page shows its own statement: in the same answer (one RPC per page).
        "statement": statement(session, actor, ceracs[0].cerac_id, year) if is_cerac else None,
    }


def figures(session: Session, actor: Actor, fiscal_year: str | None) -> dict:
    """``billing.funding_figures``: the ministry dashboard's funding of a fiscal year."""
    if not actor.is_ministry:
        raise forbidden("Les données du réseau sont réservées au Ministère.")
    year = chosen_year(fiscal_year)
    ceracs = list(
        session.scalars(
            select(FundingCerac).order_by(FundingCerac.education_order, FundingCerac.name)
        )
    )
    rows, totals = _year_rows(session, ceracs, year)
    return {"fiscal_year": year, "cap": _m(cap_for(year)), "ceracs": rows, "totals": totals}


# -- the list of operating allocations ------------------------------------------------------

FAR = date(9999, 12, 31)


def _allocation_keys(sort: str, payable, next_due) -> list[Key]:
    newest = Key(OperatingAllocation.id, descending=True)
    if sort == AllocationSort.YEAR:
        return [
            Key(OperatingAllocation.fiscal_year, descending=True),
            Key(FundingCerac.name),
            newest,
        ]
    if sort == AllocationSort.CERAC:
        return [
            Key(FundingCerac.name),
            Key(OperatingAllocation.fiscal_year, descending=True),
            newest,
        ]
    if sort == AllocationSort.AMOUNT:
        return [Key(OperatingAllocation.amount, descending=True), newest]
    # Work to do first: disbursements payable now, then the nearest next due date.
    return [Key(case((payable > 0, 0), else_=1)), Key(next_due), newest]


def list_allocations(session: Session, actor: Actor, query: AllocationQuery) -> dict:
    """A page of operating allocations with what was paid and what is next (one grouped
    subquery over the disbursements): two statements whatever the page's size."""
    if not (actor.is_ministry or actor.is_institution):
        raise forbidden("Le financement des CERAC concerne le Ministère et les CERAC.")
    today = clock.today()
    d = FundingDisbursement
    unpaid = d.status != DISBURSEMENT_PAID
    held = and_(d.hold_report_year.is_not(None), d.released_on.is_(None))
    sums = (
        select(
            d.allocation_id.label("allocation_id"),
            func.sum(case((d.status == DISBURSEMENT_PAID, d.amount), else_=ZERO)).label("paid"),
            func.sum(case((and_(unpaid, ~held, d.due_on <= today), 1), else_=0)).label("payable"),
            func.min(case((unpaid, d.due_on))).label("next_due"),
        )
        .where(d.allocation_id.is_not(None))
        .group_by(d.allocation_id)
        .subquery()
    )
    paid = func.coalesce(sums.c.paid, ZERO)
    payable = func.coalesce(sums.c.payable, 0)
    next_due = func.coalesce(sums.c.next_due, FAR)
    statement = (
        select(OperatingAllocation, FundingCerac, paid, payable, sums.c.next_due)
        .join(FundingCerac, FundingCerac.cerac_id == OperatingAllocation.cerac_id)
        .outerjoin(sums, sums.c.allocation_id == OperatingAllocation.id)
    )
    if actor.is_institution:
        statement = statement.where(FundingCerac.organisation_id == actor.organisation_id)
    if query.fiscal_year:
        statement = statement.where(OperatingAllocation.fiscal_year == query.fiscal_year)
    if query.cerac_id is not None:
        statement = statement.where(OperatingAllocation.cerac_id == query.cerac_id)
    if query.education_order:
        statement = statement.where(FundingCerac.education_order == query.education_order)
    page = paginate(
        session,
        statement,
        query,
        name="funding_allocations",
        scope=actor.organisation_id,
        keys=_allocation_keys(query.sort, payable, next_due),
    )
    items = [
        {
            "id": allocation.id,
            "cerac_id": cerac.cerac_id,
            "cerac_name": cerac.name,
            "education_order_label": EducationOrder.label_of(cerac.education_order),
            "fiscal_year": allocation.fiscal_year,
            "amount": _m(allocation.amount),
            "paid": _m(Decimal(paid_amount)),
            "remaining": _m(allocation.amount - Decimal(paid_amount)),
            "payable": int(payable_count),
            "next_due_on": _iso(
                due if isinstance(due, date) or due is None else date.fromisoformat(str(due))
            ),
            "recorded_on": _iso(allocation.recorded_on),
        }
        for allocation, cerac, paid_amount, payable_count, due in page["rows"]
    ]
    return reply(page, items)
