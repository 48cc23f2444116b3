"""Event contracts: the versioned facts services publish to each other.

Every event travels in an ``Envelope`` (``event_id``, ``event_type``, ``version``,
``occurred_at``, ``correlation_id``, ``payload``). Payloads are pydantic models declared
here, in the shared package, because they are the contract between services: the
publisher and every consumer import the same class.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from rac_shared.clock import clock

P = TypeVar("P", bound="EventPayload")

REGISTRY: dict[tuple[str, int], type[EventPayload]] = {}


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: ClassVar[str]
    event_type: ClassVar[str]
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            REGISTRY[(cls.event_type, cls.version)] = cls


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str
    version: int
    source: str
    occurred_at: datetime = Field(default_factory=clock.now)
    correlation_id: str | None = None
    payload: dict

    @classmethod
    def wrap(cls, payload: EventPayload, correlation_id: str | None = None) -> Envelope:
        return cls(
            event_type=payload.event_type,
            # The class's schema version: a payload may have a field named ``version``.
            version=type(payload).version,
            source=payload.source,
            correlation_id=correlation_id,
            payload=payload.model_dump(mode="json"),
        )

    def payload_as(self, payload_cls: type[P]) -> P:
        if (self.event_type, self.version) != (payload_cls.event_type, payload_cls.version):
            raise ValueError(
                f"cannot read {self.event_type} v{self.version} as "
                f"{payload_cls.event_type} v{payload_cls.version}"
            )
        return payload_cls.model_validate(self.payload)


# --- gateway (identity) ---------------------------------------------------------------


class PasswordResetRequested(EventPayload):
    """A user asked for a password reset: notifications e-mails the link."""

    source: ClassVar[str] = "gateway"
    event_type: ClassVar[str] = "user.password_reset_requested"

    user_id: int
    email: str
    full_name: str
    reset_url: str
    expires_at: datetime


# --- applications (calls for interest and CERAC applications) ------------------------


class CallPublished(EventPayload):
    """The ministry published a call for interest: institutions may apply."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "call.published"

    call_id: int
    title: str
    education_orders: list[str]
    launch_date: date
    deadline_date: date
    designation_date: date | None = None


class CallAmended(EventPayload):
    """A published call changed by an explicit amendment; every institution that started
    an application (``organisation_ids``) is to be told."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "call.amended"

    call_id: int
    title: str
    amendment_number: int
    reason: str
    changes: dict
    deadline_date: date
    organisation_ids: list[int]


class ApplicationSubmitted(EventPayload):
    """An institution deposited its application electronically (before the deadline)."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "application.submitted"

    application_id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    reference: str
    submitted_at: datetime
    submitted_by_user_id: int
    content_sha256: str


class AdmissibilityRuleOutcome(BaseModel):
    """One admissibility rule as decided: the computed result and the analyst's verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    label: str
    passed: bool
    computed_passed: bool
    reason: str
    justification: str = ""


class ApplicationAdmissibilityDecided(EventPayload):
    """The ministry recorded « recevable » or « non recevable » for an application."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "application.admissibility_decided"

    application_id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    reference: str
    admissible: bool
    decision: str  # recevable | non_recevable
    rules: list[AdmissibilityRuleOutcome]
    comment: str = ""
    decided_by_user_id: int
    decided_at: datetime


class ApplicationWithdrawn(EventPayload):
    """An institution withdrew its application before the deadline."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "application.withdrawn"

    application_id: int
    call_id: int
    organisation_id: int
    withdrawn_at: datetime


# --- plans (workplace RAC implementation plans; contract with billing) -----------------

# The contract names the plan's version ``version``; the envelope reads the schema version
# from the class (``Envelope.wrap``), so the field shadowing the ClassVar is intended.
warnings.filterwarnings(
    "ignore", message=r'Field name "version" in "Plan\w+" shadows an attribute in parent'
)


class PlanIssued(EventPayload):
    """An institution issued a version of a plan: the employer has until
    ``acceptance_deadline`` (end of the 30th day after ``issued_on``, Montréal) to accept it."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.issued"

    plan_id: int
    version: int
    reference: str
    institution_id: int
    employer_id: int
    issued_on: date
    acceptance_deadline: datetime
    content_hash: str
    # A written amendment of the version in force (``amends_version``, issued on
    # ``amends_issued_on``), which stays in force until this one is accepted; None for an
    # offer of a plan not yet accepted. ``replaces_version``: the issued version this one
    # replaces (withdrawn or declined). Defaults keep older messages readable.
    amends_version: int | None = None
    amends_issued_on: date | None = None
    replaces_version: int | None = None
    change_summary: str = ""


