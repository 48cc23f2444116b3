"""The applications service's contract, first part: the ministry's calls for interest (dates,
form, evaluation grid, guide, publication, amendments) and the institutions' applications
(answers, attachments, signatures, submission and receipt, withdrawal), the paper copy,
the four admissibility rules of seed 000 and the decision, and the ministry's table.

The same service keeps the CERAC network and the reddition de comptes: their contract is
``rac_shared/contracts/network.py``. Every reply is shaped for the actor asking (another
institution's application is "not found"): see ``services/applications/views.py``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Protocol

from pydantic import BeforeValidator, Field, field_validator, model_validator

from rac_shared.actor import OrganisationKind, Role
from rac_shared.contracts import HealthReport, NextAction
from rac_shared.contracts.base import (
    FormLines,
    Messages,
    OptionalDate,
    OptionalInt,
    Reply,
    Strict,
    Vocabulary,
    text,
)
from rac_shared.contracts.calendar import CalendarRpc
from rac_shared.contracts.listing import ListQuery, Page
from rac_shared.contracts.network import Deleted, ReportingFigures, free_text
from rac_shared.contracts.scoring import EducationOrder, FileReply

# -- vocabularies and limits ---------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # 10 Mo, under the gateway's 12 Mo body limit
DEFAULT_TEXT_LENGTH = 4000
MAX_TEXT_LENGTH = 20000
MAX_CRITERIA = 20
GRID_ROWS = 6  # seed 000: four « qualité » criteria, then two « pertinence »


class CallStatus(Vocabulary):
    DRAFT = "draft", "En préparation"
    PUBLISHED = "published", "Publié"
    CLOSED = "closed", "Fermé"


class QuestionKind(Vocabulary):
    TEXT = "text", "Texte"
    YES_NO = "yes_no", "Oui ou non"
    CHOICE = "choice", "Choix parmi des options"
    FILE = "file", "Fichier à joindre"


class CriterionGroup(Vocabulary):
    QUALITE = "qualite", "Qualité du service de RAC offert au cours des cinq dernières années"
    PERTINENCE = "pertinence", "Pertinence du projet d'intervention proposé"


class ApplicationStatus(Vocabulary):
    DRAFT = "draft", "En préparation"
    SUBMITTED = "submitted", "Déposée"
    # During admissibility, the ministry asked for named items (« demande de compléments »):
    # only those items change until the analyst resumes the analysis.
    COMPLEMENTS = "complements", "Compléments demandés"
    WITHDRAWN = "withdrawn", "Retirée"


class Admissibility(Vocabulary):
    ADMISSIBLE = "recevable", "Recevable"
    NOT_ADMISSIBLE = "non_recevable", "Non recevable"


class AdmissibilityFilter(Vocabulary):
    UNDECIDED = "undecided", "À décider"
    ADMISSIBLE = "recevable", "Recevable"
    NOT_ADMISSIBLE = "non_recevable", "Non recevable"


class AttachmentKind(Vocabulary):
    SUPPORT_LETTER = "support_letter", "Lettre d'appui"
    OFFICIAL_DOCUMENT = "official_document", "Document officiel"
    DESIGNATION = "designation", "Désignation d'un gestionnaire par la direction générale"
    ANSWER = "answer", "Réponse à une question"
    OTHER = "other", "Autre document"
    GUIDE = "guide", "Guide de présentation"  # the call's own document, never a piece


# What an institution attaches from the application's page (answers come from their question).
PIECE_KINDS = (
    AttachmentKind.SUPPORT_LETTER,
    AttachmentKind.OFFICIAL_DOCUMENT,
    AttachmentKind.DESIGNATION,
    AttachmentKind.OTHER,
)


class AdmissibilityRule(Vocabulary):
    INSTITUTION = "institution", "Demande présentée par un établissement autorisé"
    SIGNATURES = "signatures", "Signatures requises selon le type d'établissement"
    COMPLETENESS = (
        "completeness",
        "Toutes les sections du formulaire complétées, avec lettres d'appui et documents officiels",
    )
    DEPOSIT = "deposit", "Dépôt électronique et papier au plus tard à la date limite"


class ComplementKind(Vocabulary):
    """What an item of a « demande de compléments » asks for."""

    SIGNATURE = "signature", "Signature manquante"
    DOCUMENT = "document", "Document à joindre"
    ANSWER = "answer", "Réponse à fournir"


class ComplementStatus(Vocabulary):
    PENDING = "pending", "En attente de la réponse de l'établissement"
    ANSWERED = "answered", "Réponse transmise, analyse à reprendre"
    RESUMED = "resumed", "Analyse reprise"


MAX_COMPLEMENT_ITEMS = 10
COMPLEMENT_ROWS = 3  # blank item rows of the request form


class SignatureCapacity(Vocabulary):
    DIRECTOR_GENERAL = "director_general", "Direction générale"
    SECOND_SIGNATORY = "second_signatory", "Direction signataire"
    DESIGNATED_MANAGER = "designated_manager", "Gestionnaire désigné par la direction générale"


class ReviewAction(Vocabulary):
    CONFIRMED = "confirmed", "règle confirmée"
    OVERRIDDEN = "overridden", "dérogation"
    PAPER = "paper", "copie papier"
    DECIDED = "decided", "décision"


class TableSort(Vocabulary):
    TO_DECIDE = "a-decider", "À décider d'abord (recevabilité), le dépôt le plus ancien en tête"
    ORGANISATION = "organisation", "Établissement (A à Z)"
    ORGANISATION_DESC = "-organisation", "Établissement (Z à A)"
    REGION = "region", "Région (A à Z)"
    REGION_DESC = "-region", "Région (Z à A)"
    ORDER = "order", "Ordre d'enseignement"
    ORDER_DESC = "-order", "Ordre d'enseignement (ordre inverse)"
    STATUS = "status", "Statut"
    STATUS_DESC = "-status", "Statut (ordre inverse)"
    SUBMITTED_DESC = "-submitted_at", "Dépôt le plus récent"
    SUBMITTED = "submitted_at", "Dépôt le plus ancien"
    REFERENCE = "reference", "Référence"
    REFERENCE_DESC = "-reference", "Référence (ordre inverse)"


AT_LEAST_3 = Messages(string_too_short="Au moins 3 caractères.")


def _blank_is_none(value):
    return value or None


def _school_years(value) -> list[str]:
    """``["2013-2014, 2014-2015"]`` or ``["2013-2014", "2014-2015"]`` → sorted, unique."""
    items = [value] if isinstance(value, str) else list(value or [])
    years: list[str] = []
    for item in items:
        for part in re.split(r"[,;\s]+", str(item)):
            if not part:
                continue
            match = re.fullmatch(r"(\d{4})-(\d{4})", part)
            if not match or int(match.group(2)) != int(match.group(1)) + 1:
                raise ValueError(
                    f"« {part[:20]} » n'est pas une année scolaire de la forme 2013-2014."
                )
            if part not in years:
                years.append(part)
    return sorted(years)


SchoolYears = Annotated[list[str], BeforeValidator(_school_years), Field(max_length=5), FormLines]

# -- inputs ----------------------------------------------------------------------------------


class CallIn(Strict):
    title: Annotated[text(300, 5), Messages(string_too_short="Au moins 5 caractères.")] = Field(
        title="Titre de l'appel"
    )
    education_orders: list[EducationOrder] = Field(
        min_length=1, max_length=2, title="Ordres d'enseignement visés"
    )
    launch_date: date = Field(title="Date de lancement")
    deadline_date: date = Field(title="Date limite de dépôt")
    analysis_date: OptionalDate = Field(None, title="Date prévue de l'analyse des demandes")
    designation_date: OptionalDate = Field(None, title="Date prévue de la désignation")
    experimentation_years: SchoolYears = Field(
        default_factory=list, title="Années d'expérimentation"
    )

    @field_validator("education_orders")
    @classmethod
    def _unique_orders(cls, value: list[EducationOrder]) -> list[EducationOrder]:
        return [order for order in EducationOrder if order in value]


class SectionIn(Strict):
    title: Annotated[text(300, 3), AT_LEAST_3] = Field(title="Titre de la section")
    description: text(4000) = Field("", title="Description")
    position: int | None = Field(
        None, ge=1, le=100, description="1 = première section; par défaut : à la fin"
    )


class QuestionIn(Strict):
    label: Annotated[text(1000, 3), AT_LEAST_3] = Field(title="Libellé de la question")
    help_text: text(2000) = Field("", title="Aide")
    kind: QuestionKind = Field(title="Type de réponse")
    max_length: OptionalInt = Field(None, ge=1, le=MAX_TEXT_LENGTH, title="Longueur maximale")
    options: Annotated[list[text(200)] | None, FormLines] = Field(
        None, max_length=30, title="Options"
    )
    required: bool = Field(True, title="Réponse obligatoire")

    @model_validator(mode="after")
    def _consistent(self) -> QuestionIn:
        if self.kind == QuestionKind.TEXT:
            self.max_length = self.max_length or DEFAULT_TEXT_LENGTH
        else:
            self.max_length = None
        if self.kind == QuestionKind.CHOICE:
            options = list(dict.fromkeys(o.strip() for o in self.options or [] if o.strip()))
            if len(options) < 2:
                raise ValueError("Une question à choix exige au moins deux options.")
            self.options = options
        else:
            self.options = None
        return self


class CriterionIn(Strict):
    group: CriterionGroup = Field(title="Groupe")
    label: Annotated[text(1000, 3), AT_LEAST_3] = Field(title="Libellé")
    weight: int = Field(ge=1, le=100, title="Pondération")
    threshold: int = Field(ge=0, le=100, title="Seuil de réussite")


class GridIn(Strict):
    criteria: list[CriterionIn] = Field(max_length=MAX_CRITERIA, title="Critères")


class AmendmentIn(Strict):
    reason: Annotated[text(4000, 10), Messages(string_too_short="Au moins 10 caractères.")] = Field(
        title="Motif de la modification"
    )
    deadline_date: OptionalDate = Field(None, title="Nouvelle date limite de dépôt")
    analysis_date: OptionalDate = Field(None, title="Nouvelle date prévue de l'analyse")
    designation_date: OptionalDate = Field(None, title="Nouvelle date prévue de la désignation")
    criteria: list[CriterionIn] | None = Field(None, max_length=MAX_CRITERIA, title="Critères")


def _question_ids(value):
    """Answers by question id: ``{"12": "oui"}``; any other key is refused by name."""
    if isinstance(value, dict):
        bad = [str(key) for key in value if not str(key).isdigit()]
        if bad:
            raise ValueError(f"Identifiant de question attendu : « {bad[0][:20]} ».")
    return value


# Each answer's own limit is its question's (checked by the service, with its count).
Answers = Annotated[
    dict[int, free_text(MAX_TEXT_LENGTH + 5000)],
    BeforeValidator(_question_ids),
    Field(max_length=200, title="Réponses"),
]


class AnswersIn(Strict):
    answers: Answers


class AttachmentIn(Strict):
    kind: AttachmentKind = Field(title="Type de pièce")
    filename: str = Field(min_length=1, max_length=500, title="Fichier")
    content_b64: str
    question_id: OptionalInt = None


class PaperReceiptIn(Strict):
    received_on: date = Field(title="Date de réception de la copie papier")


class RuleReviewIn(Strict):
    """The review of one rule, the rule being named by the URL (a page's form, the API's
    body)."""

    passed: Annotated[
        bool, Field(title="Votre revue"), Messages(missing="Choisissez : satisfaite ou non.")
    ]
    justification: text(4000) = Field("", title="Justification")


class ReviewIn(RuleReviewIn):
    rule: AdmissibilityRule


class DecisionIn(Strict):
    decision: Annotated[
        Admissibility,
        Field(title="Décision de recevabilité"),
        Messages(missing="Choisissez la décision : recevable ou non recevable."),
    ]
    comment: text(4000) = Field("", title="Commentaire")


class ComplementItemIn(Strict):
    """One named item the analyst asks for: a short French label and its kind."""

    label: Annotated[text(300, 3), AT_LEAST_3] = Field(title="Élément demandé")
    kind: ComplementKind = Field(title="Nature de l'élément")
    # For a document: the kind of piece it becomes (counts for the completeness rule).
    piece_kind: Annotated[AttachmentKind | None, BeforeValidator(_blank_is_none)] = Field(
        None, title="Type de pièce attendue"
    )
    # For an answer: the form's question whose answer it replaces (none: a clarification).
    question_id: OptionalInt = Field(None, title="Question du formulaire visée")

    @model_validator(mode="after")
    def _consistent(self) -> ComplementItemIn:
        if self.kind == ComplementKind.DOCUMENT:
            if self.piece_kind is not None and self.piece_kind not in PIECE_KINDS:
                raise ValueError("Choisissez un type de pièce jointe d'une demande.")
            self.piece_kind = self.piece_kind or AttachmentKind.OTHER
        else:
            self.piece_kind = None
        if self.kind != ComplementKind.ANSWER:
            self.question_id = None
        return self


class ComplementsRequestIn(Strict):
    items: list[ComplementItemIn] = Field(
        min_length=1, max_length=MAX_COMPLEMENT_ITEMS, title="Éléments demandés"
    )
    due_date: Annotated[date, Messages(missing="Indiquez la date limite de réponse.")] = Field(
        title="Date limite de réponse"
    )
    message: text(4000) = Field("", title="Message à l'établissement")


class ComplementsExtensionIn(Strict):
    due_date: Annotated[date, Messages(missing="Indiquez la nouvelle date limite de réponse.")] = (
        Field(title="Nouvelle date limite de réponse")
    )


class ComplementTextIn(Strict):
    answer: Annotated[
        text(MAX_TEXT_LENGTH, 1), Messages(string_too_short="Écrivez la réponse.")
    ] = Field(title="Réponse")


class ComplementFileIn(Strict):
    filename: str = Field(min_length=1, max_length=500, title="Fichier")
    content_b64: str


class ComplementsAnswerIn(Strict):
    comment: text(4000) = Field("", title="Commentaire au Ministère")


class ResumeIn(Strict):
    note: text(4000) = Field("", title="Note de reprise de l'analyse")


MAX_BULK_DECISIONS = 100
BULK_REASON_MESSAGE = "Indiquez le motif commun de ces décisions (5 caractères au moins)."


class BulkDecisionIn(Strict):
    """The same admissibility decision, with one reason, for a selection of applications of
    a call: each goes through the single decision's rule, alone."""

    application_ids: Annotated[
        list[int],
        Field(min_length=1, max_length=MAX_BULK_DECISIONS, title="Demandes"),
        Messages(
            too_short="Cochez au moins une demande.",
            too_long=f"Au plus {MAX_BULK_DECISIONS} demandes à la fois.",
            missing="Cochez au moins une demande.",
        ),
    ]
    decision: Annotated[
        Admissibility,
        Field(title="Décision de recevabilité"),
        Messages(
            missing="Choisissez la décision : recevable ou non recevable.",
            enum="Choisissez la décision : recevable ou non recevable.",
        ),
    ]
    comment: Annotated[
        text(4000, 5),
        Field(title="Motif"),
        Messages(missing=BULK_REASON_MESSAGE, string_too_short=BULK_REASON_MESSAGE),
    ]


