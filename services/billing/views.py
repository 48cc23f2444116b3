"""Views of invoices, credit notes and payments (amounts as strings): the replies of
``rac_shared/contracts/billing.py`` (``InvoiceView``…) and what the documents render."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.contracts.billing import CreditReason, InvoiceKind, InvoiceStatus
from services.billing.estimates import rate_label
from services.billing.models import CreditAllocation, CreditNote, Invoice, Payment
from services.billing.payments import method_label

STATUS_LABELS = InvoiceStatus.labels()
KIND_LABELS = InvoiceKind.labels()
REASON_LABELS = CreditReason.labels()


def invoice_status(invoice: Invoice, today: date | None = None) -> str:
    today = today or clock.today()
    if invoice.balance <= 0:
        return "paid" if Decimal(invoice.paid_total) > 0 else "credited"
    if today > invoice.due_on:
        return "overdue"
    if Decimal(invoice.paid_total) > 0:
        return "partly_paid"
    return "issued"


def _taxes(taxes: list[dict]) -> list[dict]:
    return [{**t, "rate_label": rate_label(t["rate"])} for t in taxes]


def invoice_summary(invoice: Invoice, today: date | None = None) -> dict:
    today = today or clock.today()
    status = invoice_status(invoice, today)
    return {
        "id": invoice.id,
        "number": invoice.number,
        "kind": invoice.kind,
        "kind_label": KIND_LABELS.get(invoice.kind, invoice.kind),
        "institution_id": invoice.institution_id,
        "institution_name": invoice.parties["institution"]["name"],
        "employer_id": invoice.employer_id,
        "employer_name": invoice.parties["employer"]["name"],
        "plan_id": invoice.plan_id,
        "plan_reference": invoice.plan_reference,
        "issued_on": invoice.issued_on.isoformat(),
        "due_on": invoice.due_on.isoformat(),
        "total": str(invoice.total),
        "paid": str(invoice.paid_total),
        "credited": str(invoice.credited_total),
        "balance": str(invoice.balance),
        "status": status,
        "status_label": STATUS_LABELS[status],
        "days_late": max((today - invoice.due_on).days, 0) if status == "overdue" else 0,
        "description": invoice.lines[0]["description"] if invoice.lines else "",
    }


def payment_view(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "invoice_id": payment.invoice_id,
        "paid_on": payment.paid_on.isoformat(),
        "amount": str(payment.amount),
        "method": payment.method,
        "method_label": method_label(payment.method),
        "reference": payment.reference,
        "source": payment.source,
    }


def invoice_view(session: Session, invoice: Invoice) -> dict:
    allocations = session.execute(
        select(CreditAllocation, CreditNote.number)
        .join(CreditNote, CreditNote.id == CreditAllocation.credit_note_id)
        .where(CreditAllocation.invoice_id == invoice.id)
        .order_by(CreditAllocation.id)
    ).all()
    return {
        **invoice_summary(invoice),
        "fiscal_year": invoice.fiscal_year,
        "version": invoice.version,
        "payment_term_days": invoice.payment_term_days,
        "lines": invoice.lines,
        "subtotal": str(invoice.subtotal),
        "taxes": _taxes(invoice.taxes),
        "parties": invoice.parties,
        "payment_instructions": invoice.payment_instructions,
        "payments": [payment_view(p) for p in invoice.payments],
        "credits": [
            {
                "credit_note_id": allocation.credit_note_id,
                "number": number,
                "amount": str(allocation.amount),
                "applied_on": allocation.applied_on.isoformat(),
            }
            for allocation, number in allocations
        ],
    }


def credit_note_summary(credit: CreditNote) -> dict:
    return {
        "id": credit.id,
        "number": credit.number,
        "reason_kind": credit.reason_kind,
        "reason_label": REASON_LABELS.get(credit.reason_kind, credit.reason_kind),
        "reason": credit.reason,
        "institution_id": credit.institution_id,
        "institution_name": credit.parties["institution"]["name"],
        "employer_id": credit.employer_id,
        "employer_name": credit.parties["employer"]["name"],
        "plan_id": credit.plan_id,
        "plan_reference": credit.plan_reference,
        "invoice_id": credit.invoice_id,
        "issued_on": credit.issued_on.isoformat(),
        "total": str(credit.total),
        "applied": str(credit.applied_total),
        "unapplied": str(credit.unapplied),
    }


def credit_note_view(session: Session, credit: CreditNote) -> dict:
    allocations = session.execute(
        select(CreditAllocation, Invoice.number)
        .join(Invoice, Invoice.id == CreditAllocation.invoice_id)
        .where(CreditAllocation.credit_note_id == credit.id)
        .order_by(CreditAllocation.id)
    ).all()
    return {
        **credit_note_summary(credit),
        "fiscal_year": credit.fiscal_year,
        "lines": credit.lines,
        "subtotal": str(credit.subtotal),
        "taxes": _taxes(credit.taxes),
        "parties": credit.parties,
        "allocations": [
            {
                "invoice_id": allocation.invoice_id,
                "number": number,
                "amount": str(allocation.amount),
                "applied_on": allocation.applied_on.isoformat(),
            }
            for allocation, number in allocations
        ],
    }
