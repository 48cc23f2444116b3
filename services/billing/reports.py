"""Lists, statements per employer, aging report per institution, CSV exports, home page."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.billing import (
    AgingBucket,
    CreditNoteQuery,
    CreditNoteSort,
    InvoiceQuery,
    InvoiceSort,
)
from rac_shared.errors import forbidden, invalid, not_found
from rac_shared.listing import Key, paginate, reply
from services.billing.access import ensure_institution, scope
from services.billing.invoicing import due_installments_query
from services.billing.models import (
    CreditNote,
    Estimate,
    Installment,
    Invoice,
    Organisation,
    Payment,
)
from services.billing.views import credit_note_summary, invoice_summary, payment_view

ZERO = Decimal("0.00")
BALANCE = Invoice.total - Invoice.paid_total - Invoice.credited_total
BUCKETS = tuple(AgingBucket.choices())


def _status_filter(query, status: str, today: date):
    if status == "open":
        return query.where(BALANCE > 0)
    if status == "overdue":
        return query.where(BALANCE > 0, Invoice.due_on < today)
    if status == "paid":
        return query.where(BALANCE <= 0)
    if status == "partly_paid":
        return query.where(BALANCE > 0, Invoice.paid_total > 0, Invoice.due_on >= today)
    if status == "issued":
        return query.where(BALANCE > 0, Invoice.paid_total == 0, Invoice.due_on >= today)
    return query


def _invoice_keys(sort: str) -> list[Key]:
    if sort == InvoiceSort.NUMBER:
        return [Key(Invoice.number), Key(Invoice.id)]
    if sort == InvoiceSort.ISSUED:
        return [Key(Invoice.issued_on, descending=True), Key(Invoice.id, descending=True)]
    if sort == InvoiceSort.BALANCE:
        return [Key(BALANCE, descending=True), Key(Invoice.number), Key(Invoice.id)]
    # What is owed first, the oldest due date first; then the paid ones.
    return [
        Key(case((BALANCE > 0, 0), else_=1)),
        Key(Invoice.due_on),
        Key(Invoice.number),
        Key(Invoice.id),
    ]


def list_invoices(session: Session, actor: Actor, query: InvoiceQuery) -> dict:
    """A page of the actor's invoices, filtered and sorted in SQL: two statements."""
    today = clock.today()
    base = scope(select(Invoice), actor, Invoice)
    if query.employer_id is not None:
        base = base.where(Invoice.employer_id == query.employer_id)
    if query.institution_id is not None:
        base = base.where(Invoice.institution_id == query.institution_id)
    base = _status_filter(base, query.status, today)
    page = paginate(
        session,
        base,
        query,
        name="invoices",
        scope=actor.organisation_id,
        keys=_invoice_keys(query.sort),
    )
    return reply(page, [invoice_summary(invoice, today) for (invoice,) in page["rows"]])


UNAPPLIED = CreditNote.total - CreditNote.applied_total


def _credit_note_keys(sort: str) -> list[Key]:
    if sort == CreditNoteSort.NUMBER:
        return [Key(CreditNote.number), Key(CreditNote.id)]
    if sort == CreditNoteSort.TOTAL:
        return [Key(CreditNote.total, descending=True), Key(CreditNote.id, descending=True)]
    newest = [Key(CreditNote.issued_on, descending=True), Key(CreditNote.id, descending=True)]
    if sort == CreditNoteSort.ISSUED:
        return newest
    # Credit still to apply first (work to do), then the newest.
    return [Key(case((UNAPPLIED > 0, 0), else_=1)), *newest]


def list_credit_notes(session: Session, actor: Actor, query: CreditNoteQuery) -> dict:
    """A page of the actor's credit notes, filtered and sorted in SQL: two statements."""
    base = scope(select(CreditNote), actor, CreditNote)
    if query.reason is not None:
        base = base.where(CreditNote.reason_kind == query.reason)
    if query.employer_id is not None:
        base = base.where(CreditNote.employer_id == query.employer_id)
    if query.institution_id is not None:
        base = base.where(CreditNote.institution_id == query.institution_id)
    page = paginate(
        session,
        base,
        query,
        name="credit_notes",
        scope=actor.organisation_id,
        keys=_credit_note_keys(query.sort),
    )
    return reply(page, [credit_note_summary(credit) for (credit,) in page["rows"]])


def invoices_to_issue(session: Session, actor: Actor) -> int:
    """Installments of the actor's institution due today or earlier, not yet invoiced."""
    if not actor.is_institution:
        return 0
    query = due_installments_query(clock.today(), actor.organisation_id)
    return session.scalar(select(func.count()).select_from(query.subquery()))


