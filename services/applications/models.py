"""Tables of the applications service. Nobody else reads them: other services ask by RPC.

Calls for interest (with their form and evaluation grid), institutions' applications,
their answers, attachments (stored here, with a checksum), signatures, and the
admissibility review. Organisation facts (name, code, kind, order, region) are snapshots
taken from the gateway's directory by RPC when an application is opened.
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
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    deferred,
    mapped_column,
    relationship,
    validates,
)

from rac_shared.db import new_metadata
from rac_shared.french import sort_key
from rac_shared.outbox import install_reliability_tables
from rac_shared.reply_cache import install_generation_table
from rac_shared.scheduler import install_job_ledger


class Base(DeclarativeBase):
    metadata = new_metadata()


install_reliability_tables(Base.metadata)
install_job_ledger(Base.metadata)
install_generation_table(Base.metadata)  # bumped at each commit that changes data

# Statuses (stored values, English; French labels live in views.py).
CALL_DRAFT, CALL_PUBLISHED, CALL_CLOSED = "draft", "published", "closed"
APP_DRAFT, APP_SUBMITTED, APP_WITHDRAWN = "draft", "submitted", "withdrawn"
APP_COMPLEMENTS = "complements"  # « Compléments demandés », during admissibility
# A deposited application under analysis: « Déposée », or « Compléments demandés ».
DEPOSITED = (APP_SUBMITTED, APP_COMPLEMENTS)
COMPLEMENT_PENDING, COMPLEMENT_ANSWERED, COMPLEMENT_RESUMED = "pending", "answered", "resumed"
ADMISSIBLE, NOT_ADMISSIBLE = "recevable", "non_recevable"


class Call(Base):
    """An appel d'intérêt: dates, education orders, guide, form and evaluation grid."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    education_orders: Mapped[list] = mapped_column(JSON)  # ["secondaire", "collégial"]
    launch_date: Mapped[date] = mapped_column(Date)
    deadline_date: Mapped[date] = mapped_column(Date)  # end of that day, America/Montreal
    analysis_date: Mapped[date | None] = mapped_column(Date)
    designation_date: Mapped[date | None] = mapped_column(Date)
    experimentation_years: Mapped[list] = mapped_column(JSON)  # ["2013-2014", "2014-2015"]
    status: Mapped[str] = mapped_column(String(20), default=CALL_DRAFT, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # +1 per amendment
    created_by_user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    sections: Mapped[list[FormSection]] = relationship(
        back_populates="call", order_by="FormSection.position", cascade="all, delete-orphan"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", order_by="Criterion.position", cascade="all, delete-orphan"
    )
    amendments: Mapped[list[Amendment]] = relationship(
        back_populates="call", order_by="Amendment.number", cascade="all, delete-orphan"
    )


class FormSection(Base):
    __tablename__ = "form_sections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # offer | quality | development | reporting: the parts every form must carry.
    mandate_part: Mapped[str | None] = mapped_column(String(20))

    call: Mapped[Call] = relationship(back_populates="sections")
    questions: Mapped[list[Question]] = relationship(
        back_populates="section", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(Base):
    __tablename__ = "form_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("form_sections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)
    help_text: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(10))  # text | yes_no | choice | file
    max_length: Mapped[int | None] = mapped_column(Integer)
    options: Mapped[list | None] = mapped_column(JSON)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    # A yes/no question whose answer must be "oui" (subscribing to a mandate part).
    must_accept: Mapped[bool] = mapped_column(Boolean, default=False)

    section: Mapped[FormSection] = relationship(back_populates="questions")


class Criterion(Base):
    """One evaluation criterion of the call's grid (group qualite or pertinence)."""

    __tablename__ = "criteria"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    group: Mapped[str] = mapped_column(String(20))  # qualite | pertinence
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)
    weight: Mapped[int] = mapped_column(Integer)  # points; the grid adds up to 100
    threshold: Mapped[int] = mapped_column(Integer)  # passing threshold, in points

    call: Mapped[Call] = relationship(back_populates="criteria")


class Amendment(Base):
    """An explicit, logged change to a published call (deadline, dates, grid)."""

    __tablename__ = "call_amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_user_id: Mapped[int] = mapped_column(Integer)
    by_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict] = mapped_column(JSON)  # {field: {"avant": ..., "après": ...}}
    organisation_ids: Mapped[list] = mapped_column(JSON)  # institutions told about it

    call: Mapped[Call] = relationship(back_populates="amendments")


