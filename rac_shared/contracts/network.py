"""The applications service's contract, second part: the network of designated CERACs
(searched by competence area and text, never by territory), support requests between
institutions and CERACs, the yearly reddition de comptes and the special mandates.

The texts people write here (support requests, objectives, narratives, indicators) are kept
as typed, markup included: pages, e-mails and PDFs show them escaped or literally.
Indicator values are Decimals on the bus (``"12.50"``), typed the French way (``12,5``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Protocol

from pydantic import BeforeValidator, Field, PlainSerializer, field_validator

from rac_shared.actor import Role
from rac_shared.contracts.base import (
    DecimalText,
    FormLines,
    Measured,
    Messages,
    OptionalDate,
    OptionalInt,
    Reply,
    Strict,
    Vocabulary,
)
from rac_shared.contracts.listing import ListQuery, Page
from rac_shared.contracts.scoring import EducationOrder

# -- vocabularies and limits ---------------------------------------------------------------

MAX_INDICATORS = 20
MAX_DECIMAL = Decimal("999999999999.99")


def free_text(max_length: int, min_length: int = 0) -> Any:
    """Text kept exactly as typed, markup included (shown escaped everywhere), of at most
    ``max_length`` characters."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length)]


class MandatePart(Vocabulary):
    OFFER = "offer", "Accroître l'offre de service en RAC"
    QUALITY = "quality", "Améliorer la qualité des services offerts"
    DEVELOPMENT = "development", "Contribuer au développement de la RAC"


ORDER_LABELS = {"secondaire": "Ordre secondaire (FP)", "collégial": "Ordre collégial"}


class CompetenceArea(Vocabulary):
    """Competence areas of the CERACs, after the three parts of the mandate (seed 000)."""

    DEMARCHE = "demarche", "Accompagnement dans les étapes de la démarche de RAC"
    SERVICE = "service", "Mise en place et fonctionnement d'un service de RAC"
    HARMONISATION = (
        "harmonisation",
        "Harmonisation des pratiques (cohérence, équité, équivalence)",
    )
    INSTRUMENTATION = "instrumentation", "Élaboration de l'instrumentation en RAC"
    FORMATION_MANQUANTE = (
        "formation_manquante",
        "Acquisition des compétences manquantes (formation manquante)",
    )
    DISTANCE = "distance", "Offre de service en RAC à distance"
    WEB = "web", "Sites Internet et outils numériques"
    MILIEU_TRAVAIL = "milieu_travail", "RAC en milieu de travail"
    SPECIALISTES = "specialistes", "Formation des conseillers et des spécialistes de contenu"


class SupportStatus(Vocabulary):
    OPEN = "open", "En attente de réponse"
    ANSWERED = "answered", "Répondue"


class ReportStatus(Vocabulary):
    DRAFT = "draft", "En rédaction"
    SUBMITTED = "submitted", "Déposé, en analyse"
    CHANGES_REQUESTED = "changes_requested", "Modifications demandées"
    ACCEPTED = "accepted", "Accepté"


class ReportKind(Vocabulary):
    YEARLY = "yearly", "Reddition annuelle"
    MANDATE = "mandate", "Mandat particulier"


class IndicatorSource(Vocabulary):
    """Indicators the platform fills in (the support requests of the year)."""

    SUPPORT_RECEIVED = "support_received", "Demandes d'appui reçues d'autres établissements"
    SUPPORT_ANSWERED = "support_answered", "Demandes d'appui auxquelles le CERAC a répondu"


class ReportDecision(Vocabulary):
    ACCEPTED = "accepted", "Accepter le rapport"
    CHANGES_REQUESTED = "changes_requested", "Demander des modifications"


def _blank_is_none(value):
    return value or None


NUMBER_MESSAGE = "Un nombre est attendu (p. ex. 12,5)."


