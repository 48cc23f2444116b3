"""The scoring service's contract: evaluation of admissible applications by a committee, the
ranking per education order and the minister's designation (at most three per order).

Scores are Decimals on the bus (``"12.5"``), typed the French way in forms (``12,5``);
every reply is shaped for the actor asking (an evaluator never sees another's scores, an
institution never an evaluator's identity): see ``services/scoring/views.py``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Protocol

from pydantic import BeforeValidator, Field, field_validator

from rac_shared.actor import Role
from rac_shared.contracts import NextAction
from rac_shared.contracts.base import (
    DecimalText,
    Messages,
    OptionalDate,
    OptionalInt,
    Reply,
    Strict,
    Vocabulary,
    slow,
    text,
)

# -- vocabularies and limits ---------------------------------------------------------------

MAX_PER_ORDER = 3  # seed 000: « un maximum de trois établissements par ordre d'enseignement »
MAX_CRITERIA = 40
MIN_EVALUATORS, MAX_EVALUATORS = 2, 9
Comment = text(4000)
Reason = text(2000)
MinistryName = text(200, 10)
Acronym = text(12, 2)


class EducationOrder(Vocabulary):
    SECONDARY = "secondaire", "Ordre secondaire"
    COLLEGIAL = "collégial", "Ordre collégial"


class EvaluationStatus(Vocabulary):
    OPEN = "open", "En évaluation"
    CONSOLIDATED = "consolidated", "Évaluations consolidées"
    DECIDED = "decided", "Décision rendue"


class AssignmentStatus(Vocabulary):
    ASSIGNED = "assigned", "À faire"
    DRAFT = "draft", "Brouillon enregistré"
    SUBMITTED = "submitted", "Soumise"


class Decision(Vocabulary):
    DESIGNATED = "designated", "Désigné CERAC"
    NOT_DESIGNATED = "not_designated", "Non désigné"


class MinisterTitle(Vocabulary):
    """How letters name and sign for the minister of a period (« Pour la ministre »)."""

    FEMININE = "la ministre", "La ministre"
    MASCULINE = "le ministre", "Le ministre"


def _score_text(value):
    """Scores are handled as text, then as Decimal. A JSON number is taken as written
    (``12.5`` → ``"12.5"``: ``repr`` gives the shortest literal that reads back the same),
    never computed with as a float."""
    if isinstance(value, bool):
        raise ValueError("Une note est attendue.")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str) and not value.strip():
        return None
    return value


ScoreText = Annotated[Annotated[str, Field(max_length=20)] | None, BeforeValidator(_score_text)]
RequiredScore = Annotated[str, BeforeValidator(_score_text), Field(max_length=20)]

# -- inputs ------------------------------------------------------------------------------------


class ScoreIn(Strict):
    criterion_id: int
    score: ScoreText = Field(None, title="Note", description="Note sur l'échelle du critère")
    comment: Comment = Field("", title="Commentaire")


class ScoresIn(Strict):
    """An evaluator's scores (a draft, or submitted with ``submit``), one per criterion."""

    scores: list[ScoreIn] = Field(max_length=MAX_CRITERIA, title="Critères")
    submit: bool = False


EVALUATORS_MESSAGE = "Au moins deux évaluateurs par demande (neuf au plus)."
SPREAD_MESSAGE = "L'écart toléré est un pourcentage de 1 à 100."
THRESHOLD_MESSAGE = "Le seuil global se situe entre 0 et 100 points."


