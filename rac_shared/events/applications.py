"""Events published by the applications service (calls for interest, CERAC applications, the
network's reports, support and special mandates)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from rac_shared.events.base import EventPayload


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


class ApplicationComplementsRequested(EventPayload):
    """During admissibility an analyst asked the institution for named items (« demande de
    compléments ») to provide by ``due_date`` (end of that day, America/Montreal)."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "application.complements_requested"

    application_id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    reference: str
    request_id: int
    number: int  # the request's number for this application: 1, 2…

    items: list[str]  # the items' French labels, in order
    due_date: date
    message: str = ""
    requested_by_user_id: int
    requested_at: datetime


class ApplicationComplementsAnswered(EventPayload):
    """The institution transmitted its answer to a « demande de compléments »."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "application.complements_answered"

    application_id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    reference: str
    request_id: int
    number: int  # the request's number for this application: 1, 2…

    items: list[str]
    requested_by_user_id: int
    answered_by_user_id: int
    answered_at: datetime


class ApplicationComplementsDeadlineExtended(EventPayload):
    """The analyst gave the institution more time to answer a « demande de compléments »."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "application.complements_deadline_extended"

    application_id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    reference: str
    request_id: int
    number: int  # the request's number for this application: 1, 2…

    previous_due_date: date
    due_date: date
    extended_by_user_id: int


class ApplicationAdmissibilityResumed(EventPayload):
    """The analyst resumed the admissibility analysis after a « demande de compléments »
    (``answered``: with the institution's answer, or without it once the delay passed)."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "application.admissibility_resumed"

    application_id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    reference: str
    request_id: int
    number: int  # the request's number for this application: 1, 2…

    answered: bool
    resumed_by_user_id: int
    resumed_at: datetime


class ApplicationWithdrawn(EventPayload):
    """An institution withdrew its application before the deadline."""

    source: ClassVar[str] = "applications"
    event_type: ClassVar[str] = "application.withdrawn"

    application_id: int
    call_id: int
    organisation_id: int
    withdrawn_at: datetime


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


class CeracSpecialMandateAssigned(EventPayload):
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


class CeracSupportRequested(EventPayload):
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


class CeracSupportAnswered(EventPayload):
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