class BulkDecisionQuery(Strict):
    """The selection as the table's form sends it to the confirmation page (all optional:
    the page says what is missing)."""

    application_ids: list[int] = Field([], max_length=MAX_BULK_DECISIONS, title="Demandes")
    decision: Annotated[Admissibility | None, BeforeValidator(_blank_is_none)] = Field(
        None, title="Décision de recevabilité"
    )
    comment: text(4000) = Field("", title="Motif")


class TableQuery(ListQuery):
    """Filters and order of the ministry's table (every one optional), one page at a time."""

    order: Annotated[EducationOrder | None, BeforeValidator(_blank_is_none)] = Field(
        None, title="Ordre d'enseignement"
    )
    status: Annotated[ApplicationStatus | None, BeforeValidator(_blank_is_none)] = Field(
        None, title="Statut"
    )
    region: Annotated[str | None, BeforeValidator(_blank_is_none)] = Field(
        None, max_length=80, title="Région"
    )
    admissibility: Annotated[AdmissibilityFilter | None, BeforeValidator(_blank_is_none)] = Field(
        None, title="Recevabilité"
    )
    sort: Annotated[TableSort, BeforeValidator(lambda v: v or TableSort.TO_DECIDE)] = Field(
        TableSort.TO_DECIDE, title="Trier par"
    )