class PlanAccepted(EventPayload):
    """The employer accepted an issued version in writing: it is now the contract."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.accepted"

    plan_id: int
    version: int
    reference: str
    institution_id: int
    employer_id: int
    accepted_at: datetime
    accepted_by: str
    amends_version: int | None = None  # the amended version, now superseded


class PlanReminderDue(EventPayload):
    """An issued version still awaits acceptance ``days_left`` days before its deadline."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.reminder_due"

    plan_id: int
    version: int
    reference: str
    institution_id: int
    employer_id: int
    days_left: int
    acceptance_deadline: datetime
    amends_version: int | None = None  # an amendment: this version stays in force anyway


class PlanLapsed(EventPayload):
    """No acceptance reached the institution in time: the offer is resolved by operation of
    law. For a first offer (``amends_version`` None) the plan no longer binds the parties;
    for an amendment only the amendment lapses and ``amends_version`` (issued on
    ``amends_issued_on``) stays in force."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.lapsed"

    plan_id: int
    version: int
    reference: str
    institution_id: int
    employer_id: int
    issued_on: date
    lapsed_on: date
    amends_version: int | None = None
    amends_issued_on: date | None = None


class PlanDeclined(EventPayload):
    """The employer's representative declined an issued offer (a first offer or an
    amendment), with a reason: the offer ends at once. For an amendment the version in
    force (``amends_version``) stays in force."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.declined"

    plan_id: int
    version: int
    reference: str
    institution_id: int
    employer_id: int
    issued_on: date
    declined_at: datetime
    declined_by: str
    reason: str
    amends_version: int | None = None


class PlanVersionWithdrawn(EventPayload):
    """The institution withdrew an issued version before its acceptance (to revise it, or
    because the project ended): the employer no longer has to accept it. ``reason`` is the
    institution's summary of the revision."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.version_withdrawn"

    plan_id: int
    version: int
    reference: str
    institution_id: int
    employer_id: int
    issued_on: date
    withdrawn_on: date
    reason: str
    amends_version: int | None = None
    project_completed: bool = False  # withdrawn because the institution ended the project


class CancelledPlanCandidate(BaseModel):
    """A candidate-worker of the version in force when a plan was cancelled: the institution
    records the costs incurred for each of them (annex A, 1 d)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    candidate_id: int
    full_name: str


class PlanCancelled(EventPayload):
    """A party cancelled the plan; billing invoices the costs already incurred."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.cancelled"

    plan_id: int
    version: int
    reference: str
    institution_id: int
    employer_id: int
    cancelled_on: date
    cancelled_by_party: str  # institution | employer
    reason: str
    # Empty in messages published before billing recorded the costs incurred per person.
    candidates: list[CancelledPlanCandidate] = Field(default_factory=list)


class PlanMilestoneReached(EventPayload):
    """A milestone that installments may be tied to (welcome meeting, end of evaluations)."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.milestone_reached"

    plan_id: int
    version: int
    institution_id: int
    employer_id: int
    milestone: str  # welcome_meeting | end_of_evaluations
    reached_on: date


class PlanCandidateAbandoned(EventPayload):
    """A candidate-worker abandoned; ``work_done_ratio`` (decimal string 0..1) is the share
    of accompaniment and evaluation already done."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.candidate_abandoned"

    plan_id: int
    version: int
    institution_id: int
    employer_id: int
    candidate_id: int
    abandoned_on: date
    after_validation_interview: bool
    work_done_ratio: str
    full_name: str = ""  # as the plan names the candidate-worker (what the employer knows)


# --- billing (invoices, payments and credit notes; amounts are Decimal strings) --------


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


# --- scoring (evaluation of admissible applications and designation of CERACs) ---------


class EvaluationOpened(EventPayload):
    """An admissible application's evaluation is open, with its call's grid."""

    source: ClassVar[str] = "scoring"
    event_type: ClassVar[str] = "evaluation.opened"

    evaluation_id: int
    application_id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    reference: str
    education_order: str
    opened_at: datetime


class EvaluatorAssigned(EventPayload):
    """A ministry admin assigned an evaluator to an application: notifications tells the
    evaluator (never the institution)."""

    source: ClassVar[str] = "scoring"
    event_type: ClassVar[str] = "evaluator.assigned"

    evaluation_id: int
    call_id: int
    call_title: str
    evaluator_user_id: int
    evaluator_name: str
    evaluator_email: str
    organisation_name: str
    reference: str
    assigned_at: datetime


class EvaluationSubmitted(EventPayload):
    """An evaluator submitted their scores; ``submitted_count`` of ``assigned_count`` are in."""

    source: ClassVar[str] = "scoring"
    event_type: ClassVar[str] = "evaluation.submitted"

    evaluation_id: int
    call_id: int
    evaluator_user_id: int
    submitted_at: datetime
    submitted_count: int
    assigned_count: int


class CriterionVerdict(BaseModel):
    """One criterion of a consolidated evaluation: the score obtained against the threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    group: str  # qualite | pertinence
    weight: int
    threshold: int
    score: Decimal
    met: bool