class ParametersIn(Strict):
    min_evaluators: Annotated[
        int,
        Field(ge=MIN_EVALUATORS, le=MAX_EVALUATORS, title="Évaluateurs par demande"),
        Messages(greater_than_equal=EVALUATORS_MESSAGE, less_than_equal=EVALUATORS_MESSAGE),
    ]
    spread_gap_percent: Annotated[
        DecimalText,
        Field(gt=0, le=100, max_digits=5, decimal_places=2, title="Écart toléré (%)"),
        Messages(greater_than=SPREAD_MESSAGE, less_than_equal=SPREAD_MESSAGE),
    ]
    overall_threshold: Annotated[
        DecimalText | None,
        BeforeValidator(lambda v: v or None),
        Field(ge=0, le=100, max_digits=5, decimal_places=2, title="Seuil global"),
        Messages(greater_than_equal=THRESHOLD_MESSAGE, less_than_equal=THRESHOLD_MESSAGE),
    ] = None


class UserIn(Strict):
    user_id: int = Field(title="Personne")


class ConflictIn(Strict):
    """An evaluator's own declaration (``user_id`` absent), or the admin's record."""

    user_id: OptionalInt = Field(None, title="Évaluatrice ou évaluateur")
    organisation_key: str = Field(min_length=1, max_length=220, title="Établissement")
    reason: Reason = Field(title="Nature du conflit")


class LinkKind(Vocabulary):
    """A link an evaluator declares with an institution (the label completes « Lien déclaré
    avec le Cégep de Lévis : … »)."""

    FORMER_EMPLOYER = "former_employer", "ancien employeur"
    PARTNER = "partner", "partenaire"
    OTHER = "other", "autre lien personnel ou professionnel"


LinkNote = text(500)


class LinkIn(Strict):
    """A declared link: the evaluator's own (``user_id`` absent), or recorded by the
    ministry's administrator for a member of a committee."""

    user_id: OptionalInt = Field(None, title="Évaluatrice ou évaluateur")
    organisation_id: Annotated[
        int,
        Field(title="Établissement"),
        Messages(missing="Choisissez l'établissement.", int_parsing="Choisissez l'établissement."),
    ]
    kind: Annotated[
        LinkKind,
        Field(title="Nature du lien"),
        Messages(missing="Choisissez la nature du lien.", enum="Choisissez la nature du lien."),
    ]
    note: LinkNote = Field("", title="Précision (facultatif)")


PER_APPLICATION_MESSAGE = "De deux à neuf évaluateurs par demande."
PER_APPLICATION_MESSAGES = Messages(
    greater_than_equal=PER_APPLICATION_MESSAGE,
    less_than_equal=PER_APPLICATION_MESSAGE,
    int_parsing=PER_APPLICATION_MESSAGE,
    missing=PER_APPLICATION_MESSAGE,
)


class ProposalQuery(Strict):
    """How many evaluators each application should have (those already assigned count;
    none: the committee's minimum)."""

    per_application: Annotated[
        OptionalInt, Field(title="Évaluateurs par demande"), PER_APPLICATION_MESSAGES
    ] = None

    @field_validator("per_application")
    @classmethod
    def _within_bounds(cls, value: int | None) -> int | None:
        if value is not None and not MIN_EVALUATORS <= value <= MAX_EVALUATORS:
            raise ValueError(PER_APPLICATION_MESSAGE)
        return value


class BulkAssignmentIn(Strict):
    """Save the proposal previewed: ``proposal`` is its fingerprint, so that a proposal
    that changed since the preview is refused rather than saved unseen."""

    per_application: Annotated[
        int,
        Field(ge=MIN_EVALUATORS, le=MAX_EVALUATORS, title="Évaluateurs par demande"),
        PER_APPLICATION_MESSAGES,
    ]
    proposal: str = Field("", max_length=64, title="Proposition")


class ReopenIn(Strict):
    user_id: int = Field(title="Membre")
    reason: Reason = Field(title="Motif de la réouverture")


class ConsensusIn(Strict):
    criterion_id: int = Field(title="Critère")
    score: RequiredScore = Field(title="Note de consensus")
    justification: Comment = Field(title="Justification")


class RecommendationIn(Strict):
    education_order: EducationOrder = Field(title="Ordre d'enseignement")
    evaluation_ids: list[int] = Field(max_length=10, title="Demandes recommandées")
    comment: Comment = Field("", title="Commentaire du comité")