# -- replies -----------------------------------------------------------------------------------


class AttachmentView(Reply):
    id: int
    kind: AttachmentKind
    kind_label: str
    question_id: int | None
    filename: str
    mime: str
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: datetime | None


class AttachmentFile(AttachmentView):
    content_b64: str


class AttachmentAdded(AttachmentView):
    signatures_voided: int


class CallSummary(Reply):
    id: int
    title: str
    status: CallStatus
    status_label: str
    education_orders: list[EducationOrder]
    launch_date: date
    deadline_date: date
    deadline_at: datetime
    deadline_passed: bool
    analysis_date: date | None
    designation_date: date | None
    experimentation_years: list[str]
    version: int


class CallQuery(ListQuery):
    """A page of the calls (the latest deposit deadline first): an institution with years of
    applications counts as many calls."""


class CallPage(Page[CallSummary]):
    """A page of the calls (``next_cursor`` asks for the next one)."""


class QuestionView(Reply):
    id: int
    position: int
    label: str
    help_text: str | None
    kind: QuestionKind
    kind_label: str
    max_length: int | None
    options: list[str] | None
    required: bool
    must_accept: bool


class SectionView(Reply):
    id: int
    position: int
    title: str
    description: str | None
    mandate_part: str | None
    questions: list[QuestionView]


