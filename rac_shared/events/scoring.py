"""Events published by the scoring service (evaluation of admissible applications, designation
of CERACs)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from rac_shared.events.base import EventPayload


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