class CeracDesignated(EventPayload):
    """The minister designated an institution as a CERAC (the designation letter is the
    PDF of ``scoring.letter_pdf_for_delivery``)."""

    source: ClassVar[str] = "scoring"
    event_type: ClassVar[str] = "cerac.designated"

    cerac_id: int
    evaluation_id: int
    application_id: int
    call_id: int
    call_title: str
    organisation_id: int
    organisation_name: str
    reference: str
    education_order: str
    mandate_parts: list[str]
    experimentation_years: list[str]
    decision_date: date
    total: Decimal
    below_threshold: bool
    decided_by_user_id: int
    minister: str = ""  # « la ministre » or « le ministre » on the decision date


class CeracNotDesignated(EventPayload):
    """The minister did not designate an admissible application; the letter explains,
    criterion by criterion, the score obtained against the threshold."""

    source: ClassVar[str] = "scoring"
    event_type: ClassVar[str] = "cerac.not_designated"

    evaluation_id: int
    application_id: int
    call_id: int
    call_title: str
    organisation_id: int
    organisation_name: str
    reference: str
    education_order: str
    decision_date: date
    total: Decimal
    overall_threshold: Decimal
    qualified: bool
    criteria: list[CriterionVerdict]
    decided_by_user_id: int
    minister: str = ""  # « la ministre » or « le ministre » on the decision date


# -- life of a designated CERAC: reporting, special mandates, support (applications) --------


class CeracReportSubmitted(EventPayload):
    """A CERAC submitted a report (yearly, or on a special mandate) for the ministry's review."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "cerac.report_submitted"

    report_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    period_label: str  # experimentation year "2013-2014", or the special mandate's object
    special_mandate_id: int | None = None
    version_number: int
    due_date: date
    submitted_by_user_id: int


class CeracReportChangesRequested(EventPayload):
    """An analyst sent a submitted report back, with comments per section."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "cerac.report_changes_requested"

    report_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    period_label: str
    special_mandate_id: int | None = None
    version_number: int
    comments: dict[str, str]  # section key -> comment
    reviewed_by_user_id: int


class CeracReportAccepted(EventPayload):
    """The ministry accepted a report: releases disbursements held until that report."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "cerac.report_accepted"

    report_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    period_label: str
    special_mandate_id: int | None = None
    version_number: int
    accepted_on: date
    reviewed_by_user_id: int


class CeracReportDueSoon(EventPayload):
    """Reminder from the reporting deadline job: a report is due soon, or late (``step``)."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "cerac.report_due_soon"

    cerac_id: int
    organisation_id: int
    organisation_name: str
    period_label: str
    special_mandate_id: int | None = None
    due_date: date
    step: str  # "j-30" | "j-7" | "late"


class SpecialMandateAssigned(EventPayload):
    """The ministry entrusted a CERAC with a special mandate."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "cerac.special_mandate_assigned"

    special_mandate_id: int
    cerac_id: int
    organisation_id: int
    organisation_name: str
    object: str
    deliverables: list[str]
    due_date: date
    amount: Decimal
    assigned_by_user_id: int


class SupportRequested(EventPayload):
    """An institution asked a CERAC for support (the network has no territory or sector)."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "cerac.support_requested"

    request_id: int
    cerac_id: int
    cerac_organisation_id: int
    cerac_organisation_name: str
    requester_organisation_id: int
    requester_organisation_name: str
    object: str
    program: str
    requested_by_user_id: int


class SupportAnswered(EventPayload):
    """The CERAC answered a support request."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "cerac.support_answered"

    request_id: int
    cerac_id: int
    cerac_organisation_id: int
    cerac_organisation_name: str
    requester_organisation_id: int
    requester_organisation_name: str
    object: str
    answered_by_user_id: int
    requested_by_user_id: int | None = None  # the requester, told of the answer (optional)


# -- funding of designated CERACs (billing) ---------------------------------------------------


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


# -- in-app inbox (notifications) ---------------------------------------------------------------


class InAppMessageAdded(EventPayload):
    """A user received an in-app message (the gateway's inbox read model drops its copy)."""

    source: ClassVar[str] = "notifications"
    event_type: ClassVar[str] = "inbox.message_added"

    user_id: int
    notification_id: int


class InAppMessageRead(EventPayload):
    """A user read an in-app message."""

    source: ClassVar[str] = "notifications"
    event_type: ClassVar[str] = "inbox.message_read"

    user_id: int
    notification_id: int