class CriterionView(Reply):
    id: int
    group: CriterionGroup
    group_label: str
    position: int
    label: str
    weight: int
    threshold: int


class AmendmentView(Reply):
    number: int
    at: datetime
    by: str | None
    reason: str
    changes: dict
    descriptions: list[str]


class MyApplication(Reply):
    id: int
    status: ApplicationStatus
    status_label: str
    reference: str | None


class CallView(CallSummary):
    guide: AttachmentView | None
    sections: list[SectionView]
    criteria: list[CriterionView]
    grid_total: int
    grid_problems: list[str]
    amendments: list[AmendmentView]
    can_manage: bool
    problems: list[str]
    my_application: MyApplication | None
    can_apply: bool
    apply_blocker: str | None

    def section(self, section_id: int) -> SectionView | None:
        return next((s for s in self.sections if s.id == section_id), None)


class Grid(Reply):
    """A call's evaluation grid as the scoring service snapshots it."""

    call_id: int
    title: str
    status: CallStatus
    version: int
    education_orders: list[EducationOrder]
    experimentation_years: list[str]
    criteria: list[CriterionView]


class SectionAdded(Reply):
    id: int
    title: str
    position: int


class QuestionAdded(Reply):
    id: int
    label: str
    kind: QuestionKind


class Moved(Reply):
    moved: int


