"""Every event contract, by publisher (``rac_shared/events/<publisher>.py``), and the envelope.

Importing this package registers every payload class in ``REGISTRY``; consumers may import
a class from here or from its publisher's module.
"""

from rac_shared.events.applications import (
    AdmissibilityRuleOutcome,
    ApplicationAdmissibilityDecided,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    CallAmended,
    CallPublished,
    CeracReportAccepted,
    CeracReportChangesRequested,
    CeracReportDueSoon,
    CeracReportSubmitted,
    CeracSpecialMandateAssigned,
    CeracSupportAnswered,
    CeracSupportRequested,
)
from rac_shared.events.base import REGISTRY, Envelope, EventPayload
from rac_shared.events.billing import (
    CreditNoteApplication,
    CreditNoteIssued,
    EstimateSaved,
    FundingAllocationRecorded,
    FundingDisbursementPaid,
    FundingDisbursementReleased,
    FundingProjectDecided,
    FundingProjectSubmitted,
    InvoiceIssued,
    InvoiceOverdue,
    PaymentRecorded,
)
from rac_shared.events.gateway import (
    UserPasswordResetRequested,
)
from rac_shared.events.notifications import (
    InboxMessageAdded,
    InboxMessageRead,
)
from rac_shared.events.plans import (
    CancelledPlanCandidate,
    PlanAccepted,
    PlanCancelled,
    PlanCandidateAbandoned,
    PlanDeclined,
    PlanIssued,
    PlanIssuedV1,
    PlanLapsed,
    PlanMilestoneReached,
    PlanReminderDue,
    PlanVersionWithdrawn,
)
from rac_shared.events.scoring import (
    CeracDesignated,
    CeracNotDesignated,
    CriterionVerdict,
    EvaluationOpened,
    EvaluationSubmitted,
    EvaluatorAssigned,
)

__all__ = [
    "REGISTRY",
    "Envelope",
    "EventPayload",
    "UserPasswordResetRequested",
    "CallPublished",
    "CallAmended",
    "ApplicationSubmitted",
    "AdmissibilityRuleOutcome",
    "ApplicationAdmissibilityDecided",
    "ApplicationWithdrawn",
    "CeracReportSubmitted",
    "CeracReportChangesRequested",
    "CeracReportAccepted",
    "CeracReportDueSoon",
    "CeracSpecialMandateAssigned",
    "CeracSupportRequested",
    "CeracSupportAnswered",
    "EvaluationOpened",
    "EvaluatorAssigned",
    "EvaluationSubmitted",
    "CriterionVerdict",
    "CeracDesignated",
    "CeracNotDesignated",
    "PlanIssued",
    "PlanIssuedV1",
    "PlanAccepted",
    "PlanReminderDue",
    "PlanLapsed",
    "PlanDeclined",
    "PlanVersionWithdrawn",
    "CancelledPlanCandidate",
    "PlanCancelled",
    "PlanMilestoneReached",
    "PlanCandidateAbandoned",
    "EstimateSaved",
    "InvoiceIssued",
    "InvoiceOverdue",
    "PaymentRecorded",
    "CreditNoteApplication",
    "CreditNoteIssued",
    "FundingAllocationRecorded",
    "FundingProjectSubmitted",
    "FundingProjectDecided",
    "FundingDisbursementPaid",
    "FundingDisbursementReleased",
    "InboxMessageAdded",
    "InboxMessageRead",
]