class DecisionIn(Strict):
    designated: Annotated[
        bool,
        Field(title="Décision"),
        Messages(missing="Choisissez la décision : désigné ou non désigné."),
    ]
    decision_date: OptionalDate = Field(None, title="Date de la décision")
    justification: Comment = Field("", title="Justification")


class MinistryPeriodIn(Strict):
    """A period of the ministry's table: from ``since``, its name, acronym and minister
    (replaces the period that starts on the same day)."""

    since: Annotated[
        date, Field(title="En vigueur depuis le"), Messages(missing="Indiquez la date.")
    ]
    name: MinistryName = Field(title="Nom du ministère")
    acronym: Acronym = Field(title="Sigle")
    minister: MinisterTitle = Field(title="Titulaire")


# -- replies -----------------------------------------------------------------------------------


class FileReply(Reply):
    filename: str
    mime: str
    content_b64: str


class CsvReply(Reply):
    filename: str
    content: str


class DeliveryFile(Reply):
    """A document for another service (notifications attaches it to an e-mail)."""

    filename: str
    mime: str
    content_base64: str


class Criterion(Reply):
    id: int
    group: str
    group_label: str
    label: str
    weight: int
    threshold: int


class ScoredCriterion(Criterion):
    score: DecimalText | None
    score_display: str
    comment: str


class WorkspaceRow(Reply):
    evaluation_id: int
    call_id: int
    call_title: str
    organisation_name: str
    reference: str
    education_order: str
    status: AssignmentStatus
    status_label: str
    scored: int
    criteria_count: int
    saved_at: datetime | None
    submitted_at: datetime | None
    decided: bool


class Progress(Reply):
    total: int
    submitted: int
    draft: int
    todo: int


class CommitteeInstitution(Reply):
    key: str
    name: str
    conflict: bool


class EvaluatorCommittee(Reply):
    call_id: int
    call_title: str
    institutions: list[CommitteeInstitution]


class OwnConflict(Reply):
    organisation_name: str
    reason: str
    self_declared: bool
    at: datetime | None


class Workspace(Reply):
    assignments: list[WorkspaceRow]
    progress: Progress
    committees: list[EvaluatorCommittee]
    conflicts: list[OwnConflict]
    links: list[LinkView] = []


class AssignmentView(Reply):
    evaluation_id: int
    application_id: int | None
    content_available: bool
    call_id: int
    call_title: str
    organisation_name: str
    organisation_key: str
    reference: str
    education_order: str
    status: AssignmentStatus
    status_label: str
    locked: bool
    can_edit: bool
    saved_at: datetime | None
    submitted_at: datetime | None
    reopened_count: int
    criteria: list[ScoredCriterion]
    scored: int
    total_entered: DecimalText | None


class ConflictRecorded(Reply):
    organisation_name: str
    withdrawn: int


class LinkView(Reply):
    id: int
    user_id: int
    evaluator_name: str
    organisation_id: int
    organisation_name: str
    kind: LinkKind
    kind_label: str
    note: str
    recorded_by: str
    self_declared: bool
    at: datetime | None


class LinkRecorded(Reply):
    id: int
    organisation_name: str
    withdrawn: int


class LinkRemoved(Reply):
    removed: int


class DetectedConflict(Reply):
    """An evaluator who may not evaluate an application, and why."""

    evaluator_user_id: int
    evaluator_name: str
    evaluation_id: int
    reference: str
    organisation_name: str
    reason: str


class ProposedAssignment(Reply):
    evaluation_id: int
    reference: str
    organisation_name: str
    evaluator_user_id: int
    evaluator_name: str


class EvaluatorLoad(Reply):
    user_id: int
    full_name: str
    organisation_name: str | None
    before: int
    after: int


class AssignmentProposal(Reply):
    call_id: int
    call_title: str
    per_application: int
    feasible: bool
    problems: list[str]
    assignments: list[ProposedAssignment]
    loads: list[EvaluatorLoad]
    conflicts: list[DetectedConflict]
    open_evaluations: int
    fingerprint: str


