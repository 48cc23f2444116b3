"""Events published by the plans service (workplace RAC implementation plans)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from rac_shared.events.base import EventPayload


class PlanIssued(EventPayload):
    """An institution issued a version of a plan: the employer has until
    ``acceptance_deadline`` (end of the 30th day after ``issued_on``, Montréal) to accept it."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.issued"
    schema_version: ClassVar[int] = 2

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
    # Version 2: the hash of billing's estimate snapshot the plan was issued with (billing
    # freezes that estimate when it consumes the event); empty from a version 1 publisher.
    estimate_hash: str = ""


class PlanIssuedV1(EventPayload):
    """``plan.issued`` as version 1 publishers sent it (before ``estimate_hash``): kept
    registered so that the contract check compares version 2 with it (versions only add
    fields, see rac_shared/events/base.py)."""

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


class PlanAnonymised(EventPayload):
    """The retention rule's time ran out for an ended plan: its candidate-workers' personal
    information is gone from the plans service (names and e-mails replaced, the PDFs that
    named them destroyed); billing replaces the names it copied. Counts stay."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.anonymised"

    plan_id: int
    reference: str
    institution_id: int
    employer_id: int | None
    ended_on: date
    anonymised_on: date
    candidate_ids: list[int]


class PlanPersonalInformationExported(EventPayload):
    """An institution exported what the plans service holds about one person (an access
    request under Loi 25): who asked, when, and which plans it covered."""

    source: ClassVar[str] = "plans"
    event_type: ClassVar[str] = "plan.personal_information_exported"

    institution_id: int
    exported_by_user_id: int
    exported_by_name: str
    plan_ids: list[int]