class AmendmentRecorded(Reply):
    number: int
    changes: dict
    organisation_ids: list[int]


class ApplicationRow(Reply):
    id: int
    call_id: int
    organisation_id: int
    organisation_name: str
    organisation_kind: OrganisationKind
    education_order: str | None
    region: str | None
    status: ApplicationStatus
    status_label: str
    reference: str | None
    submitted_at: datetime | None
    paper_received_on: date | None
    paper_late: bool | None
    admissibility: Admissibility | None
    admissibility_label: str | None


class BulkOutcome(Reply):
    application_id: int
    reference: str | None
    organisation_name: str | None
    decided: bool
    message: str  # what happened, or why not, in French


class BulkDecided(Reply):
    decision: Admissibility
    decision_label: str
    decided: int
    refused: int
    outcomes: list[BulkOutcome]


class Submitted(ApplicationRow):
    content_sha256: str


class SignatureView(Reply):
    user_id: int
    full_name: str
    role: Role
    role_label: str
    capacity: SignatureCapacity
    capacity_label: str
    signed_at: datetime


class ChecklistItem(Reply):
    key: str
    label: str
    done: bool
    detail: str
    section_id: int | None


class RuleState(Reply):
    rule: AdmissibilityRule
    label: str
    passed: bool
    reason: str
    reviewed: bool
    stale: bool
    final: bool | None
    overridden: bool
    justification: str
    reviewed_by: str | None
    reviewed_at: datetime | None