class Application(Base):
    """A demande de reconnaissance: one per institution per call."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("call_id", "organisation_id"),
        # The ministry's table of a call, sorted by institution (keyset pages).
        Index("ix_applications_call_sort", "call_id", "organisation_sort", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    organisation_name: Mapped[str] = mapped_column(String(200))
    # The name as a French reader sorts it (rac_shared.french.sort_key), set with the name.
    organisation_sort: Mapped[str] = mapped_column(String(200), default="")
    organisation_code: Mapped[str] = mapped_column(String(10), default="")
    organisation_kind: Mapped[str] = mapped_column(String(30))
    education_order: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default=APP_DRAFT, index=True)
    created_by_user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by_user_id: Mapped[int | None] = mapped_column(Integer)
    submitted_by_name: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    receipt_pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by_user_id: Mapped[int | None] = mapped_column(Integer)

    paper_received_on: Mapped[date | None] = mapped_column(Date)
    paper_late: Mapped[bool | None] = mapped_column(Boolean)
    paper_recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)
    paper_recorded_by_name: Mapped[str | None] = mapped_column(String(200))
    paper_recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    admissibility: Mapped[str | None] = mapped_column(String(20), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_user_id: Mapped[int | None] = mapped_column(Integer)
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decision_comment: Mapped[str | None] = mapped_column(Text)

    call: Mapped[Call] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="application", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="application", order_by="Signature.id", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[RuleReview]] = relationship(
        back_populates="application", order_by="RuleReview.id", cascade="all, delete-orphan"
    )
    review_log: Mapped[list[ReviewLogEntry]] = relationship(
        back_populates="application", order_by="ReviewLogEntry.id", cascade="all, delete-orphan"
    )
    complement_requests: Mapped[list[ComplementRequest]] = relationship(
        back_populates="application",
        order_by="ComplementRequest.number",
        cascade="all, delete-orphan",
    )

    @validates("organisation_name")
    def _sorted_name(self, key: str, value: str) -> str:
        self.organisation_sort = sort_key(value)
        return value


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("application_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("form_questions.id"))
    value: Mapped[str] = mapped_column(Text)

    application: Mapped[Application] = relationship(back_populates="answers")


class Attachment(Base):
    """A file kept in this service's database: the call's guide or an application's piece."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("form_questions.id"))
    # A CERAC report's piece (kind "report"), attached to one section of the report.
    report_id: Mapped[int | None] = mapped_column(ForeignKey("cerac_reports.id"), index=True)
    report_section: Mapped[str | None] = mapped_column(String(20))
    # guide | support_letter | official_document | designation | answer | other
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_by_user_id: Mapped[int] = mapped_column(Integer)
    uploaded_by_name: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    application: Mapped[Application | None] = relationship(back_populates="attachments")


class Signature(Base):
    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("application_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    # director_general | second_signatory | designated_manager
    capacity: Mapped[str] = mapped_column(String(30))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content_sha256: Mapped[str] = mapped_column(String(64))  # what was signed

    application: Mapped[Application] = relationship(back_populates="signatures")


class RuleReview(Base):
    """The analyst's current verdict on one admissibility rule of one application."""

    __tablename__ = "rule_reviews"
    __table_args__ = (UniqueConstraint("application_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    rule: Mapped[str] = mapped_column(String(30))
    computed_passed: Mapped[bool] = mapped_column(Boolean)
    computed_reason: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    overridden: Mapped[bool] = mapped_column(Boolean)
    justification: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int] = mapped_column(Integer)
    by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    application: Mapped[Application] = relationship(back_populates="reviews")


class ReviewLogEntry(Base):
    """Append-only log of the admissibility review: confirmations, overrides, decision."""

    __tablename__ = "review_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # confirmed | overridden | paper | decided
    rule: Mapped[str | None] = mapped_column(String(30))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int] = mapped_column(Integer)
    by_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    application: Mapped[Application] = relationship(back_populates="review_log")


class ComplementRequest(Base):
    """A « demande de compléments »: the named items an analyst asked for during
    admissibility, the institution's answer and the resumption of the analysis, all kept."""

    __tablename__ = "complement_requests"
    __table_args__ = (UniqueConstraint("application_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2… per application
    status: Mapped[str] = mapped_column(String(20), default=COMPLEMENT_PENDING)
    message: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date] = mapped_column(Date)  # end of that day, America/Montreal
    # [{"previous_due_date", "due_date", "by_user_id", "by", "at"}], oldest first
    extensions: Mapped[list] = mapped_column(JSON, default=list)
    requested_by_user_id: Mapped[int] = mapped_column(Integer)
    requested_by_name: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_by_user_id: Mapped[int | None] = mapped_column(Integer)
    answered_by_name: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_comment: Mapped[str | None] = mapped_column(Text)
    resumed_by_user_id: Mapped[int | None] = mapped_column(Integer)
    resumed_by_name: Mapped[str | None] = mapped_column(String(200))
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resume_note: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship(back_populates="complement_requests")
    items: Mapped[list[ComplementItem]] = relationship(
        back_populates="request", order_by="ComplementItem.position", cascade="all, delete-orphan"
    )


class ComplementItem(Base):
    """One named item of a request (signature | document | answer) and what was provided."""

    __tablename__ = "complement_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("complement_requests.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))  # signature | document | answer
    piece_kind: Mapped[str | None] = mapped_column(String(30))  # a document's attachment kind
    question_id: Mapped[int | None] = mapped_column(ForeignKey("form_questions.id"))
    text: Mapped[str | None] = mapped_column(Text)
    previous_text: Mapped[str | None] = mapped_column(Text)  # the question's answer before
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    provided_by_user_id: Mapped[int | None] = mapped_column(Integer)
    provided_by_name: Mapped[str | None] = mapped_column(String(200))
    provided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    request: Mapped[ComplementRequest] = relationship(back_populates="items")
    attachment: Mapped[Attachment | None] = relationship()


