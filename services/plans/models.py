"""Tables of the plans service. Nobody else reads them: other services ask by RPC.

A ``Plan`` is one workplace RAC project between an institution and an employer
organisation; its ``PlanVersion`` rows are the successive texts (the first proposal,
revisions before acceptance, written amendments after it), each with its content as one
validated JSON document (``content.PlanContent``). Organisation facts are snapshots taken
from the gateway's directory by RPC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from rac_shared.db import new_metadata
from rac_shared.outbox import install_reliability_tables
from rac_shared.reply_cache import install_generation_table
from rac_shared.scheduler import install_job_ledger
from rac_shared.tasks import TaskColumns


class Base(DeclarativeBase):
    metadata = new_metadata()


install_reliability_tables(Base.metadata)
install_job_ledger(Base.metadata)
install_generation_table(Base.metadata)  # bumped at each commit that changes data

# Plan statuses (stored values; French labels: the contract's PlanStatus, VersionStatus).
DRAFT, ISSUED, ACCEPTED, LAPSED, CANCELLED, COMPLETED = (
    "draft",
    "issued",
    "accepted",
    "lapsed",
    "cancelled",
    "completed",
)
# Version statuses: draft, issued, accepted, lapsed, superseded, withdrawn, cancelled,
# declined.
SUPERSEDED, WITHDRAWN = "superseded", "withdrawn"
# The employer declined the offer: a version status, and the plan's status when the
# declined offer was its first (no version in force).
DECLINED = "declined"


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (
        # The lists: an institution's plans by status or by last change, an employer's.
        Index("ix_plans_institution_status", "institution_id", "status", "id"),
        Index("ix_plans_institution_updated", "institution_id", "updated_at", "id"),
        Index("ix_plans_employer_issued", "employer_id", "ever_issued", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    institution_kind: Mapped[str] = mapped_column(String(30))
    institution_code: Mapped[str] = mapped_column(String(10))
    # The employer's organisation in the directory, when it has one (details are in content).
    employer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    employer_name: Mapped[str] = mapped_column(String(200))
    program_code: Mapped[str] = mapped_column(String(6))
    program_title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=DRAFT, index=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    accepted_version: Mapped[int | None] = mapped_column(Integer)
    ever_issued: Mapped[bool] = mapped_column(default=False)
    created_by_user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancelled_by_party: Mapped[str | None] = mapped_column(String(20))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    completed_on: Mapped[date | None] = mapped_column(Date)
    # The retention rule ran: the candidate-workers' personal information is gone.
    anonymised_on: Mapped[date | None] = mapped_column(Date)

    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="plan", order_by="PlanVersion.number", cascade="all, delete-orphan"
    )
    candidates: Mapped[list[PlanCandidate]] = relationship(
        back_populates="plan", order_by="PlanCandidate.id", cascade="all, delete-orphan"
    )

    def version(self, number: int) -> PlanVersion | None:
        return next((v for v in self.versions if v.number == number), None)

    @property
    def current(self) -> PlanVersion:
        return self.version(self.current_version)


class PlanVersion(Base):
    __tablename__ = "plan_versions"
    __table_args__ = (
        UniqueConstraint("plan_id", "number", name="uq_plan_versions_plan_number"),
        # The deadline job reads only issued versions whose deadline is near or past.
        Index("ix_plan_versions_due", "status", "acceptance_deadline"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    content: Mapped[dict] = mapped_column(JSON)
    change_summary: Mapped[str | None] = mapped_column(Text)  # amendments and revisions
    based_on: Mapped[int | None] = mapped_column(Integer)  # version number it revises
    # The accepted version in force when this amendment was prepared, which it modifies
    # (None for an offer of a plan not yet accepted). Differs from ``based_on`` when an
    # issued amendment was withdrawn and revised: both then modify the same version.
    amends_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    issued_on: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    issued_by_user_id: Mapped[int | None] = mapped_column(Integer)
    acceptance_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # The frozen estimate as billing returned it when the version was issued.
    estimate: Mapped[dict | None] = mapped_column(JSON)

    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acceptance_channel: Mapped[str | None] = mapped_column(String(20))  # online | recorded
    accepted_by_name: Mapped[str | None] = mapped_column(String(200))
    accepted_by_title: Mapped[str | None] = mapped_column(String(200))
    accepted_by_user_id: Mapped[int | None] = mapped_column(Integer)
    acceptance_statement: Mapped[str | None] = mapped_column(String(200))
    acceptance_ip: Mapped[str | None] = mapped_column(String(64))
    accepted_hash: Mapped[str | None] = mapped_column(String(64))
    received_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)
    lapsed_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The employer's representative declined the offer (« refus de l'offre »), with a reason.
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    declined_by_user_id: Mapped[int | None] = mapped_column(Integer)
    declined_by_name: Mapped[str | None] = mapped_column(String(200))
    decline_reason: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="versions")


class PlanDocument(Base):
    """The issued PDF of a version, or the scan of an acceptance received on paper."""

    __tablename__ = "plan_documents"
    __table_args__ = (
        UniqueConstraint("version_id", "kind", name="uq_plan_documents_version_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # plan_pdf | acceptance_scan
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    # An issued version's PDF is rendered after the issue has committed (by the service in
    # the background, or by its first reader, whichever comes first): until then its HTML,
    # frozen at the issue, waits here, with an empty content and hash (``lifecycle.PENDING``).
    source_html: Mapped[str | None] = deferred(mapped_column(Text))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A PDF that named candidate-workers, destroyed by the retention rule (its hash stays).
    destroyed_on: Mapped[date | None] = mapped_column(Date)


class PlanCandidate(Base):
    """A candidate-worker's identity in a plan (their details are in the versions'
    content) and their progress, which only the institution sees by name."""

    __tablename__ = "plan_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    step: Mapped[str] = mapped_column(String(30), default="not_started")
    abandoned_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    plan: Mapped[Plan] = relationship(back_populates="candidates")
    results: Mapped[list[CompetencyResult]] = relationship(
        back_populates="candidate", cascade="all, delete-orphan"
    )


class CompetencyResult(Base):
    __tablename__ = "competency_results"
    __table_args__ = (
        UniqueConstraint("candidate_id", "competency_code", name="uq_competency_results_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("plan_candidates.id"), index=True)
    competency_code: Mapped[str] = mapped_column(String(12))
    result: Mapped[str] = mapped_column(String(30))  # en_cours | reconnue | formation_manquante
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    candidate: Mapped[PlanCandidate] = relationship(back_populates="results")


class PlanEventKey(Base):
    """One row per fact already published (a reminder, a lapse, a milestone): the unique
    key makes the deadline job and the milestones idempotent, across replicas too."""

    __tablename__ = "plan_event_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AnnexTemplate(Base):
    """An institution's own annex texts (A, B, C) and logo; a new plan copies them."""

    __tablename__ = "annex_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(Integer, unique=True)
    annex_a: Mapped[str] = mapped_column(Text)
    annex_b: Mapped[str] = mapped_column(Text)
    annex_c: Mapped[str] = mapped_column(Text)
    logo: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by_user_id: Mapped[int | None] = mapped_column(Integer)