class BulkAssigned(Reply):
    per_application: int
    assigned: int


class Parameters(Reply):
    min_evaluators: int
    spread_gap_percent: DecimalText | None
    spread_gap_display: str
    overall_threshold: DecimalText | None
    overall_threshold_display: str
    overall_threshold_is_default: bool


class Member(Reply):
    user_id: int
    full_name: str
    role: Role
    role_label: str
    organisation_name: str | None = None


class CommitteeConflict(Reply):
    evaluator_user_id: int
    evaluator_name: str
    organisation_name: str
    reason: str
    self_declared: bool
    recorded_by: str | None
    at: datetime | None


class EvaluatorScore(Reply):
    evaluator_user_id: int
    evaluator_name: str
    score: DecimalText | None
    score_display: str
    comment: str


class Cell(Reply):
    criterion_id: int
    scores: list[EvaluatorScore] | None
    mean: DecimalText | None
    mean_display: str
    consensus: DecimalText | None
    consensus_justification: str | None
    score: DecimalText | None
    score_display: str
    met: bool | None
    spread: DecimalText | None
    flagged: bool | None


class EvaluationAssignment(Reply):
    user_id: int
    evaluator_name: str
    status: AssignmentStatus
    status_label: str
    submitted_at: datetime | None
    reopened_count: int


class Assignable(Reply):
    user_id: int
    full_name: str


class EvaluationRow(Reply):
    id: int
    application_id: int | None
    source: str
    organisation_name: str
    organisation_key: str
    reference: str
    education_order: str
    status: EvaluationStatus
    status_label: str
    opened_at: datetime | None
    assignments: list[EvaluationAssignment]
    assigned_count: int
    submitted_count: int
    missing_evaluators: int
    assignable: list[Assignable]
    scores_visible: bool
    cells: list[Cell]
    total: DecimalText | None
    total_display: str
    pertinence_total: DecimalText | None
    overall_threshold: DecimalText | None
    meets_every_criterion: bool | None
    qualified: bool | None
    flagged: bool | None
    decision: Decision | None
    decision_label: str | None
    decision_date: date | None
    decided_by: str | None
    decision_justification: str | None


class Ranked(Reply):
    evaluation_id: int
    organisation_name: str
    reference: str
    rank: int
    total: DecimalText | None
    total_display: str
    pertinence_total: DecimalText | None
    pertinence_display: str
    tie: bool
    broken_by_pertinence: bool
    proposed: bool
    tie_at_cut: bool
    decision: Decision | None
    decision_label: str | None


class NotQualified(Reply):
    evaluation_id: int
    organisation_name: str
    reference: str
    total_display: str
    reasons: list[str]
    decision: Decision | None
    decision_label: str | None


class Pending(Reply):
    evaluation_id: int
    organisation_name: str


class OrderRanking(Reply):
    ranked: list[Ranked]
    not_qualified: list[NotQualified]
    pending: list[Pending]
    designated: list[str]
    designated_count: int
    remaining: int


class Recommendation(Reply):
    evaluation_ids: list[int]
    names: list[str]
    comment: str
    by: str | None
    at: datetime | None


class CommitteeCerac(Reply):
    id: int
    evaluation_id: int | None
    organisation_name: str
    education_order: str
    mandate_parts: list[str]
    experimentation_years: list[str]
    designated_on: date | None


class LogLine(Reply):
    action: str
    text: str
    by: str | None
    at: datetime | None