# -- statement per employer -----------------------------------------------------------------


def _organisation_name(session: Session, organisation_id: int) -> str:
    organisation = session.get(Organisation, organisation_id)
    return organisation.name if organisation else f"Organisation n° {organisation_id}"


def statement(session: Session, actor: Actor, employer_id: int | None = None) -> dict:
    """An employer's account: its invoices, payments and credit notes with a running balance.

    An employer gets its own (from every institution); an institution gets what it billed
    to ``employer_id``, or to every employer when none is given; the ministry names one.
    """
    if actor.is_employer:
        if employer_id not in (None, actor.organisation_id):
            raise not_found("Relevé introuvable.")
        employer_id = actor.organisation_id
    elif not (actor.is_institution or actor.is_ministry):
        raise forbidden()
    elif employer_id is None and actor.is_ministry:
        raise invalid("Choisissez l'organisation employeuse du relevé.", {"employer_id": "requis"})

    def of_employer(query, model):
        query = scope(query, actor, model)
        return query if employer_id is None else query.where(model.employer_id == employer_id)

    invoices = session.scalars(
        of_employer(select(Invoice), Invoice).order_by(Invoice.issued_on, Invoice.id)
    ).all()
    credits = session.scalars(
        of_employer(select(CreditNote), CreditNote).order_by(CreditNote.issued_on, CreditNote.id)
    ).all()
    payments = session.scalars(
        of_employer(select(Payment), Payment).order_by(Payment.paid_on, Payment.id)
    ).all()
    if actor.is_institution and employer_id is not None and not invoices:
        known = session.scalar(
            select(Estimate.id).where(
                Estimate.employer_id == employer_id,
                Estimate.institution_id == actor.organisation_id,
            )
        )
        if not known:
            raise not_found("Votre établissement n'a aucune facturation avec cette organisation.")
    numbers = {i.id: i.number for i in invoices}
    entries = []
    for invoice in invoices:
        entries.append(
            (
                invoice.issued_on,
                0,
                {
                    "date": invoice.issued_on.isoformat(),
                    "kind": "invoice",
                    "document": invoice.number,
                    "document_id": invoice.id,
                    "institution_name": invoice.parties["institution"]["name"],
                    "employer_name": invoice.parties["employer"]["name"],
                    "description": f"Facture — {invoice.plan_reference}",
                    "debit": str(invoice.total),
                    "credit": None,
                },
            )
        )
    for payment in payments:
        entries.append(
            (
                payment.paid_on,
                1,
                {
                    "date": payment.paid_on.isoformat(),
                    "kind": "payment",
                    "document": numbers.get(payment.invoice_id, ""),
                    "document_id": payment.invoice_id,
                    "institution_name": "",
                    "employer_name": "",
                    "description": f"Paiement reçu ({payment_view(payment)['method_label']})"
                    + (f" — {payment.reference}" if payment.reference else ""),
                    "debit": None,
                    "credit": str(payment.amount),
                },
            )
        )
    for credit in credits:
        entries.append(
            (
                credit.issued_on,
                2,
                {
                    "date": credit.issued_on.isoformat(),
                    "kind": "credit_note",
                    "document": credit.number,
                    "document_id": credit.id,
                    "institution_name": credit.parties["institution"]["name"],
                    "employer_name": credit.parties["employer"]["name"],
                    "description": f"Note de crédit — {credit.plan_reference}",
                    "debit": None,
                    "credit": str(credit.total),
                },
            )
        )
    entries.sort(key=lambda e: (e[0], e[1], e[2]["document_id"]))
    balance = ZERO
    lines = []
    for _, _, entry in entries:
        balance += Decimal(entry["debit"] or 0) - Decimal(entry["credit"] or 0)
        lines.append({**entry, "balance": str(balance)})
    today = clock.today()
    invoiced = sum((Decimal(i.total) for i in invoices), ZERO)
    paid = sum((Decimal(p.amount) for p in payments), ZERO)
    credited = sum((Decimal(c.total) for c in credits), ZERO)
    overdue = sum((i.balance for i in invoices if i.balance > 0 and i.due_on < today), ZERO)
    return {
        "employer_id": employer_id,
        "employer_name": (
            _organisation_name(session, employer_id)
            if employer_id is not None
            else "Toutes les organisations"
        ),
        "as_of": today.isoformat(),
        "lines": lines,
        "invoiced": str(invoiced),
        "paid": str(paid),
        "credited": str(credited),
        "balance": str(invoiced - paid - credited),
        "overdue": str(overdue),
        "open_invoices": [invoice_summary(i, today) for i in invoices if i.balance > 0],
        "credit_notes": [credit_note_summary(c) for c in credits],
    }