class ReferenceCounter(Base):
    """Sequence of plan references per institution and year (PMO-CLV-2026-001)."""

    __tablename__ = "reference_counters"
    __table_args__ = (
        UniqueConstraint("institution_code", "year", name="uq_reference_counters_code_year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_code: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer, default=0)


class EstimateSnapshot(Base):
    """Billing's latest estimate of a plan version, as ``estimate.saved`` carried it (or the
    reply of ``estimate_snapshot`` when this service saved it): what issuing checks, renders
    and hashes, without asking billing. Later revisions replace earlier ones."""

    __tablename__ = "estimate_snapshots"
    __table_args__ = (
        UniqueConstraint("plan_id", "version", name="uq_estimate_snapshots_plan_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    estimate_hash: Mapped[str] = mapped_column(String(64))
    candidate_count: Mapped[int] = mapped_column(Integer)
    estimate: Mapped[dict] = mapped_column(JSON)
    document_html: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PrivacyRecord(Base):
    """What happened to candidate-workers' personal information, kept as the plans
    service's own history: an anonymisation by the retention rule, or an export on an access
    request (who asked, for whom, which plans). Append-only."""

    __tablename__ = "privacy_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # anonymised | exported
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    plan_id: Mapped[int | None] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_user_id: Mapped[int | None] = mapped_column(Integer)  # None: the scheduled job
    by_name: Mapped[str] = mapped_column(String(200))
    # The person an export was about (the e-mail the institution searched for).
    subject: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict] = mapped_column(JSON)


class PlanTask(TaskColumns, Base):
    """Work a person waits for, done off the request by the service's worker
    (``services/plans/tasks.py``): issuing a version (render its PDF, then the transaction
    that freezes it and records ``plan.issued``) or rendering a draft's preview. One row per
    plan and kind (the unique key: asking twice at once makes one task); a new request after
    a finished or failed one reuses the row. Its status is what the plan page shows."""

    __tablename__ = "plan_tasks"
    __table_args__ = (UniqueConstraint("plan_id", "kind", name="uq_plan_tasks_plan_kind"),)

    # The common columns (kind: issue | preview) are the shared ones (``TaskColumns``).
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    version: Mapped[int] = mapped_column(Integer)
    # The draft as it was when the person asked: issuing refuses a draft changed since.
    draft_hash: Mapped[str] = mapped_column(String(64))
    # A preview's PDF (an issued version's PDF is a PlanDocument).
    result: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