def _indicator_value(value) -> Decimal | None:
    """French or plain decimals: ``"12,5"``, ``"1 250,00"``, ``12``; blank → None; never
    negative, at most two decimals."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(NUMBER_MESSAGE)
    if isinstance(value, float):
        value = repr(value)
    cleaned = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not cleaned:
        return None
    try:
        number = Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        raise ValueError(NUMBER_MESSAGE) from None
    if not number.is_finite():
        raise ValueError(NUMBER_MESSAGE)
    if number < 0:
        raise ValueError("La valeur ne peut pas être négative.")
    if number > MAX_DECIMAL:
        raise ValueError("Le nombre est trop grand.")
    if number != number.quantize(Decimal("0.01")):
        raise ValueError("Au plus deux décimales.")
    return number.quantize(Decimal("0.01"))


def _positive_amount(value) -> Decimal:
    amount = _indicator_value(value)
    if amount is None or amount <= 0:
        raise ValueError("Le montant doit être plus grand que zéro.")
    return amount


def _json_decimal(number: Decimal | None) -> str | None:
    return None if number is None else format(number, "f")


IndicatorValue = Annotated[
    Decimal | None,
    Measured,
    BeforeValidator(_indicator_value),
    PlainSerializer(_json_decimal, return_type=str | None, when_used="json"),
]
MandateAmount = Annotated[
    Decimal,
    BeforeValidator(_positive_amount),
    PlainSerializer(_json_decimal, return_type=str, when_used="json"),
]


def _split_lines(value) -> list[str]:
    """Items typed one per line or separated by commas (``180.A0, LCA.5X``)."""
    items = [value] if isinstance(value, str) else list(value or [])
    return [part for item in items for part in re.split(r"[,;\n]+", str(item))]


# -- inputs ------------------------------------------------------------------------------------


class NetworkSort(Vocabulary):
    ORDER = "ordre", "Ordre d'enseignement, puis nom"
    NAME = "nom", "Nom"
    DESIGNATED = "designation", "Désignation, la plus récente d'abord"


class NetworkQuery(ListQuery):
    q: str = Field("", max_length=200, title="Mot-clé")
    domaine: Annotated[CompetenceArea | None, BeforeValidator(_blank_is_none)] = Field(
        None, title="Domaine de compétence"
    )
    ordre: Annotated[EducationOrder | None, BeforeValidator(_blank_is_none)] = Field(
        None, title="Ordre d'enseignement"
    )
    sort: Annotated[NetworkSort, BeforeValidator(lambda v: v or NetworkSort.ORDER)] = Field(
        NetworkSort.ORDER, title="Trier par"
    )


class CompetencesIn(Strict):
    areas: list[CompetenceArea] = Field(default_factory=list, max_length=20, title="Domaines")
    programs: Annotated[list[str], BeforeValidator(_split_lines), FormLines] = Field(
        default_factory=list, max_length=30, title="Codes de programme"
    )

    @field_validator("programs")
    @classmethod
    def _programs(cls, value: list[str]) -> list[str]:
        return [v.strip().upper() for v in value if v and v.strip()]


class SupportRequestIn(Strict):
    object: Annotated[free_text(300, 3), Messages(string_too_short="Au moins 3 caractères.")] = (
        Field(title="Objet")
    )
    program: free_text(200) = Field("", title="Programme visé")
    message: Annotated[
        free_text(5000, 10), Messages(string_too_short="Au moins 10 caractères.")
    ] = Field(title="Message")


class SupportAnswerIn(Strict):
    answer: Annotated[free_text(5000, 3), Messages(string_too_short="Au moins 3 caractères.")] = (
        Field(title="Votre réponse")
    )


class IndicatorIn(Strict):
    label: free_text(300) = Field("", title="Indicateur")
    unit: free_text(60) = Field("", title="Unité")
    target: IndicatorValue = Field(None, title="Valeur cible", description="p. ex. « 12.5 »")
    achieved: IndicatorValue = Field(None, title="Valeur atteinte")
    source: Annotated[IndicatorSource | None, BeforeValidator(_blank_is_none)] = None


class ReportSectionIn(Strict):
    objectives: free_text(10000) = Field("", title="Objectifs")
    narrative: free_text(20000) = Field("", title="Bilan des réalisations")
    indicators: list[IndicatorIn] = Field(
        default_factory=list, max_length=MAX_INDICATORS, title="Indicateurs"
    )


SectionKey = Annotated[str, Field(min_length=1, max_length=20)]


class ReportDraftIn(Strict):
    sections: dict[SectionKey, ReportSectionIn] = Field(
        max_length=30, description="Clé de section (offer, quality, development, livrable-N)"
    )


class ReportAttachmentSection(Strict):
    """The section a file joins: what the upload form posts besides the file."""

    section: SectionKey = Field(title="Section")


class ReportAttachmentIn(ReportAttachmentSection):
    filename: str = Field(min_length=1, max_length=500, title="Fichier")
    content_b64: str


class ReportReviewIn(Strict):
    decision: Annotated[
        ReportDecision,
        Field(title="Décision"),
        Messages(missing="Choisissez : accepter le rapport ou demander des modifications."),
    ]
    comments: dict[SectionKey, free_text(4000)] = Field(
        default_factory=dict, max_length=30, title="Commentaires"
    )
    general_comment: free_text(4000) = Field("", title="Commentaire général")


class DeadlineIn(Strict):
    experimentation_year: Annotated[
        str,
        Field(pattern=r"^\d{4}-\d{4}$", title="Année d'expérimentation"),
        Messages(string_pattern_mismatch="Format attendu : 2013-2014."),
    ]
    due_date: date = Field(title="Échéance")


def _deliverables(value: list[str]) -> list[str]:
    items = [v.strip() for v in value if v and v.strip()]
    if not items:
        raise ValueError("Indiquez au moins un livrable.")
    if any(len(v) > 500 for v in items):
        raise ValueError("Un livrable compte au plus 500 caractères.")
    return list(dict.fromkeys(items))


class SpecialMandateIn(Strict):
    cerac_id: int = Field(ge=1, title="CERAC")
    object: Annotated[free_text(300, 5), Messages(string_too_short="Au moins 5 caractères.")] = (
        Field(title="Objet du mandat")
    )
    deliverables: Annotated[list[str], FormLines] = Field(
        min_length=1, max_length=10, title="Livrables"
    )
    due_date: date = Field(title="Échéance")
    amount: MandateAmount = Field(
        title="Montant accordé", description="Montant en texte décimal, p. ex. « 25000.00 »"
    )

    @field_validator("deliverables")
    @classmethod
    def _check_deliverables(cls, value: list[str]) -> list[str]:
        return _deliverables(value)


class ReportSort(Vocabulary):
    """How a list of reports is sorted; the reader's work first by default (the ministry:
    reports to analyse; a CERAC: changes requested, then drafts, the most late first)."""

    TO_DO = "a-faire", "Travail à faire d'abord, l'échéance la plus ancienne en tête"
    DUE = "echeance", "Échéance, la plus ancienne d'abord"
    CERAC = "cerac", "CERAC"
    UPDATED = "modification", "Dernière modification, la plus récente d'abord"


class ReportQuery(ListQuery):
    status: Annotated[ReportStatus | None, BeforeValidator(_blank_is_none)] = Field(
        None, title="Statut"
    )
    late: bool = Field(False, title="En retard seulement")
    year: Annotated[str | None, BeforeValidator(_blank_is_none)] = Field(
        None, pattern=r"^\d{4}-\d{4}$", title="Année d'expérimentation"
    )
    cerac_id: OptionalInt = Field(None, title="CERAC")
    sort: Annotated[ReportSort, BeforeValidator(lambda v: v or ReportSort.TO_DO)] = Field(
        ReportSort.TO_DO, title="Trier par"
    )


# -- replies -----------------------------------------------------------------------------------


class KeyLabel(Reply):
    key: str
    label: str


class Contact(Reply):
    full_name: str
    title: str
    role: Role
    email: str


class CeracView(Reply):
    id: int
    organisation_id: int | None
    organisation_name: str
    education_order: str
    education_order_label: str
    mandate_parts: list[KeyLabel]
    experimentation_years: list[str]
    designated_on: date
    competence_areas: list[KeyLabel]
    programs: list[str]
    contacts: list[Contact]
    on_platform: bool
    mine: bool


class CeracPage(CeracView):
    can_request_support: bool
    areas: list[KeyLabel]


class CeracPageOfList(Page[CeracView]):
    """A page of the network's CERACs (``next_cursor`` asks for the next one)."""