class ReviewLogLine(Reply):
    action: ReviewAction
    action_label: str
    rule: AdmissibilityRule | None
    rule_label: str
    passed: bool | None
    text: str | None
    by: str | None
    at: datetime


class ComplementItemView(Reply):
    id: int
    position: int
    label: str
    kind: ComplementKind
    kind_label: str
    piece_kind: AttachmentKind | None
    piece_kind_label: str | None
    question_id: int | None
    question_label: str | None
    text: str | None
    previous_text: str | None
    attachment: AttachmentView | None
    provided: bool
    provided_by: str | None
    provided_at: datetime | None


class ComplementExtensionView(Reply):
    previous_due_date: date
    due_date: date
    by: str | None
    at: datetime


class ComplementRequestView(Reply):
    """One exchange of the « demande de compléments »: the request, the answer, the
    resumption of the analysis (each kept once made)."""

    id: int
    number: int
    status: ComplementStatus
    status_label: str
    message: str
    due_date: date
    due_at: datetime
    due_passed: bool
    requested_by: str | None
    requested_at: datetime
    items: list[ComplementItemView]
    missing: list[str]
    extensions: list[ComplementExtensionView]
    answered_by: str | None
    answered_at: datetime | None
    answer_comment: str | None
    resumed_by: str | None
    resumed_at: datetime | None
    resume_note: str | None


class ComplementsView(Reply):
    """What the requested complements allow the actor asking to do now."""

    requests: list[ComplementRequestView]
    can_request: bool
    can_answer: bool
    answer_blocker: str | None
    can_sign: bool
    can_extend: bool
    can_resume: bool


class ComplementsRequested(Reply):
    application_id: int
    request_id: int
    number: int
    due_date: date


class ComplementProvided(Reply):
    item_id: int
    provided: bool


class ApplicationView(ApplicationRow):
    call: CallView
    answers: dict[str, str]
    attachments: list[AttachmentView]
    signatures: list[SignatureView]
    checklist: list[ChecklistItem]
    complete: bool
    problems: dict[str, str]
    content_sha256: str | None
    submitted_by: str | None
    withdrawn_at: datetime | None
    paper_recorded_by: str | None
    paper_recorded_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    decision_comment: str | None
    can_edit: bool
    can_sign: bool
    sign_blocker: str | None
    can_submit: bool
    can_withdraw: bool
    can_reopen: bool
    has_receipt: bool
    receipt_pending: bool
    can_review: bool
    rules: list[RuleState] | None
    log: list[ReviewLogLine] | None
    # The « demande de compléments » exchanges: the ministry's staff and the institution
    # only (None for anyone else).
    complements: ComplementsView | None

    def files_of(self, question_id: int) -> list[AttachmentView]:
        return [a for a in self.attachments if a.question_id == question_id]