def statement_employers(session: Session, actor: Actor) -> list[dict]:
    """The employers an institution bills (for the statement's selector)."""
    if actor.is_employer:
        return [
            {
                "id": actor.organisation_id,
                "name": _organisation_name(session, actor.organisation_id),
            }
        ]
    ids = session.scalars(scope(select(Invoice.employer_id), actor, Invoice).distinct()).all()
    estimate_query = select(Estimate.employer_id).distinct()
    if not actor.is_ministry:
        estimate_query = estimate_query.where(Estimate.institution_id == actor.organisation_id)
    estimate_ids = session.scalars(estimate_query).all()
    every = sorted(set(ids) | set(estimate_ids))
    return sorted(
        ({"id": i, "name": _organisation_name(session, i)} for i in every),
        key=lambda item: item["name"],
    )


# -- aging report ---------------------------------------------------------------------------


def bucket_of(days_late: int) -> str:
    if days_late <= 0:
        return "current"
    if days_late <= 30:
        return "d1_30"
    if days_late <= 60:
        return "d31_60"
    if days_late <= 90:
        return "d61_90"
    return "d90_plus"


def aging(session: Session, actor: Actor, as_of: date | None = None) -> dict:
    """Open balances per employer by days past due, as of ``as_of`` (default today)."""
    ensure_institution(actor)
    as_of = as_of or clock.today()
    invoices = session.scalars(
        select(Invoice)
        .where(
            Invoice.institution_id == actor.organisation_id,
            Invoice.issued_on <= as_of,
            BALANCE > 0,
        )
        .order_by(Invoice.employer_id, Invoice.due_on)
    ).all()
    rows: dict[int, dict] = {}
    totals = {key: ZERO for key, _ in BUCKETS} | {"total": ZERO}
    for invoice in invoices:
        row = rows.setdefault(
            invoice.employer_id,
            {
                "employer_id": invoice.employer_id,
                "employer_name": invoice.parties["employer"]["name"],
                **{key: ZERO for key, _ in BUCKETS},
                "total": ZERO,
                "invoices": 0,
            },
        )
        bucket = bucket_of((as_of - invoice.due_on).days)
        row[bucket] += invoice.balance
        row["total"] += invoice.balance
        row["invoices"] += 1
        totals[bucket] += invoice.balance
        totals["total"] += invoice.balance
    ordered = sorted(rows.values(), key=lambda r: r["employer_name"])
    return {
        "as_of": as_of.isoformat(),
        "buckets": [{"key": key, "label": label} for key, label in BUCKETS],
        "rows": [
            {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
            for row in ordered
        ],
        "totals": {k: str(v) for k, v in totals.items()},
    }


# -- CSV --------------------------------------------------------------------------------------


def _csv_amount(value: str | None) -> str:
    return value.replace(".", ",") if value else ""


def _csv(header: list[str], rows: list[list[str]]) -> str:
    """Semicolon-separated, decimal comma, UTF-8 with BOM: what a French spreadsheet opens."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def aging_csv(report: dict) -> str:
    header = ["Organisation", "Factures", *[b["label"] for b in report["buckets"]], "Total"]
    keys = [b["key"] for b in report["buckets"]]
    rows = [
        [row["employer_name"], str(row["invoices"]), *[_csv_amount(row[k]) for k in keys]]
        + [_csv_amount(row["total"])]
        for row in report["rows"]
    ]
    rows.append(
        ["Total", "", *[_csv_amount(report["totals"][k]) for k in keys]]
        + [_csv_amount(report["totals"]["total"])]
    )
    return _csv(header, rows)


def statement_csv(report: dict) -> str:
    header = [
        "Date",
        "Document",
        "Établissement",
        "Organisation",
        "Description",
        "Débit",
        "Crédit",
        "Solde",
    ]
    rows = [
        [
            line["date"],
            line["document"],
            line["institution_name"],
            line["employer_name"],
            line["description"],
            _csv_amount(line["debit"]),
            _csv_amount(line["credit"]),
            _csv_amount(line["balance"]),
        ]
        for line in report["lines"]
    ]
    return _csv(header, rows)


# -- home page ----------------------------------------------------------------------------------


def home_summary(session: Session, actor: Actor) -> list[dict]:
    today = clock.today()
    actions: list[dict] = []
    if actor.is_institution:
        mine = Invoice.institution_id == actor.organisation_id
    elif actor.is_employer:
        mine = Invoice.employer_id == actor.organisation_id
    else:
        return actions
    count, open_count, overdue = session.execute(
        select(
            func.count(),
            func.count().filter(BALANCE > 0),
            func.count().filter(and_(BALANCE > 0, Invoice.due_on < today)),
        ).where(mine)
    ).one()
    if actor.is_institution:
        if overdue:
            actions.append(
                {
                    "label": "Factures en retard de paiement",
                    "url": "/facturation?statut=overdue",
                    "count": overdue,
                    "urgent": True,
                }
            )
        to_issue = invoices_to_issue(session, actor)
        if to_issue:
            actions.append(
                {
                    "label": "Versements échus à facturer",
                    "url": "/facturation#a-facturer",
                    "count": to_issue,
                    "urgent": False,
                }
            )
    elif open_count:
        label = "Factures à payer"
        if overdue:
            label += f", dont {overdue} en retard"
        actions.append(
            {
                "label": label,
                "url": "/facturation?statut=open",
                "count": open_count,
                "urgent": bool(overdue),
            }
        )
    if count and not actions:
        actions.append(
            {
                "label": "Consulter vos factures",
                "url": "/facturation",
                "count": None,
                "urgent": False,
            }
        )
    return actions


def scheduled_installments(session: Session, actor: Actor, limit: int = 50) -> list[dict]:
    """The next installments of the institution's accepted plans (for the invoices page)."""
    if not actor.is_institution:
        return []
    rows = session.execute(
        select(Installment, Estimate.reference)
        .join(Estimate, Estimate.id == Installment.estimate_id)
        .where(
            Installment.institution_id == actor.organisation_id,
            Installment.status == "scheduled",
        )
        .order_by(Installment.due_on.is_(None), Installment.due_on, Installment.id)
        .limit(limit)
    ).all()
    today = clock.today()
    return [
        {
            "id": i.id,
            "plan_id": i.plan_id,
            "plan_reference": reference,
            "version": i.version,
            "label": i.label,
            "position": i.position,
            "count": i.count,
            "amount": str(i.amount),
            "due_on": i.due_on.isoformat() if i.due_on else None,
            "milestone": i.milestone,
            "due": i.due_on is not None and i.due_on <= today,
        }
        for i, reference in rows
    ]


# -- one plan, the institution's profile --------------------------------------------------------


def plan_billing(session: Session, actor: Actor, plan_id: int) -> dict:
    """Installments, invoices and credit notes of one plan, as its parties see them."""
    from services.billing.models import BillingPlan

    plan = session.get(BillingPlan, plan_id)
    empty = {"plan_id": plan_id, "status": None, "accepted_version": None, "installments": []}
    if plan is None or not (
        actor.is_ministry or actor.organisation_id in (plan.institution_id, plan.employer_id)
    ):
        return {**empty, "invoices": [], "credit_notes": [], "totals": None}
    today = clock.today()
    installments = session.scalars(
        select(Installment)
        .where(Installment.plan_id == plan_id)
        .order_by(Installment.version, Installment.position)
    ).all()
    invoices = session.scalars(
        select(Invoice).where(Invoice.plan_id == plan_id).order_by(Invoice.issued_on, Invoice.id)
    ).all()
    credits = session.scalars(
        select(CreditNote).where(CreditNote.plan_id == plan_id).order_by(CreditNote.id)
    ).all()
    invoiced = sum((Decimal(i.total) for i in invoices), ZERO)
    paid = sum((Decimal(i.paid_total) for i in invoices), ZERO)
    credited = sum((Decimal(c.total) for c in credits), ZERO)
    return {
        "plan_id": plan_id,
        "status": plan.status,
        "accepted_version": plan.accepted_version,
        "installments": [
            {
                "id": i.id,
                "version": i.version,
                "position": i.position,
                "count": i.count,
                "label": i.label,
                "amount": str(i.amount),
                "milestone": i.milestone,
                "due_on": i.due_on.isoformat() if i.due_on else None,
                "status": i.status,
                "invoice_id": i.invoice_id,
                "cancelled_reason": i.cancelled_reason,
            }
            for i in installments
        ],
        "invoices": [invoice_summary(i, today) for i in invoices],
        "credit_notes": [credit_note_summary(c) for c in credits],
        "totals": {
            "invoiced": str(invoiced),
            "paid": str(paid),
            "credited": str(credited),
            "balance": str(invoiced - paid - credited),
        },
    }


def profile_view(organisation: Organisation | None, organisation_id: int) -> dict:
    return {
        "organisation_id": organisation_id,
        "name": organisation.name if organisation else "",
        "code": organisation.code if organisation else "",
        "gst_number": (organisation.gst_number or "") if organisation else "",
        "qst_number": (organisation.qst_number or "") if organisation else "",
        "payment_instructions": (organisation.payment_instructions or "") if organisation else "",
    }