class NetworkView(Reply):
    ceracs: CeracPageOfList
    areas: list[KeyLabel]
    query: NetworkQuery


class SupportRequestView(Reply):
    id: int
    cerac_id: int
    cerac_name: str
    requester_organisation_id: int
    requester_name: str
    requested_by: str
    object: str
    program: str
    message: str
    status: SupportStatus
    status_label: str
    created_at: datetime
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None


class SupportRequests(Reply):
    is_cerac: bool
    received: list[SupportRequestView]
    sent: list[SupportRequestView]

    def received_one(self, request_id: int) -> SupportRequestView | None:
        return next((r for r in self.received if r.id == request_id), None)


class ReportSummary(Reply):
    id: int
    cerac_id: int
    organisation_id: int | None
    organisation_name: str
    education_order: str
    kind: ReportKind
    kind_label: str
    period_label: str
    experimentation_year: str | None
    special_mandate_id: int | None
    due_date: date
    status: ReportStatus
    status_label: str
    overdue: bool
    days_late: int
    versions_count: int
    last_submitted_at: datetime | None
    last_version_late: bool
    updated_at: datetime


class MandateView(Reply):
    id: int
    cerac_id: int
    organisation_name: str
    object: str
    deliverables: list[str]
    due_date: date
    amount: DecimalText
    assigned_by: str | None
    assigned_at: datetime


