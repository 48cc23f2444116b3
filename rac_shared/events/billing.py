"""Events published by the billing service (invoices, payments, credit notes, CERAC funding;
amounts are Decimal strings)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from rac_shared.events.base import EventPayload


class EstimateSaved(EventPayload):
    """An estimate of a plan version was saved (created or replaced): the plans service keeps
    the latest per version (``revision``) to issue without asking billing.
    ``snapshot`` is the contract's ``EstimateSnapshot`` as JSON."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "estimate.saved"

    plan_id: int
    version: int
    revision: int
    snapshot: dict


class InvoiceIssued(EventPayload):
    """An invoice was issued (immutable from now on): notifications e-mails it to the
    employer with its PDF (``billing.invoice_pdf_for_delivery``)."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "invoice.issued"

    invoice_id: int
    number: str
    institution_id: int
    employer_id: int
    plan_id: int
    plan_reference: str
    issued_on: date
    due_on: date
    total: Decimal


class InvoiceOverdue(EventPayload):
    """An invoice is ``days_late`` days past due and reached reminder step ``step``."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "invoice.overdue"

    invoice_id: int
    number: str
    institution_id: int
    employer_id: int
    plan_reference: str
    due_on: date
    step: int
    days_late: int
    balance: Decimal


class PaymentRecorded(EventPayload):
    """The institution recorded a payment (by hand or from a bank file) on an invoice."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "payment.recorded"

    payment_id: int
    invoice_id: int
    number: str
    institution_id: int
    employer_id: int
    paid_on: date
    amount: Decimal
    method: str
    balance: Decimal


class CreditNoteApplication(BaseModel):
    """Part of a credit note applied, when it was issued, to an invoice's balance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invoice_number: str
    amount: Decimal


class CreditNoteIssued(EventPayload):
    """A credit note was issued (abandonment pro rata, cancellation, replaced estimate):
    notifications e-mails it to the employer with its PDF
    (``billing.credit_note_pdf_for_delivery``)."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "credit_note.issued"

    credit_note_id: int
    number: str
    institution_id: int
    employer_id: int
    plan_id: int
    plan_reference: str
    issued_on: date
    total: Decimal
    reason: str
    # Added for the notice sent to the employer; older messages parse without them.
    reason_kind: str = ""  # abandonment | cancellation | amendment
    applications: list[CreditNoteApplication] = Field(default_factory=list)
    unapplied: Decimal | None = None  # left for the plan's next invoices, or owed back


class FundingAllocationRecorded(EventPayload):
    """The ministry recorded an operating allocation for a CERAC and fiscal year."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "funding.allocation_recorded"

    allocation_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    fiscal_year: str  # "2025-2026" (April 1 to March 31)
    amount: Decimal
    operating_total_for_year: Decimal
    operating_cap: Decimal
    recorded_by_user_id: int


class FundingProjectSubmitted(EventPayload):
    """A CERAC submitted a development project for the ministry's decision."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "funding.project_submitted"

    project_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    title: str
    mandate_part: str  # offer | quality | development
    requested_amount: Decimal
    submitted_by_user_id: int


class FundingProjectDecided(EventPayload):
    """The ministry approved, adjusted or refused a development project."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "funding.project_decided"

    project_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    title: str
    decision: str  # approved | adjusted | refused
    requested_amount: Decimal
    approved_amount: Decimal | None = None
    reason: str = ""
    decided_by_user_id: int


class FundingDisbursementPaid(EventPayload):
    """A scheduled disbursement (allocation or project) was paid to the CERAC."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "funding.disbursement_paid"

    disbursement_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    fiscal_year: str
    amount: Decimal
    paid_on: date
    allocation_id: int | None = None
    project_id: int | None = None


class FundingDisbursementReleased(EventPayload):
    """A disbursement held until the previous year's report was accepted is now payable."""

    source: ClassVar[str] = "billing"
    event_type: ClassVar[str] = "funding.disbursement_released"

    disbursement_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    fiscal_year: str
    amount: Decimal
    report_id: int
    report_period_label: str