class CommitteeView(Reply):
    call_id: int
    call_title: str
    education_orders: list[str]
    experimentation_years: list[str]
    parameters: Parameters
    criteria: list[Criterion]
    grid_total: int
    members: list[Member]
    conflicts: list[CommitteeConflict]
    detected_conflicts: list[DetectedConflict] = []
    links: list[LinkView] = []
    institutions: list[tuple[str, str]]
    evaluations: list[EvaluationRow]
    ranking: dict[str, OrderRanking]
    recommendations: dict[str, Recommendation]
    ceracs: list[CommitteeCerac]
    log: list[LogLine]
    can_manage: bool
    max_per_order: int

    def evaluation(self, evaluation_id: int) -> EvaluationRow | None:
        return next((e for e in self.evaluations if e.id == evaluation_id), None)


class MemberCandidate(Reply):
    user_id: int
    full_name: str
    role: Role
    organisation_name: str | None = None


class CommitteePage(Reply):
    committee: CommitteeView
    candidates: list[MemberCandidate]


class CommitteeRow(Reply):
    call_id: int
    call_title: str
    evaluations: int
    open: int
    consolidated: int
    decided: int
    designated: int
    members: int


class MemberAdded(Reply):
    user_id: int
    full_name: str


class MemberRemoved(Reply):
    removed: int


class Assigned(Reply):
    evaluation_id: int
    user_id: int
    evaluator_name: str
    status: AssignmentStatus


class Unassigned(Reply):
    evaluation_id: int
    removed: int


class Reopened(Reply):
    evaluation_id: int
    user_id: int
    status: AssignmentStatus


class ConsensusRecorded(Reply):
    evaluation_id: int
    criterion_id: int
    score: DecimalText | None
    total: DecimalText | None
    qualified: bool | None


class RecommendationRecorded(Reply):
    education_order: EducationOrder
    evaluation_ids: list[int]


class DecisionRecorded(Reply):
    evaluation_id: int
    organisation_name: str
    education_order: str
    decision: Decision
    decision_label: str
    decision_date: date
    qualified: bool | None


class ResultCriterion(Criterion):
    score: DecimalText | None
    score_display: str
    met: bool | None


class InstitutionResult(Reply):
    evaluation_id: int
    application_id: int | None
    call_id: int
    call_title: str
    reference: str
    education_order: str
    decided: bool
    status_label: str
    decision: Decision | None
    decision_label: str | None
    decision_date: date | None
    total: DecimalText | None
    total_display: str | None
    overall_threshold: DecimalText | None
    overall_threshold_display: str | None
    qualified: bool | None
    criteria: list[ResultCriterion]
    experimentation_years: list[str]
    letter_available: bool


class OrderCount(Reply):
    education_order: str
    label: str
    count: int


class ScoringFigures(Reply):
    ceracs_per_order: list[OrderCount]
    max_per_order: int
    total: int


class MinistryPeriod(Reply):
    since: date
    name: str
    acronym: str
    minister: MinisterTitle
    minister_label: str
    edited: bool  # recorded by the ministry (the others ship with the platform)


class MinistryRemoved(Reply):
    removed: int


class Health(Reply):
    service: str
    database: str
    pending_events: int


# -- the service's RPC methods -----------------------------------------------------------------