# -- life of a designated CERAC: network, reporting, special mandates, support -------------
#
# The applications service keeps its OWN record of each CERAC, built from the scoring
# service's ``cerac.designated`` event (``id`` is the scoring service's CERAC id). Reports
# (yearly, per mandate part, or on a special mandate) are the institution's file with the
# ministry, like its application: they live here.

REPORT_DRAFT, REPORT_SUBMITTED = "draft", "submitted"
REPORT_CHANGES_REQUESTED, REPORT_ACCEPTED = "changes_requested", "accepted"
REPORT_YEARLY, REPORT_MANDATE = "yearly", "mandate"
SUPPORT_OPEN, SUPPORT_ANSWERED = "open", "answered"


class CeracRecord(Base):
    """A designated CERAC as this service knows it (from ``cerac.designated``)."""

    __tablename__ = "ceracs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # None only for the 2013 designations kept as archives (no account on the platform).
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    organisation_name: Mapped[str] = mapped_column(String(200))
    education_order: Mapped[str] = mapped_column(String(20))
    mandate_parts: Mapped[list] = mapped_column(JSON)  # offer | quality | development
    experimentation_years: Mapped[list] = mapped_column(JSON)  # ["2013-2014", "2014-2015"]
    designated_on: Mapped[date] = mapped_column(Date)
    call_id: Mapped[int | None] = mapped_column(Integer)
    application_id: Mapped[int | None] = mapped_column(Integer)
    # Searchable competence areas (keys of ceracs.COMPETENCE_AREAS) and program codes,
    # derived from the designated application's answers, then kept by the CERAC.
    competence_areas: Mapped[list] = mapped_column(JSON, default=list)
    programs: Mapped[list] = mapped_column(JSON, default=list)
    # Snapshot of the directory's contacts (coordinators, directors), refreshed daily.
    contacts: Mapped[list] = mapped_column(JSON, default=list)
    contacts_refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReportingDeadline(Base):
    """The ministry's due date for the yearly reports of one experimentation year."""

    __tablename__ = "reporting_deadlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experimentation_year: Mapped[str] = mapped_column(String(9), unique=True)
    due_date: Mapped[date] = mapped_column(Date)
    set_by_user_id: Mapped[int] = mapped_column(Integer)
    set_by_name: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SpecialMandate(Base):
    """A mandat particulier entrusted by the ministry to a CERAC."""

    __tablename__ = "special_mandates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cerac_id: Mapped[int] = mapped_column(ForeignKey("ceracs.id"), index=True)
    object: Mapped[str] = mapped_column(String(300))
    deliverables: Mapped[list] = mapped_column(JSON)  # list of French texts
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    assigned_by_user_id: Mapped[int] = mapped_column(Integer)
    assigned_by_name: Mapped[str] = mapped_column(String(200))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    cerac: Mapped[CeracRecord] = relationship()


