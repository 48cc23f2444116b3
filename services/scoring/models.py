"""Tables of the scoring service. Nobody else reads them: other services ask by RPC.

One evaluation committee per call (its grid is a snapshot of the call's criteria, taken
by RPC from the applications service when the first admissible application arrives), one
evaluation per admissible application, evaluators' assignments and scores, conflicts of
interest, the consolidated results, the committee's recommendations, the minister's
decisions and the CERACs they create, and an append-only log of everything sensitive.
Scores and totals are ``Numeric`` read back as ``Decimal``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from rac_shared.db import new_metadata
from rac_shared.outbox import install_reliability_tables
from rac_shared.scheduler import install_job_ledger


class Base(DeclarativeBase):
    metadata = new_metadata()


install_reliability_tables(Base.metadata)
install_job_ledger(Base.metadata)

SCORE = Numeric(6, 2)

# Statuses (stored values, English; French labels live in views.py).
EVAL_OPEN, EVAL_CONSOLIDATED, EVAL_DECIDED = "open", "consolidated", "decided"
ASSIGNED, DRAFT, SUBMITTED = "assigned", "draft", "submitted"
DESIGNATED, NOT_DESIGNATED = "designated", "not_designated"
SOURCE_PLATFORM, SOURCE_ARCHIVE = "platform", "archive"


class Committee(Base):
    """The evaluation committee of one call, with its parameters."""

    __tablename__ = "committees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(Integer, unique=True)
    call_title: Mapped[str] = mapped_column(String(300))
    education_orders: Mapped[list] = mapped_column(JSON)
    experimentation_years: Mapped[list] = mapped_column(JSON)
    min_evaluators: Mapped[int] = mapped_column(Integer, default=2)
    spread_gap_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    overall_threshold: Mapped[Decimal | None] = mapped_column(SCORE)  # None: sum of thresholds
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    criteria: Mapped[list[CommitteeCriterion]] = relationship(
        back_populates="committee",
        order_by="CommitteeCriterion.position",
        cascade="all, delete-orphan",
    )
    members: Mapped[list[Member]] = relationship(
        back_populates="committee", order_by="Member.full_name", cascade="all, delete-orphan"
    )
    evaluations: Mapped[list[Evaluation]] = relationship(
        back_populates="committee", order_by="Evaluation.id"
    )


class CommitteeCriterion(Base):
    """A criterion of the call's grid, as it stood when the committee was formed."""

    __tablename__ = "committee_criteria"
    __table_args__ = (UniqueConstraint("committee_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(Integer)  # the applications service's id
    group: Mapped[str] = mapped_column(String(20))  # qualite | pertinence
    label: Mapped[str] = mapped_column(Text)
    weight: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)

    committee: Mapped[Committee] = relationship(back_populates="criteria")


class Member(Base):
    """A ministry evaluator (or analyst) sitting on the committee."""

    __tablename__ = "committee_members"
    __table_args__ = (UniqueConstraint("committee_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(40))
    # The organisation the evaluator's account belongs to (the ministry, or an institution
    # of the network): an application of that institution is a conflict of interest.
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    organisation_name: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    added_by_user_id: Mapped[int] = mapped_column(Integer)

    committee: Mapped[Committee] = relationship(back_populates="members")


class EvaluatorLink(Base):
    """A link an evaluator declared with an institution of the network (a former employer,
    a partner), for every committee: that institution's applications are conflicts of
    interest. Recorded by the evaluator or by the ministry's administrator."""

    __tablename__ = "evaluator_links"
    __table_args__ = (UniqueConstraint("evaluator_user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluator_user_id: Mapped[int] = mapped_column(Integer, index=True)
    evaluator_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(Integer)
    organisation_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # rac_shared.contracts.scoring.LinkKind
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_user_id: Mapped[int] = mapped_column(Integer)
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Conflict(Base):
    """A conflict of interest between an evaluator and an institution, for one committee:
    the evaluator is never assigned that institution's application, nor shown it."""

    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("committee_id", "evaluator_user_id", "organisation_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"), index=True)
    evaluator_user_id: Mapped[int] = mapped_column(Integer, index=True)
    evaluator_name: Mapped[str] = mapped_column(String(200))
    # The institution's directory id, or the name for records kept outside the platform.
    organisation_key: Mapped[str] = mapped_column(String(220))
    organisation_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    self_declared: Mapped[bool] = mapped_column(Boolean)
    recorded_by_user_id: Mapped[int] = mapped_column(Integer)
    recorded_by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Evaluation(Base):
    """The evaluation of one admissible application, then the minister's decision on it."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"), index=True)
    call_id: Mapped[int] = mapped_column(Integer, index=True)
    # None for a record kept outside the platform (the 2013 paper files of the demo).
    application_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    source: Mapped[str] = mapped_column(String(10), default=SOURCE_PLATFORM)
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    organisation_name: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(40))
    education_order: Mapped[str] = mapped_column(String(20), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_event_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default=EVAL_OPEN, index=True)

    consolidated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    total: Mapped[Decimal | None] = mapped_column(SCORE)
    pertinence_total: Mapped[Decimal | None] = mapped_column(SCORE)
    overall_threshold: Mapped[Decimal | None] = mapped_column(SCORE)
    meets_every_criterion: Mapped[bool | None] = mapped_column(Boolean)
    qualified: Mapped[bool | None] = mapped_column(Boolean)
    flagged: Mapped[bool | None] = mapped_column(Boolean)

    decision: Mapped[str | None] = mapped_column(String(20))
    decision_date: Mapped[date | None] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_user_id: Mapped[int | None] = mapped_column(Integer)
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decision_justification: Mapped[str | None] = mapped_column(Text)
    letter_pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    committee: Mapped[Committee] = relationship(back_populates="evaluations")
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="evaluation", order_by="Assignment.id", cascade="all, delete-orphan"
    )
    results: Mapped[list[CriterionResult]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan"
    )
    consensus: Mapped[list[Consensus]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan"
    )


class Assignment(Base):
    """An evaluator's work on one application: draft scores, then a locked submission."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("evaluation_id", "evaluator_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    evaluator_user_id: Mapped[int] = mapped_column(Integer, index=True)
    evaluator_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=ASSIGNED)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    assigned_by_user_id: Mapped[int] = mapped_column(Integer)
    saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)

    evaluation: Mapped[Evaluation] = relationship(back_populates="assignments")
    scores: Mapped[list[Score]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan"
    )


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("assignment_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[Decimal | None] = mapped_column(SCORE)
    comment: Mapped[str] = mapped_column(Text, default="")

    assignment: Mapped[Assignment] = relationship(back_populates="scores")


class Consensus(Base):
    """A consensus score the committee agreed on for one criterion, with its justification."""

    __tablename__ = "consensus_scores"
    __table_args__ = (UniqueConstraint("evaluation_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[Decimal] = mapped_column(SCORE)
    justification: Mapped[str] = mapped_column(Text)
    by_user_id: Mapped[int] = mapped_column(Integer)
    by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    evaluation: Mapped[Evaluation] = relationship(back_populates="consensus")


class CriterionResult(Base):
    """The consolidated score of one criterion of one application."""

    __tablename__ = "criterion_results"
    __table_args__ = (UniqueConstraint("evaluation_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(Integer)
    mean: Mapped[Decimal] = mapped_column(SCORE)
    consensus: Mapped[Decimal | None] = mapped_column(SCORE)
    score: Mapped[Decimal] = mapped_column(SCORE)
    met: Mapped[bool] = mapped_column(Boolean)
    spread: Mapped[Decimal] = mapped_column(SCORE)
    flagged: Mapped[bool] = mapped_column(Boolean)

    evaluation: Mapped[Evaluation] = relationship(back_populates="results")


class Recommendation(Base):
    """The committee's recommendation for one education order (the latest one counts)."""

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"), index=True)
    education_order: Mapped[str] = mapped_column(String(20))
    evaluation_ids: Mapped[list] = mapped_column(JSON)  # in the recommended order
    comment: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int] = mapped_column(Integer)
    by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Cerac(Base):
    """A centre d'expertise designated by the minister."""

    __tablename__ = "ceracs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id"), unique=True)
    call_id: Mapped[int] = mapped_column(Integer, index=True)
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    organisation_name: Mapped[str] = mapped_column(String(200))
    education_order: Mapped[str] = mapped_column(String(20))
    mandate_parts: Mapped[list] = mapped_column(JSON)  # offer | quality | development
    experimentation_years: Mapped[list] = mapped_column(JSON)
    designated_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LogEntry(Base):
    """Append-only log: assignments, conflicts, submissions, reopenings, consensus,
    recommendations, decisions (with the ministerial justifications)."""

    __tablename__ = "evaluation_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id"), index=True)
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluations.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int | None] = mapped_column(Integer)
    by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MinistryPeriod(Base):
    """A period of the ministry's table as its administrator recorded it (name, acronym and
    minister from ``since``): letters and reports head and sign with the period of their
    date, these over the periods shipped in ``rac_shared.ministries``."""

    __tablename__ = "ministry_periods"

    since: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    acronym: Mapped[str] = mapped_column(String(12))
    minister: Mapped[str] = mapped_column(String(20))  # la ministre | le ministre
    by_user_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