class ScoringRpc(Protocol):
    """What the scoring service answers (the gateway adds the actor to each call)."""

    def health(self) -> Health: ...
    def network_figures(self) -> ScoringFigures: ...
    def home_summary(self) -> list[NextAction]: ...

    # evaluators
    def workspace(self) -> Workspace:
        """Mes évaluations : demandes confiées, progression, établissements de mes comités"""

    def get_assignment(self, evaluation_id: int) -> AssignmentView:
        """Une demande qui m'est confiée : la grille et mes notes (jamais celles des autres)"""

    def ensure_may_read_application(self, application_id: int) -> None: ...
    def save_scores(self, evaluation_id: int, data: ScoresIn) -> AssignmentView:
        """Enregistrer mes notes (brouillon) ou les soumettre (submit: true)"""

    def declare_conflict(self, call_id: int, data: ConflictIn) -> ConflictRecorded:
        """Déclarer mon conflit d'intérêts avec un établissement de l'appel"""

    def declare_link(self, data: LinkIn) -> LinkRecorded:
        """Déclarer un lien avec un établissement (le mien; celui d'un membre pour
        l'administration) : ses demandes deviennent des conflits d'intérêts"""

    def remove_link(self, link_id: int) -> LinkRemoved:
        """Retirer un lien déclaré (le mien; tout lien pour l'administration)"""

    # the committee
    def list_committees(self) -> list[CommitteeRow]:
        """Comités d'évaluation, par appel"""

    def get_committee(self, call_id: int) -> CommitteeView:
        """Vue du comité : matrice demandes × critères, classement par ordre, décisions"""

    def committee_page(self, call_id: int) -> CommitteePage: ...
    def member_candidates(self, call_id: int) -> list[MemberCandidate]: ...
    def set_parameters(self, call_id: int, data: ParametersIn) -> Parameters:
        """Paramètres du comité : évaluateurs par demande, écart toléré, seuil global"""

    def add_member(self, call_id: int, data: UserIn) -> MemberAdded:
        """Faire siéger une évaluatrice, un évaluateur ou un analyste au comité"""

    def remove_member(self, call_id: int, user_id: int) -> MemberRemoved: ...
    def assign(self, evaluation_id: int, data: UserIn) -> Assigned:
        """Confier une demande à un membre du comité"""

    def unassign(self, evaluation_id: int, user_id: int) -> Unassigned:
        """Retirer une affectation (évaluation non soumise)"""

    def record_conflict(self, call_id: int, data: ConflictIn) -> ConflictRecorded:
        """Consigner un conflit d'intérêts entre un membre et un établissement"""

    def assignment_proposal(self, call_id: int, query: ProposalQuery) -> AssignmentProposal:
        """Aperçu de l'affectation groupée : N évaluateurs par demande, charge équilibrée,
        aucun conflit d'intérêts (rien n'est enregistré)"""

    def assign_in_bulk(self, call_id: int, data: BulkAssignmentIn) -> BulkAssigned:
        """Enregistrer l'affectation groupée prévisualisée (sans effet si déjà faite)"""

    def reopen(self, evaluation_id: int, data: ReopenIn) -> Reopened:
        """Rouvrir l'évaluation soumise d'un membre (motif consigné)"""

    def record_consensus(self, evaluation_id: int, data: ConsensusIn) -> ConsensusRecorded:
        """Consigner une note de consensus justifiée pour un critère"""

    def record_recommendation(self, call_id: int, data: RecommendationIn) -> RecommendationRecorded:
        """Consigner la recommandation du comité pour un ordre d'enseignement (3 au plus)"""

    def decide(self, evaluation_id: int, data: DecisionIn) -> DecisionRecorded:
        """Consigner la décision de la ou du ministre (3 désignations au plus par ordre)"""

    def committee_csv(self, call_id: int) -> CsvReply:
        """Matrice du comité en CSV (UTF-8, point-virgule)"""

    @slow(60)
    def committee_pdf(self, call_id: int) -> FileReply: ...

    # the ministry's names and ministers over time (letters and reports)
    def list_ministries(self) -> list[MinistryPeriod]:
        """Le ministère et sa ou son titulaire, par période (en-tête et signature des lettres)"""

    def save_ministry(self, data: MinistryPeriodIn) -> MinistryPeriod:
        """Consigner une période du ministère (remplace celle qui commence le même jour)"""

    def remove_ministry(self, since: date) -> MinistryRemoved:
        """Retirer une période consignée par le ministère"""

    # institutions and letters
    def my_results(self) -> list[InstitutionResult]:
        """Résultats de l'évaluation des demandes de mon établissement"""

    @slow(60)
    def get_letter(self, evaluation_id: int) -> FileReply:
        """Lettre de désignation ou de non-désignation (PDF)"""


class ScoringDeliveryRpc(Protocol):
    """For services, not users (notifications attaches the letters)."""

    def letter_pdf_for_delivery(self, evaluation_id: int) -> DeliveryFile: ...