class MandateAssigned(MandateView):
    report_id: int


class Deadline(Reply):
    experimentation_year: str
    due_date: date
    set_by: str | None


class ReportPage(Page[ReportSummary]):
    """A page of reports (``next_cursor`` asks for the next one)."""


class ReportingOverview(Reply):
    reports: ReportPage
    mandates: list[MandateView]
    ceracs: list[CeracView]
    is_cerac: bool
    is_staff: bool
    deadlines: list[Deadline]
    years: list[str]
    status_labels: dict[str, str]
    query: ReportQuery


class IndicatorView(Reply):
    label: str
    unit: str
    target: DecimalText | None
    achieved: DecimalText | None
    source: IndicatorSource | None


class ReportAttachment(Reply):
    id: int
    section: str
    filename: str
    mime: str
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: datetime


class ListedAttachment(ReportAttachment):
    frozen: bool  # part of a submitted version: kept with the history


class ReportAttachmentFile(ReportAttachment):
    content_b64: str


class ReportSectionView(Reply):
    key: str
    title: str
    objectives: str
    narrative: str
    indicators: list[IndicatorView]
    missing: list[str]
    attachments: list[ListedAttachment]


class VersionSummary(Reply):
    number: int
    submitted_at: datetime
    submitted_by: str | None
    due_date: date
    late: bool
    decision: ReportDecision | None
    decision_label: str
    comments: dict[str, str]
    general_comment: str
    reviewed_at: datetime | None
    reviewed_by: str | None


class ReportCerac(Reply):
    id: int
    organisation_name: str
    education_order: str


class ReportView(ReportSummary):
    cerac: ReportCerac
    special_mandate: MandateView | None
    sections: list[ReportSectionView]
    missing: list[str]
    complete: bool
    versions: list[VersionSummary]
    last_review: VersionSummary | None
    can_edit: bool
    can_review: bool
    require_indicators: bool

    def section_title(self, key: str) -> str:
        return next((s.title for s in self.sections if s.key == key), key)


class ReportSubmitted(ReportSummary):
    version: VersionSummary


class FrozenAttachment(Reply):
    id: int
    filename: str
    mime: str
    size: int
    sha256: str


class FrozenSection(Reply):
    key: str
    title: str
    objectives: str
    narrative: str
    indicators: list[IndicatorView]
    attachments: list[FrozenAttachment]


class VersionContent(Reply):
    sections: list[FrozenSection]


class VersionView(VersionSummary):
    report: ReportSummary
    content: VersionContent


