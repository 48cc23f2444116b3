"""Tables of the billing service. Nobody else reads them: other services ask by RPC.

Money is ``Numeric(14, 2)`` read back as ``Decimal``; it is rounded only by
``rac_shared.formatting.round_money``. Issued invoices and credit notes are immutable (see
``IMMUTABLE_AFTER_ISSUE`` and the guard below): a correction is a credit note. Only the
running totals ``paid_total``/``credited_total``/``applied_total`` move afterwards.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from rac_shared.db import new_metadata
from rac_shared.outbox import install_reliability_tables
from rac_shared.reply_cache import install_generation_table
from rac_shared.scheduler import install_job_ledger
from rac_shared.tasks import TaskColumns

ID = BigInteger().with_variant(Integer(), "sqlite")
MONEY = Numeric(14, 2)


class Base(DeclarativeBase):
    metadata = new_metadata()


install_reliability_tables(Base.metadata)
install_job_ledger(Base.metadata)
install_generation_table(Base.metadata)  # bumped at each commit that changes data

# estimate status
DRAFT = "draft"
FROZEN = "frozen"
# installment status
SCHEDULED = "scheduled"
INVOICED = "invoiced"
CANCELLED = "cancelled"
# plan status in billing
PLAN_ACTIVE = "active"
PLAN_CANCELLED = "cancelled"
# invoice kinds
KIND_INSTALLMENT = "installment"
KIND_ABANDONMENT = "abandonment_fee"
KIND_CANCELLATION_COSTS = "cancellation_costs"  # the final invoice of a cancelled plan
# counter kinds
COUNTER_INVOICE = "invoice"
COUNTER_CREDIT = "credit_note"


class Organisation(Base):
    """The billing service's copy of a party (institution or employer), taken from the
    gateway's directory by RPC when an estimate is saved, plus what only billing keeps:
    tax registration numbers and payment instructions of an institution."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(30))
    code: Mapped[str] = mapped_column(String(10))  # prefix of invoice numbers
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    gst_number: Mapped[str | None] = mapped_column(String(40))  # TPS
    qst_number: Mapped[str | None] = mapped_column(String(40))  # TVQ
    payment_instructions: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TaxRate(Base):
    """A sales tax rate in force from ``valid_from`` (inclusive) to ``valid_to`` (exclusive);
    ``compounded``: computed on the price plus the taxes before it (the TVQ until 2012)."""

    __tablename__ = "tax_rates"
    __table_args__ = (UniqueConstraint("name", "valid_from", name="uq_tax_rates_name_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(10))  # TPS | TVQ
    rate: Mapped[Decimal] = mapped_column(Numeric(8, 5))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    compounded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Estimate(Base):
    """The cost estimate of one version of a plan (draft until the plan is issued)."""

    __tablename__ = "estimates"
    __table_args__ = (UniqueConstraint("plan_id", "version", name="uq_estimates_plan_version"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(80))
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    employer_id: Mapped[int] = mapped_column(Integer, index=True)
    candidate_count: Mapped[int] = mapped_column(Integer)
    accepted_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    priced_on: Mapped[date] = mapped_column(Date)  # rates in force on this date
    subtotal: Mapped[Decimal] = mapped_column(MONEY)
    taxable_base: Mapped[Decimal] = mapped_column(MONEY)
    taxes: Mapped[list] = mapped_column(JSON)  # [{"name", "rate", "base", "amount"}]
    total: Mapped[Decimal] = mapped_column(MONEY)
    payment_term_days: Mapped[int] = mapped_column(Integer)
    refund_conditions: Mapped[str] = mapped_column(Text, default="")
    abandonment_fee: Mapped[Decimal] = mapped_column(MONEY)
    abandonment_fee_taxable: Mapped[bool] = mapped_column(Boolean, default=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    frozen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list[EstimateLine]] = relationship(
        back_populates="estimate",
        order_by="EstimateLine.position",
        cascade="all, delete-orphan",
    )
    schedule: Mapped[list[EstimateInstallment]] = relationship(
        back_populates="estimate",
        order_by="EstimateInstallment.position",
        cascade="all, delete-orphan",
    )


class EstimateLine(Base):
    __tablename__ = "estimate_lines"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    estimate_id: Mapped[int] = mapped_column(ForeignKey("estimates.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(60))
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    tax: Mapped[str] = mapped_column(String(10))  # taxable | exempt
    amount: Mapped[Decimal] = mapped_column(MONEY)

    estimate: Mapped[Estimate] = relationship(back_populates="lines")


class EstimateInstallment(Base):
    """One installment of the payment conditions, with its computed share of the total."""

    __tablename__ = "estimate_installments"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    estimate_id: Mapped[int] = mapped_column(ForeignKey("estimates.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    fixed_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    due_kind: Mapped[str] = mapped_column(String(10))  # date | milestone
    due_date: Mapped[date | None] = mapped_column(Date)
    milestone: Mapped[str | None] = mapped_column(String(30))
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    subtotal: Mapped[Decimal] = mapped_column(MONEY)
    taxable_base: Mapped[Decimal] = mapped_column(MONEY)
    taxes: Mapped[list] = mapped_column(JSON)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    estimate: Mapped[Estimate] = relationship(back_populates="schedule")


class BillingPlan(Base):
    """What billing knows of a plan: its accepted version, milestones and cancellation."""

    __tablename__ = "plans"

    plan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reference: Mapped[str] = mapped_column(String(80))
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    employer_id: Mapped[int] = mapped_column(Integer, index=True)
    accepted_version: Mapped[int | None] = mapped_column(Integer)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=PLAN_ACTIVE)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    # The candidate-workers of the version in force at the cancellation ([{"candidate_id",
    # "full_name"}], from ``plan.cancelled``): the costs incurred are recorded per person.
    candidates: Mapped[list | None] = mapped_column(JSON)


class PlanMilestone(Base):
    __tablename__ = "plan_milestones"
    __table_args__ = (UniqueConstraint("plan_id", "milestone", name="uq_plan_milestones"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer, index=True)
    milestone: Mapped[str] = mapped_column(String(30))
    reached_on: Mapped[date] = mapped_column(Date)


class Installment(Base):
    """A due installment of an accepted plan: invoiced once, by whichever job claims it."""

    __tablename__ = "installments"
    __table_args__ = (
        # The claim: WHERE status = … AND due_on <= … ORDER BY due_on, id LIMIT n, read in
        # index order (no sort of every due row per batch).
        Index("ix_installments_claim", "status", "due_on", "id"),
        UniqueConstraint("plan_id", "version", "position", name="uq_installments_position"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    estimate_id: Mapped[int] = mapped_column(ForeignKey("estimates.id"))
    position: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)  # number of installments of the schedule
    label: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    employer_id: Mapped[int] = mapped_column(Integer)
    subtotal: Mapped[Decimal] = mapped_column(MONEY)
    taxable_base: Mapped[Decimal] = mapped_column(MONEY)
    taxes: Mapped[list] = mapped_column(JSON)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    due_kind: Mapped[str] = mapped_column(String(10))
    milestone: Mapped[str | None] = mapped_column(String(30))
    offset_days: Mapped[int] = mapped_column(Integer, default=0)
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=SCHEDULED)
    invoice_id: Mapped[int | None] = mapped_column(ID)
    cancelled_reason: Mapped[str | None] = mapped_column(String(300))


class InvoiceCounter(Base):
    """Last number used per institution, fiscal year and kind: locked FOR UPDATE while a
    number is taken, in the transaction that issues the document (gapless)."""

    __tablename__ = "invoice_counters"

    institution_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("institution_id", "fiscal_year", "sequence", name="uq_invoices_sequence"),
        # The lists' keyset orders within a tenant: by due date (what is owed first) and by
        # date of issue.
        Index("ix_invoices_institution_due", "institution_id", "due_on", "number"),
        Index("ix_invoices_employer_due", "employer_id", "due_on", "number"),
        Index("ix_invoices_institution_issued", "institution_id", "issued_on", "id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    employer_id: Mapped[int] = mapped_column(Integer, index=True)
    plan_id: Mapped[int] = mapped_column(Integer, index=True)
    plan_reference: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    # A second safety net under the job's claim: one invoice per installment, ever.
    installment_id: Mapped[int | None] = mapped_column(ID, unique=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    payment_term_days: Mapped[int] = mapped_column(Integer)
    lines: Mapped[list] = mapped_column(JSON)
    subtotal: Mapped[Decimal] = mapped_column(MONEY)
    taxes: Mapped[list] = mapped_column(JSON)
    total: Mapped[Decimal] = mapped_column(MONEY)
    parties: Mapped[dict] = mapped_column(JSON)  # snapshot of institution and employer
    payment_instructions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # running totals (not part of the issued document)
    paid_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    credited_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))

    payments: Mapped[list[Payment]] = relationship(back_populates="invoice", order_by="Payment.id")

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid_total - self.credited_total


class CreditNote(Base):
    __tablename__ = "credit_notes"
    __table_args__ = (
        UniqueConstraint(
            "institution_id", "fiscal_year", "sequence", name="uq_credit_notes_sequence"
        ),
        Index("ix_credit_notes_institution_issued", "institution_id", "issued_on", "id"),
        Index("ix_credit_notes_employer_issued", "employer_id", "issued_on", "id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    reason_kind: Mapped[str] = mapped_column(String(20))  # abandonment | cancellation | amendment
    reason: Mapped[str] = mapped_column(Text)
    # What the credit note answers, once (e.g. "abandonment:12:345"): redelivery-proof.
    source_key: Mapped[str] = mapped_column(String(120), unique=True)
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    employer_id: Mapped[int] = mapped_column(Integer, index=True)
    plan_id: Mapped[int] = mapped_column(Integer, index=True)
    plan_reference: Mapped[str] = mapped_column(String(80))
    invoice_id: Mapped[int | None] = mapped_column(ID)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    lines: Mapped[list] = mapped_column(JSON)
    subtotal: Mapped[Decimal] = mapped_column(MONEY)
    taxes: Mapped[list] = mapped_column(JSON)
    total: Mapped[Decimal] = mapped_column(MONEY)
    parties: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applied_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))

    @property
    def unapplied(self) -> Decimal:
        return self.total - self.applied_total


class CreditAllocation(Base):
    """Part of a credit note applied to an invoice's balance."""

    __tablename__ = "credit_allocations"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    applied_on: Mapped[date] = mapped_column(Date)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    employer_id: Mapped[int] = mapped_column(Integer, index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(120), default="")
    source: Mapped[str] = mapped_column(String(10))  # manual | import
    # Bank-file lines already imported are recognised and skipped on a second import.
    import_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    invoice: Mapped[Invoice] = relationship(back_populates="payments")


class OverdueReminder(Base):
    __tablename__ = "overdue_reminders"
    __table_args__ = (UniqueConstraint("invoice_id", "step", name="uq_overdue_reminders"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    days_late: Mapped[int] = mapped_column(Integer)
    sent_on: Mapped[date] = mapped_column(Date)


class Abandonment(Base):
    __tablename__ = "abandonments"
    __table_args__ = (UniqueConstraint("plan_id", "candidate_id", name="uq_abandonments"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer, index=True)
    candidate_id: Mapped[int] = mapped_column(Integer)
    abandoned_on: Mapped[date] = mapped_column(Date)
    after_validation_interview: Mapped[bool] = mapped_column(Boolean)
    work_done_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    fee_invoice_id: Mapped[int | None] = mapped_column(ID)
    credit_note_id: Mapped[int | None] = mapped_column(ID)


class CancellationCosts(Base):
    """The costs incurred on a cancelled plan since its last billed installment (annex A,
    1 d), as the institution recorded them, and the final invoice they gave. One per plan:
    recording the same quantities again returns this row, never a second invoice."""

    __tablename__ = "cancellation_costs"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer, unique=True)
    version: Mapped[int] = mapped_column(Integer)
    # [{"line", "candidate_id", "quantity"}]: quantities against the estimate's lines.
    items: Mapped[list] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))  # of the items, to spot a repeat
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    recorded_by_user_id: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Document(Base):
    """A rendered PDF (invoice or credit note), made on first download and kept."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("kind", "owner_id", name="uq_documents_owner"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # invoice | credit_note
    owner_id: Mapped[int] = mapped_column(ID)
    filename: Mapped[str] = mapped_column(String(120))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    rendered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- immutability of issued documents ---------------------------------------------------

MUTABLE_AFTER_ISSUE = {
    Invoice: {"paid_total", "credited_total"},
    CreditNote: {"applied_total"},
}


class ImmutableDocumentError(RuntimeError):
    """An issued invoice or credit note was about to change: corrections are credit notes."""


def _guard_issued(mapper, connection, target) -> None:
    allowed = MUTABLE_AFTER_ISSUE[type(target)]
    state = inspect(target)
    changed = {
        attr.key for attr in state.attrs if attr.history.has_changes() and attr.key not in allowed
    }
    changed -= {"payments"}  # a relationship, not a column
    if changed:
        raise ImmutableDocumentError(
            f"{type(target).__name__} {target.number} is issued; cannot change {sorted(changed)}"
        )


def _refuse_delete(mapper, connection, target) -> None:
    raise ImmutableDocumentError(f"{type(target).__name__} {target.number} cannot be deleted")


for _cls in MUTABLE_AFTER_ISSUE:
    event.listen(_cls, "before_update", _guard_issued)
    event.listen(_cls, "before_delete", _refuse_delete)


# -- funding of designated CERACs (issue 9) ----------------------------------------------------

# development project status
PROJECT_SUBMITTED = "submitted"
PROJECT_APPROVED = "approved"
PROJECT_ADJUSTED = "adjusted"
PROJECT_REFUSED = "refused"
# disbursement status
DISBURSEMENT_SCHEDULED = "scheduled"
DISBURSEMENT_PAID = "paid"


class FundingCerac(Base):
    """Billing's own record of a designated CERAC, built from ``cerac.designated``.

    ``cerac_id`` is the scoring service's id. The row is locked (FOR UPDATE) while an
    operating allocation is checked against the cap, so two allocations recorded at the same
    time cannot both pass it. ``organisation_id`` is empty for CERACs designated before the
    platform (2013 archives): nobody signs in for them.
    """

    __tablename__ = "funding_ceracs"

    cerac_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200))
    education_order: Mapped[str] = mapped_column(String(20))
    mandate_parts: Mapped[list] = mapped_column(JSON)
    experimentation_years: Mapped[list] = mapped_column(JSON)
    designated_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OperatingAllocation(Base):
    """An operating allocation of one fiscal year ("2025-2026"); several in a year add up
    against the yearly cap in force on the fiscal year's first day."""

    __tablename__ = "funding_allocations"
    __table_args__ = (Index("ix_funding_allocations_cerac_year", "cerac_id", "fiscal_year"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    cerac_id: Mapped[int] = mapped_column(ForeignKey("funding_ceracs.cerac_id"))
    fiscal_year: Mapped[str] = mapped_column(String(9))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_user_id: Mapped[int] = mapped_column(Integer)
    recorded_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    disbursements: Mapped[list[FundingDisbursement]] = relationship(
        back_populates="allocation", order_by="FundingDisbursement.position"
    )


class FundingProject(Base):
    """A development project submitted by a CERAC; an approved (or adjusted) amount is
    funding outside the operating cap. Its fiscal year is that of its period's start."""

    __tablename__ = "funding_projects"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    cerac_id: Mapped[int] = mapped_column(ForeignKey("funding_ceracs.cerac_id"), index=True)
    fiscal_year: Mapped[str] = mapped_column(String(9), index=True)
    title: Mapped[str] = mapped_column(String(200))
    mandate_part: Mapped[str] = mapped_column(String(20))  # offer | quality | development
    objectives: Mapped[str] = mapped_column(Text)
    budget_lines: Mapped[list] = mapped_column(JSON)  # [{"label", "amount"}]
    requested_amount: Mapped[Decimal] = mapped_column(MONEY)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=PROJECT_SUBMITTED)
    approved_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_by_user_id: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by_user_id: Mapped[int | None] = mapped_column(Integer)
    decided_on: Mapped[date | None] = mapped_column(Date)

    disbursements: Mapped[list[FundingDisbursement]] = relationship(
        back_populates="project", order_by="FundingDisbursement.position"
    )


class FundingDisbursement(Base):
    """One scheduled payment to a CERAC, of an allocation or of an approved project.

    ``hold_report_year`` holds it until the CERAC's report of that experimentation year is
    accepted (``released_on`` then set); a held disbursement cannot be paid.
    """

    __tablename__ = "funding_disbursements"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    cerac_id: Mapped[int] = mapped_column(ForeignKey("funding_ceracs.cerac_id"), index=True)
    allocation_id: Mapped[int | None] = mapped_column(
        ForeignKey("funding_allocations.id"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(ForeignKey("funding_projects.id"), index=True)
    fiscal_year: Mapped[str] = mapped_column(String(9))
    position: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    hold_report_year: Mapped[str | None] = mapped_column(String(9))
    released_on: Mapped[date | None] = mapped_column(Date)
    released_by_report_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=DISBURSEMENT_SCHEDULED)
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str] = mapped_column(String(120), default="")
    paid_by_user_id: Mapped[int | None] = mapped_column(Integer)

    allocation: Mapped[OperatingAllocation | None] = relationship(back_populates="disbursements")
    project: Mapped[FundingProject | None] = relationship(back_populates="disbursements")

    @property
    def held(self) -> bool:
        return (
            self.hold_report_year is not None
            and self.released_on is None
            and self.status != DISBURSEMENT_PAID
        )


class AcceptedReport(Base):
    """A yearly report the ministry accepted (``cerac.report_accepted``): a disbursement
    held on that year afterwards is payable at once."""

    __tablename__ = "funding_accepted_reports"
    __table_args__ = (
        UniqueConstraint("cerac_id", "period_label", name="uq_funding_accepted_reports"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cerac_id: Mapped[int] = mapped_column(Integer)
    period_label: Mapped[str] = mapped_column(String(9))
    report_id: Mapped[int] = mapped_column(Integer)
    accepted_on: Mapped[date] = mapped_column(Date)


class BillingTask(TaskColumns, Base):
    """Work an institution's staff asked for and waits for, done off the request by the
    service's worker (``services/billing/tasks.py``): an invoicing run (the installments due)
    or a bank-file import. The common columns are the shared ones (``rac_shared.tasks``).
    ``pending_key`` is set while the task is queued or running and cleared when it ends: its
    unique constraint makes two clicks (or two replicas' requests) one task — one invoicing
    run per institution at a time, one import per file's content. The finished rows are the
    institution's history of runs and imports."""

    __tablename__ = "billing_tasks"
    __table_args__ = (
        UniqueConstraint("pending_key", name="uq_billing_tasks_pending_key"),
        Index("ix_billing_tasks_institution_requested", "institution_id", "requested_at"),
    )

    institution_id: Mapped[int] = mapped_column(Integer)
    pending_key: Mapped[str | None] = mapped_column(String(120))
    filename: Mapped[str | None] = mapped_column(String(255))  # an import's file
    content: Mapped[str | None] = deferred(mapped_column(Text))  # an import's text
    result: Mapped[dict | None] = mapped_column(JSON)  # the run's numbers, the import's report
    error_details: Mapped[dict | None] = mapped_column(JSON)  # a refused file's lines