class CeracReport(Base):
    """A report: yearly (one section per mandate part) or on a special mandate (one section
    per deliverable). Editable while draft or sent back; each submission freezes a version."""

    __tablename__ = "cerac_reports"
    __table_args__ = (
        UniqueConstraint("cerac_id", "period_key"),
        # A CERAC's reports, the earliest due date first (its list's usual order).
        Index("ix_cerac_reports_cerac_due", "cerac_id", "due_date", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cerac_id: Mapped[int] = mapped_column(ForeignKey("ceracs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # yearly | mandate
    period_key: Mapped[str] = mapped_column(String(40))  # "annee:2013-2014" | "mandat:12"
    period_label: Mapped[str] = mapped_column(String(300))  # "2013-2014" | mandate's object
    experimentation_year: Mapped[str | None] = mapped_column(String(9))
    special_mandate_id: Mapped[int | None] = mapped_column(ForeignKey("special_mandates.id"))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default=REPORT_DRAFT, index=True)
    versions_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by_name: Mapped[str | None] = mapped_column(String(200))
    accepted_on: Mapped[date | None] = mapped_column(Date)

    cerac: Mapped[CeracRecord] = relationship()
    special_mandate: Mapped[SpecialMandate | None] = relationship()
    sections: Mapped[list[ReportSection]] = relationship(
        back_populates="report", order_by="ReportSection.position", cascade="all, delete-orphan"
    )
    versions: Mapped[list[ReportVersion]] = relationship(
        back_populates="report", order_by="ReportVersion.number", cascade="all, delete-orphan"
    )


class ReportSection(Base):
    __tablename__ = "report_sections"
    __table_args__ = (UniqueConstraint("report_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("cerac_reports.id"), index=True)
    key: Mapped[str] = mapped_column(String(20))  # offer | quality | development | livrable-N
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    objectives: Mapped[str] = mapped_column(Text, default="")
    narrative: Mapped[str] = mapped_column(Text, default="")

    report: Mapped[CeracReport] = relationship(back_populates="sections")
    indicators: Mapped[list[ReportIndicator]] = relationship(
        back_populates="section", order_by="ReportIndicator.position", cascade="all, delete-orphan"
    )


class ReportIndicator(Base):
    """A measurable indicator: target and achieved values in a unit. ``source`` marks the
    indicators the platform fills itself (support requests received / answered)."""

    __tablename__ = "report_indicators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("report_sections.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(60), default="")
    target: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    achieved: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    source: Mapped[str | None] = mapped_column(String(30))

    section: Mapped[ReportSection] = relationship(back_populates="indicators")


class ReportVersion(Base):
    """A submitted version, frozen (content as JSON), and the analyst's review of it."""

    __tablename__ = "report_versions"
    __table_args__ = (UniqueConstraint("report_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("cerac_reports.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON)
    due_date: Mapped[date] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_by_user_id: Mapped[int] = mapped_column(Integer)
    submitted_by_name: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str | None] = mapped_column(String(20))  # accepted | changes_requested
    comments: Mapped[dict] = mapped_column(JSON, default=dict)  # section key -> comment
    general_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_user_id: Mapped[int | None] = mapped_column(Integer)
    reviewed_by_name: Mapped[str | None] = mapped_column(String(200))

    report: Mapped[CeracReport] = relationship(back_populates="versions")


class ReportReminder(Base):
    """One ``cerac.report_due_soon`` per report, step and due date (the job's unique key)."""

    __tablename__ = "report_reminders"
    __table_args__ = (UniqueConstraint("report_id", "step", "due_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("cerac_reports.id"), index=True)
    step: Mapped[str] = mapped_column(String(10))  # j-30 | j-7 | late
    due_date: Mapped[date] = mapped_column(Date)
    sent_on: Mapped[date] = mapped_column(Date)


class SupportRequest(Base):
    """An institution's request for support to a CERAC, and the CERAC's answer."""

    __tablename__ = "support_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cerac_id: Mapped[int] = mapped_column(ForeignKey("ceracs.id"), index=True)
    requester_organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    requester_organisation_name: Mapped[str] = mapped_column(String(200))
    requested_by_user_id: Mapped[int] = mapped_column(Integer)
    requested_by_name: Mapped[str] = mapped_column(String(200))
    object: Mapped[str] = mapped_column(String(300))
    program: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=SUPPORT_OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by_user_id: Mapped[int | None] = mapped_column(Integer)
    answered_by_name: Mapped[str | None] = mapped_column(String(200))

    cerac: Mapped[CeracRecord] = relationship()