class StatusCount(Reply):
    status: ReportStatus
    label: str
    count: int


class LateReport(Reply):
    report_id: int
    cerac_id: int
    organisation_name: str
    kind: ReportKind
    period_label: str
    special_mandate_id: int | None
    due_date: date
    days_late: int


class SupportFigures(Reply):
    cerac_id: int
    organisation_name: str
    education_order: str
    received: int
    answered: int


class SupportTotals(Reply):
    received: int
    answered: int


class ReportingFigures(Reply):
    as_of: date
    reports_by_status: list[StatusCount]
    reports_total: int
    late_reports: list[LateReport]
    late_count: int
    late_submissions: int
    support_requests: list[SupportFigures]
    support_totals: SupportTotals


class Deleted(Reply):
    deleted: int


# -- the service's RPC methods -----------------------------------------------------------------


class NetworkRpc(Protocol):
    """What the applications service answers about the CERAC network, support requests and
    the reddition de comptes (the gateway adds the actor to each call)."""

    # the network
    def network_ceracs(self, query: NetworkQuery | None = None) -> NetworkView:
        """Les CERAC du réseau (paramètres : q = texte, domaine = domaine de compétence)"""

    def get_cerac(self, cerac_id: int) -> CeracPage:
        """Un CERAC et ses contacts"""

    def update_cerac_competences(self, cerac_id: int, data: CompetencesIn) -> CeracView:
        """Domaines de compétence et programmes du CERAC (ses propres utilisateurs)"""

    def request_support(self, cerac_id: int, data: SupportRequestIn) -> SupportRequestView:
        """Demander l'appui d'un CERAC (objet, programme, message)"""

    def support_requests(self) -> SupportRequests:
        """Demandes d'appui envoyées et, pour un CERAC, reçues"""

    def answer_support(self, request_id: int, data: SupportAnswerIn) -> SupportRequestView:
        """Répondre à une demande d'appui reçue par son CERAC"""

    # reddition de comptes and special mandates
    def reporting_overview(self, query: ReportQuery | None = None) -> ReportingOverview:
        """Rapports visibles, une page (paramètres : status, late=1, year, cerac_id, sort);
        mandats et CERAC"""

    def list_reports(self, query: ReportQuery | None = None) -> ReportPage:
        """Rapports visibles, une page à la fois (filtres status, late, year, cerac_id; tri
        sort, travail à faire d'abord par défaut)"""

    def get_report(self, report_id: int) -> ReportView:
        """Un rapport"""

    def save_report(self, report_id: int, data: ReportDraftIn) -> ReportView:
        """Enregistrer le brouillon (objectifs, indicateurs, bilan par section)"""

    def upload_report_attachment(
        self, report_id: int, data: ReportAttachmentIn
    ) -> ReportAttachment:
        """Joindre un fichier à une section (multipart/form-data : file, section)"""

    def get_report_attachment(self, report_id: int, attachment_id: int) -> ReportAttachmentFile:
        """Télécharger une pièce jointe d'un rapport"""

    def delete_report_attachment(self, report_id: int, attachment_id: int) -> Deleted:
        """Retirer une pièce jointe (pas celles d'une version déposée)"""

    def submit_report(self, report_id: int) -> ReportSubmitted:
        """Déposer le rapport (fige une version)"""

    def review_report(self, report_id: int, data: ReportReviewIn) -> ReportSubmitted:
        """Accepter le rapport déposé ou demander des modifications (commentaires par section)"""

    def get_report_version(self, report_id: int, number: int) -> VersionView:
        """Une version déposée, figée"""

    def set_report_deadline(self, data: DeadlineIn) -> Deadline:
        """Fixer l'échéance des rapports d'une année d'expérimentation"""

    def assign_special_mandate(self, data: SpecialMandateIn) -> MandateAssigned:
        """Confier un mandat particulier à un CERAC (objet, livrables, échéance, montant)"""

    def reporting_figures(self, as_of: OptionalDate = None) -> ReportingFigures:
        """Indicateurs de la reddition de comptes (paramètre : as_of=AAAA-MM-JJ)"""