class AnswersSaved(Reply):
    id: int
    signatures_voided: int


class AttachmentDeleted(Reply):
    deleted: int
    signatures_voided: int


class Signed(Reply):
    full_name: str
    role: Role
    capacity: SignatureCapacity
    signed_at: datetime


class RuleReviewed(Reply):
    rule: AdmissibilityRule
    passed: bool
    computed_passed: bool
    overridden: bool


class ApplicationPage(Page[ApplicationRow]):
    """A page of a call's applications (``next_cursor`` asks for the next one)."""


class ApplicationsTable(Reply):
    call: CallSummary
    listing: ApplicationPage
    counts: dict[str, int]
    total: int
    decisions: dict[str, int]
    regions: list[str]
    query: TableQuery


class StatusLabel(Reply):
    key: str
    label: str


class CallFigures(Reply):
    call_id: int
    call_title: str
    counts: dict[str, int]
    total: int


class ApplicationsFigures(Reply):
    """The dashboard's figures kept by this service (applications per call and status),
    with the reporting figures so that the dashboard asks the service once."""

    statuses: list[StatusLabel]
    applications_per_call: list[CallFigures]
    total: int
    reporting: ReportingFigures | None


# -- the service's RPC methods -----------------------------------------------------------------


class ApplicationsRpc(CalendarRpc, Protocol):
    """What the applications service answers about calls and applications (the gateway adds
    the actor to each call)."""

    def health(self) -> HealthReport: ...
    def network_figures(self, as_of: OptionalDate = None) -> ApplicationsFigures: ...
    def home_summary(self) -> list[NextAction]: ...

    # calls for interest
    def list_calls(self, query: CallQuery | None = None) -> CallPage:
        """Appels d'intérêt visibles, la date limite de dépôt la plus récente d'abord"""

    def get_call(self, call_id: int) -> CallView:
        """Un appel d'intérêt, avec son formulaire"""

    def create_call(self, data: CallIn) -> CallView:
        """Créer un appel d'intérêt (en préparation)"""

    def update_call(self, call_id: int, data: CallIn) -> CallView:
        """Modifier un appel en préparation"""

    def add_section(self, call_id: int, data: SectionIn) -> SectionAdded:
        """Ajouter une section au formulaire"""

    def delete_section(self, call_id: int, section_id: int) -> Deleted: ...
    def move_section(self, call_id: int, section_id: int, step: int) -> Moved: ...
    def add_question(self, call_id: int, section_id: int, data: QuestionIn) -> QuestionAdded:
        """Ajouter une question à une section"""

    def delete_question(self, call_id: int, section_id: int, question_id: int) -> Deleted: ...
    def set_criteria(self, call_id: int, criteria: list[CriterionIn]) -> CallView:
        """Enregistrer la grille d'évaluation (pondérations et seuils)"""

    def upload_guide(self, call_id: int, filename: str, content_b64: str) -> AttachmentView:
        """Joindre le guide de présentation (PDF, multipart/form-data, champ « file »)"""

    def get_guide(self, call_id: int) -> AttachmentFile:
        """Télécharger le guide (PDF)"""

    def publish_call(self, call_id: int) -> CallSummary:
        """Publier un appel d'intérêt"""

    def close_call(self, call_id: int) -> CallSummary:
        """Fermer un appel d'intérêt"""

    def amend_call(self, call_id: int, data: AmendmentIn) -> AmendmentRecorded:
        """Modifier un appel publié par un avis de modification consigné"""

    # applications of institutions
    def open_application(self, call_id: int) -> ApplicationRow:
        """Ouvrir la demande de son établissement (aucun champ : celui du compte)"""

    def get_application(self, application_id: int) -> ApplicationView:
        """Une demande : réponses, pièces, signatures, liste de vérification"""

    def save_answers(self, application_id: int, section_id: int, answers: Answers) -> AnswersSaved:
        """Enregistrer les réponses d'une section (identifiant de question → valeur)"""

    def upload_attachment(self, application_id: int, data: AttachmentIn) -> AttachmentAdded:
        """Joindre un fichier (multipart/form-data : file, kind, question_id facultatif)"""

    def delete_attachment(self, application_id: int, attachment_id: int) -> AttachmentDeleted:
        """Retirer une pièce jointe"""

    def get_attachment(self, application_id: int, attachment_id: int) -> AttachmentFile:
        """Télécharger une pièce jointe"""

    def sign(self, application_id: int) -> Signed:
        """Signer la demande avec son propre compte"""

    def submit(self, application_id: int) -> Submitted:
        """Déposer la demande (complète et signée, avant la date limite)"""

    def withdraw(self, application_id: int) -> ApplicationRow:
        """Retirer la demande (avant la date limite)"""

    def reopen(self, application_id: int) -> ApplicationRow:
        """Rouvrir une demande retirée (avant la date limite)"""

    def get_receipt(self, application_id: int) -> FileReply:
        """Accusé de réception (PDF)"""

    # the ministry
    def record_paper_receipt(self, application_id: int, data: PaperReceiptIn) -> ApplicationRow:
        """Consigner la réception de la copie papier"""

    def review_rule(self, application_id: int, data: ReviewIn) -> RuleReviewed:
        """Confirmer une règle de recevabilité ou y déroger avec justification"""

    def decide_admissibility(self, application_id: int, data: DecisionIn) -> ApplicationRow:
        """Décider : recevable ou non recevable"""

    # the « demande de compléments » during admissibility
    def request_complements(
        self, application_id: int, data: ComplementsRequestIn
    ) -> ComplementsRequested:
        """Demander des compléments à l'établissement (éléments nommés, date limite de réponse)"""

    def extend_complements_deadline(
        self, application_id: int, data: ComplementsExtensionIn
    ) -> ComplementsRequested:
        """Prolonger le délai de réponse à la demande de compléments"""

    def resume_admissibility(self, application_id: int, data: ResumeIn) -> ApplicationRow:
        """Reprendre l'analyse de la recevabilité (après la réponse, ou sans elle)"""

    def answer_complement_item(
        self, application_id: int, item_id: int, data: ComplementTextIn
    ) -> ComplementProvided:
        """Répondre à un élément demandé (texte)"""

    def upload_complement_document(
        self, application_id: int, item_id: int, data: ComplementFileIn
    ) -> ComplementProvided:
        """Joindre le document demandé (multipart/form-data, champ « file »)"""

    def sign_complement_item(self, application_id: int, item_id: int) -> ComplementProvided:
        """Apposer la signature demandée avec son propre compte"""

    def answer_complements(self, application_id: int, data: ComplementsAnswerIn) -> ApplicationRow:
        """Transmettre la réponse à la demande de compléments"""

    def decide_admissibility_in_bulk(self, call_id: int, data: BulkDecisionIn) -> BulkDecided:
        """Décider la recevabilité d'une sélection de demandes (une à une, mêmes règles)"""

    def applications_table(
        self, call_id: int, query: TableQuery | None = None
    ) -> ApplicationsTable:
        """Tableau des demandes d'un appel (filtres order, status, region, admissibility; tri)"""

    def list_applications(self, call_id: int, query: TableQuery | None = None) -> ApplicationPage:
        """Demandes d'un appel, une page à la fois (filtres order, status, region,
        admissibility; tri sort, à décider d'abord par défaut)"""


class ApplicationsGridRpc(Protocol):
    """For services, not users (the scoring service snapshots a call's grid)."""

    def grid_of_call(self, call_id: int) -> Grid: ...
