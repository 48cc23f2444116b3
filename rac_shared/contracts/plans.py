"""The plans service's contract: workplace RAC implementation plans (seed 004), from the
institution's draft to the employer's written acceptance within 30 days, amendments,
cancellation and the follow-up of each candidate-worker.

A version's content is one document (``PlanContent``): every section of the cégep's
template, stored as the JSON these models dump, validated again on every change and hashed
(SHA-256 of its canonical JSON) when the version is issued, so its shape never changes for
a version already issued. Text typed by people is plain text (``rac_shared.contracts.base``)
and the logo only an inline PNG or JPEG the platform checked itself.

Money is billing's: the estimate a plan shows (a draft's, or the one frozen at issue) is
billing's reply, carried here as a mapping until billing's own contract declares it.
Every reply is shaped for the actor asking (an employer never sees a draft, nor a named
candidate-worker's results): see ``services/plans/views.py``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from rac_shared.contracts import HealthReport, NextAction
from rac_shared.contracts.base import (
    Email,
    FormLines,
    Line,
    Messages,
    Name,
    OptionalDate,
    OptionalInt,
    Reply,
    Strict,
    Text,
    Vocabulary,
    slow,
    text,
)
from rac_shared.contracts.billing import EstimateSpec, EstimateView
from rac_shared.contracts.calendar import CalendarRpc
from rac_shared.contracts.listing import ListQuery, Page
from rac_shared.contracts.tasks import TaskStatus  # noqa: F401  (re-exported: the plans views carry it)

# -- vocabularies and limits ---------------------------------------------------------------

MAX_LOGO_BYTES = 512 * 1024
MAX_SCAN_BYTES = 10 * 1024 * 1024  # a signed acceptance's scan, under the 12 Mo body limit
ISSUE_SECONDS = 90  # a whole plan rendered to PDF (a preview; an issued one's first read)
PROGRAM_CODE = re.compile(r"^[A-Z0-9]{3}\.[A-Z0-9]{2}$")


class PlanStatus(Vocabulary):
    DRAFT = "draft", "Brouillon", "Draft"
    ISSUED = "issued", "Émis", "Issued"
    ACCEPTED = "accepted", "Accepté", "Accepted"
    LAPSED = "lapsed", "Caduc", "Lapsed"
    CANCELLED = "cancelled", "Annulé", "Cancelled"
    COMPLETED = "completed", "Terminé", "Completed"
    DECLINED = "declined", "Refusé", "Declined"


class VersionStatus(Vocabulary):
    DRAFT = "draft", "Brouillon", "Draft"
    ISSUED = "issued", "Émise, en attente d'acceptation", "Issued, awaiting acceptance"
    ACCEPTED = "accepted", "Acceptée", "Accepted"
    LAPSED = "lapsed", "Caduque (résolue de plein droit)", "Lapsed (void by operation of law)"
    SUPERSEDED = "superseded", "Remplacée", "Superseded"
    WITHDRAWN = "withdrawn", "Retirée", "Withdrawn"
    CANCELLED = "cancelled", "Annulée", "Cancelled"
    DECLINED = "declined", "Refusée par l'organisation", "Declined by the organisation"


class Stage(Vocabulary):
    """Where a candidate-worker is in the démarche: the seed's steps in order, between not
    started and abandoned (an evaluation per competency or group stands for « evaluations »)."""

    NOT_STARTED = "not_started", "Pas encore commencé", "Not started yet"
    INFORMATION_MEETING = (
        "information_meeting",
        "Rencontre d’information (membres du personnel et candidats-travailleurs potentiels)",
        "Information meeting (staff members and potential candidate-workers)",
    )
    FILE_DEPOSIT = "file_deposit", "Dépôt du dossier", "Submission of the file"
    VALIDATION_INTERVIEW = "validation_interview", "Entrevue de validation", "Validation interview"
    WELCOME_MEETING = "welcome_meeting", "Rencontre d’accueil", "Welcome meeting"
    EVALUATIONS = "evaluations", "Évaluation des compétences", "Evaluation of the competencies"
    MISSING_TRAINING = (
        "missing_training",
        "Formation manquante (au besoin)",
        "Missing training (if needed)",
    )
    SANCTION = "sanction", "Sanction", "Certification"
    ABANDONED = "abandoned", "Abandon de la démarche", "Withdrawal from the process"


# The seed's steps, in order (the evaluations in the middle come from the competencies).
STEPS = tuple(s for s in Stage if s not in (Stage.NOT_STARTED, Stage.ABANDONED))
# What the institution records as reached (an abandonment has its own form and date).
PROGRESS_STAGES = tuple(s for s in Stage if s is not Stage.ABANDONED)


class StepKind(Vocabulary):
    """The steps a plan dates itself (the evaluations follow each candidate's calendar)."""

    INFORMATION_MEETING = (
        "information_meeting",
        Stage.INFORMATION_MEETING.label,
        Stage.INFORMATION_MEETING.english,
    )
    FILE_DEPOSIT = "file_deposit", Stage.FILE_DEPOSIT.label, Stage.FILE_DEPOSIT.english
    VALIDATION_INTERVIEW = (
        "validation_interview",
        Stage.VALIDATION_INTERVIEW.label,
        Stage.VALIDATION_INTERVIEW.english,
    )
    WELCOME_MEETING = "welcome_meeting", Stage.WELCOME_MEETING.label, Stage.WELCOME_MEETING.english
    MISSING_TRAINING = (
        "missing_training",
        Stage.MISSING_TRAINING.label,
        Stage.MISSING_TRAINING.english,
    )
    SANCTION = "sanction", Stage.SANCTION.label, Stage.SANCTION.english


class Result(Vocabulary):
    IN_PROGRESS = "en_cours", "En cours", "In progress"
    RECOGNISED = "reconnue", "Reconnue", "Recognised"
    MISSING_TRAINING = "formation_manquante", "Formation manquante", "Missing training"


class Modality(Vocabulary):
    ONLINE = "online", "En ligne", "Online"
    IN_PERSON = "in_person", "En présentiel", "In person"


class AnnexBCategory(Vocabulary):
    ACCOMPANIMENT = (
        "accompaniment",
        "Moyens d’accompagnement mis en place pour soutenir les candidats-travailleurs",
        "Means of support put in place for the candidate-workers",
    )
    FACILITATING = (
        "facilitating",
        "Conditions facilitantes mises en place en lien avec les conditions de reconnaissance",
        "Facilitating conditions put in place in connection with the recognition conditions",
    )
    MODALITIES = (
        "modalities",
        "Modalités mises en place pour soutenir les candidats-travailleurs",
        "Arrangements put in place to support the candidate-workers",
    )


class ProgramKind(Vocabulary):
    AEC = "AEC", "AEC — attestation d'études collégiales", "AEC (Attestation of College Studies)"
    DEC = "DEC", "DEC — diplôme d'études collégiales", "DEC (Diploma of College Studies)"


class Party(Vocabulary):
    INSTITUTION = "institution", "l'établissement", "the institution"
    EMPLOYER = "employer", "l'organisation", "the organisation"


class AcceptanceChannel(Vocabulary):
    ONLINE = "online", "Acceptation en ligne", "Online acceptance"
    RECORDED = (
        "recorded",
        "Acceptation écrite reçue par l'établissement",
        "Written acceptance received by the institution",
    )


# -- validators of the plan's text ----------------------------------------------------------


def program_code(value) -> str:
    """``jee.0k`` → ``JEE.0K``; a program code is three characters, a dot, two characters."""
    value = str(value or "").strip().upper()
    if not PROGRAM_CODE.match(value):
        raise ValueError("Le code du programme doit être de la forme XXX.XX (p. ex. JEE.0K).")
    return value


def check_logo(value: str) -> str:
    """Only an inline PNG or JPEG (``data:image/png;base64,…``): no URL of any other kind
    (``file:``, ``http:``…), whose content is really that image."""
    if not value:
        return value
    match = re.fullmatch(r"data:(image/png|image/jpeg);base64,([A-Za-z0-9+/=\s]+)", value)
    if not match:
        raise ValueError(
            "Le logo doit être une image PNG ou JPEG téléversée; les adresses (file:, http:…) "
            "ne sont pas acceptées."
        )
    try:
        content = base64.b64decode(match.group(2), validate=False)
    except (binascii.Error, ValueError):
        raise ValueError("L'image du logo est mal encodée.") from None
    if len(content) > MAX_LOGO_BYTES:
        raise ValueError("Le logo dépasse 512 Ko.")
    png = content.startswith(b"\x89PNG\r\n\x1a\n")
    jpeg = content.startswith(b"\xff\xd8\xff")
    if not ((png and match.group(1) == "image/png") or (jpeg and match.group(1) == "image/jpeg")):
        raise ValueError("Le contenu du logo n'est pas une image PNG ou JPEG.")
    return value


def _whole_number(value):
    """A number typed in a form (``"6"``) as the integer a literal choice compares with."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _accept_statement(value: str) -> str:
    if value.strip().replace("'", "’").lower() != "j’accepte":
        raise ValueError("Écrivez « J’accepte » pour accepter le plan.")
    return ACCEPTANCE_STATEMENT


ACCEPTANCE_STATEMENT = "J’accepte"
ProgramCode = Annotated[str, BeforeValidator(program_code), Field(max_length=6)]
Logo = Annotated[str, AfterValidator(check_logo)]
Rhythm = Annotated[Literal[3, 6], BeforeValidator(_whole_number)]
Weeks = Annotated[int, Field(ge=1, le=104)]
CompetencyCode = text(12, 1)
RequiredEmail = Annotated[Email, Field(min_length=1)]
Reason = Annotated[text(2000, 5), Messages(string_too_short="Au moins 5 caractères.")]
# A field added to the plan's document after plans were issued: left out of the stored JSON
# while empty, so that every document, issued or not, keeps the shape it had.
AddedLine = Annotated[Line, Field(exclude_if=lambda value: not value)]


class PlanInput(Strict):
    """An input of the plans service: its refusals name the first problem (the API has
    always said so)."""

    refusal_headline: ClassVar[str | None] = "Les données du plan sont invalides"


# -- the plan's document: every section of the cégep's template -------------------------------


class InstitutionParty(PlanInput):
    """« Par : » — the institution's direction, name, address and contact details."""

    name: Name = Field(title="Nom de l'établissement")
    address: Text = Field("", title="Adresse de l'établissement")
    contact: Line = Field("", title="Coordonnées (téléphone, courriel)")
    signatory_name: Line = Field("", title="Personne signataire (direction)")
    signatory_title: Line = Field("", title="Titre de la direction")


class EmployerParty(PlanInput):
    """« Pour : » — the organisation, its service (if any), address and representative."""

    name: Name = Field(title="Nom de l'organisation")
    service: Line = Field("", title="Service (s'il y a lieu)")
    address: Text = Field("", title="Adresse et coordonnées")
    representative_name: Line = Field("", title="Personne représentante")
    representative_title: Line = Field("", title="Titre de la personne représentante")
    representative_email: Email = Field("", title="Courriel de la personne représentante")


class Program(PlanInput):
    kind: ProgramKind = Field(title="Type de programme")
    code: ProgramCode = Field(title="Code du programme")
    title: Name = Field(title="Titre du programme")
    field_of_study: AddedLine = Field("", title="Domaine d'étude du programme")


class Specialist(PlanInput):
    name: Name = Field(title="Nom")
    field: Line = Field(title="Domaine")


class Competency(PlanInput):
    code: CompetencyCode = Field(title="Code de la compétence")
    statement: Annotated[text(500, 3), Messages(string_too_short="Au moins 3 caractères.")] = Field(
        title="Énoncé"
    )
    group: text(60) = Field("", title="Regroupement")
    weeks_3h: Weeks = Field(title="Nombre de semaines à 3 h / semaine")
    weeks_6h: Weeks = Field(title="Nombre de semaines à 6 h / semaine")

    @model_validator(mode="after")
    def _faster_at_six_hours(self):
        if self.weeks_6h > self.weeks_3h:
            raise ValueError(
                "À raison de 6 h par semaine, la durée ne peut dépasser celle à 3 h par semaine."
            )
        return self


class CandidateIn(PlanInput):
    """A candidate-worker added to the draft (the service gives the id)."""

    full_name: Name = Field(title="Nom complet")
    job_title: Line = Field(title="Fonction")
    email: RequiredEmail = Field(title="Courriel")
    rhythm: Rhythm = Field(title="Rythme choisi")
    start_date: dt.date = Field(title="Date de début")
    modality: Modality = Field(title="Modalité")


class Candidate(CandidateIn):
    id: int | None = None  # assigned by the service (progress is tracked by this id)


class Step(PlanInput):
    """One of the seed's steps, with dates or a period in words (« Automne 2026 »)."""

    kind: StepKind = Field(title="Étape")
    start: OptionalDate = Field(None, title="Début (ou date)")
    end: OptionalDate = Field(None, title="Fin")
    period: Line = Field("", title="Période (en mots)")

    @model_validator(mode="after")
    def _ordered(self):
        if self.start and self.end and self.end < self.start:
            raise ValueError("La fin d'une étape ne peut précéder son début.")
        return self


class AnnexBEntry(PlanInput):
    category: AnnexBCategory = Field(title="Catégorie")
    what: Annotated[text(1000, 3), Messages(string_too_short="Au moins 3 caractères.")] = Field(
        title="Ce qui sera mis en place"
    )
    who: Line = Field(title="Responsable")


class Sections(PlanInput):
    context: Text = Field("", title="Contexte de réalisation")
    target_jobs: Line = Field("", title="Personnes en emploi visées")
    institution_expertise: Text = Field("", title="Expertise de l'établissement")
    domains: Annotated[list[Line], FormLines] = Field(
        default_factory=list, max_length=40, title="Champs d'expertise de l'établissement"
    )
    equipment: Text = Field("", title="Équipements disponibles")
    specialists_text: Text = Field("", title="Spécialistes de contenu")
    specialists: list[Specialist] = Field(default_factory=list, max_length=40, title="Spécialistes")
    organisation_domain: Line = Field("", title="Domaine d'expertise de l'organisation")
    organisation_expertise: Text = Field("", title="Expertise de l'organisation")
    objectives: Annotated[list[text(1000)], FormLines] = Field(
        default_factory=list, max_length=20, title="Objectifs"
    )
    process: Text = Field("", title="Déroulement")
    implementation: Text = Field("", title="Élaboration du plan de mise en œuvre")
    missing_training_procedure: Text = Field(
        "", title="Formation manquante : manière de procéder convenue"
    )


class AideMemoire(PlanInput):
    """The seed's « aide-mémoire » clauses. Duration and number of candidate-workers are
    computed; the evaluation fees come from billing's estimate."""

    evaluation_fees_note: Text = Field(
        "", title="Frais d'évaluation par candidat-travailleur : précisions"
    )
    human_financial_resources: Text = Field("", title="Ressources humaines et financières requises")
    safety_equipment: Text = Field(
        "", title="Équipements de sécurité exigés par le milieu de travail"
    )
    refund_conditions: Text = Field(
        "", title="Conditions de remboursement si interruption de la démarche"
    )
    modalities: Text = Field("", title="Modalités des activités (en ligne ou en présentiel)")


class Annexes(PlanInput):
    annex_a: Text = Field("", title="Annexe A — Conditions générales de réalisation")
    annex_b: Text = Field("", title="Annexe B — La marche à suivre (texte)")
    annex_b_entries: list[AnnexBEntry] = Field(default_factory=list, max_length=60, title="Lignes")
    annex_c: Text = Field("", title="Annexe C — Entente de confidentialité")
    annex_c_representative: Line = Field(
        "", title="Annexe C : personne représentant l'établissement"
    )
    annex_c_start_date: OptionalDate = Field(None, title="Annexe C : date du début de l'accord")


class PlanContent(PlanInput):
    """The document of one version (stored as its JSON, hashed when issued)."""

    institution: InstitutionParty
    employer: EmployerParty
    program: Program
    sections: Sections = Field(default_factory=Sections)
    competencies: list[Competency] = Field(default_factory=list, max_length=60, title="Compétences")
    candidates: list[Candidate] = Field(
        default_factory=list, max_length=200, title="Candidats-travailleurs"
    )
    steps: list[Step] = Field(default_factory=list, max_length=12, title="Étapes")
    closure_dates: Annotated[list[dt.date], FormLines] = Field(
        default_factory=list, max_length=120, title="Dates de fermeture"
    )
    aide_memoire: AideMemoire = Field(default_factory=AideMemoire)
    annexes: Annexes = Field(default_factory=Annexes)
    logo: Logo = ""

    @field_validator("competencies")
    @classmethod
    def _unique_codes(cls, value: list[Competency]) -> list[Competency]:
        seen = set()
        for competency in value:
            if competency.code.upper() in seen:
                raise ValueError(f"La compétence {competency.code} figure deux fois.")
            seen.add(competency.code.upper())
        return value

    @field_validator("steps")
    @classmethod
    def _unique_steps(cls, value: list[Step]) -> list[Step]:
        kinds = [s.kind for s in value]
        if len(kinds) != len(set(kinds)):
            raise ValueError("Chaque étape ne peut figurer qu'une fois.")
        return value

    @field_validator("closure_dates")
    @classmethod
    def _sorted_closures(cls, value: list[dt.date]) -> list[dt.date]:
        return sorted(set(value))


# -- inputs ----------------------------------------------------------------------------------


class PlanCreateIn(PlanInput):
    """A new plan: the employer (an organisation of the directory, or details typed for a
    new one) and the program. Every other section starts from the template's defaults."""

    employer_id: OptionalInt = Field(
        None, ge=1, title="Organisation inscrite à la plateforme",
        description="Organisation employeuse du répertoire",
    )  # fmt: skip
    employer_name: Line = Field("", title="Nom de l'organisation (si elle n'est pas inscrite)")
    employer_service: Line = Field("", title="Service (s'il y a lieu)")
    employer_address: Text = Field("", title="Adresse et coordonnées")
    representative_name: Line = Field("", title="Personne représentante")
    representative_title: Line = Field("", title="Titre de la personne représentante")
    representative_email: Email = Field("", title="Courriel de la personne représentante")
    program_kind: ProgramKind = Field(title="Type de programme")
    program_code: ProgramCode = Field(
        title="Code du programme", description="Code de la forme XXX.XX"
    )
    program_title: Name = Field(title="Titre du programme")
    target_jobs: Line = Field("", title="Personnes en emploi visées")
    organisation_domain: Line = Field("", title="Domaine d'expertise de l'organisation")


class InstitutionPatch(InstitutionParty):
    """The « Par : » party as the institution edits it: its name is the directory's, kept
    when not given."""

    name: Name | None = Field(None, title="Nom de l'établissement")


class DraftSectionsIn(PlanInput):
    """The editor's « Parties et sections » form: the parties, the program, the sections."""

    institution: InstitutionPatch
    employer: EmployerParty
    program: Program
    sections: Sections


class DraftStepsIn(PlanInput):
    """The editor's « Étapes et dates de fermeture » form."""

    steps: list[Step] = Field(max_length=12, title="Étapes")
    closure_dates: Annotated[list[dt.date], FormLines] = Field(
        default_factory=list, max_length=120, title="Dates de fermeture"
    )


class DraftAideMemoireIn(PlanInput):
    aide_memoire: AideMemoire


class DraftAnnexesIn(PlanInput):
    annexes: Annexes


class DraftPatch(PlanInput):
    """Parts of the draft version to replace, each whole (see the plan's ``content``); the
    editor's forms send one part each."""

    institution: InstitutionPatch | None = None
    employer: EmployerParty | None = None
    program: Program | None = None
    sections: Sections | None = None
    competencies: list[Competency] | None = Field(None, max_length=60, title="Compétences")
    candidates: list[Candidate] | None = Field(None, max_length=200, title="Candidats-travailleurs")
    steps: list[Step] | None = Field(None, max_length=12, title="Étapes")
    closure_dates: list[dt.date] | None = Field(None, max_length=120, title="Dates de fermeture")
    aide_memoire: AideMemoire | None = None
    annexes: Annexes | None = None


class AnnexTemplateIn(PlanInput):
    """The institution's own annexes A, B and C, copied into each new plan."""

    annex_a: text(40000, 20) = Field(title="Annexe A — Conditions générales de réalisation")
    annex_b: text(20000, 20) = Field(title="Annexe B — La marche à suivre")
    annex_c: text(20000, 20) = Field(title="Annexe C — Entente de confidentialité")
    logo: Logo = Field(
        "", max_length=800000, title="Logo de l'établissement",
        description="data:image/png;base64,… ou vide",
    )  # fmt: skip


class OnlineAcceptanceIn(PlanInput):
    """The employer's written acceptance, in the platform, of the version it read (its
    number and content hash)."""

    version: int = Field(ge=1)
    content_hash: str = Field(min_length=64, max_length=64)
    full_name: Name = Field(title="Votre nom complet")
    title: Name = Field(title="Votre titre")
    statement: Annotated[str, Field(max_length=40), AfterValidator(_accept_statement)] = Field(
        title="« J’accepte »", description="« J’accepte »"
    )


class RecordedAcceptance(PlanInput):
    """A signed acceptance the institution received another way: what it records of it."""

    version: int = Field(ge=1)
    received_on: dt.date = Field(title="Date de réception")
    signed_by_name: Name = Field(title="Signée par")
    signed_by_title: Line = Field("", title="Titre de la personne signataire")


class RecordedAcceptanceIn(RecordedAcceptance):
    filename: str = Field(min_length=1, max_length=200)
    content_b64: str = Field(min_length=4, description="Copie numérisée (PDF, PNG, JPEG)")


class AmendmentIn(PlanInput):
    summary: Annotated[text(4000, 5), Messages(string_too_short="Au moins 5 caractères.")] = Field(
        title="Résumé des changements"
    )


class CancellationIn(PlanInput):
    reason: Reason = Field(title="Motif de l'annulation")


class DeclineIn(PlanInput):
    """The employer's representative declines the offer awaiting acceptance (``version``, so
    that nobody declines a version other than the one read), saying why."""

    version: int = Field(ge=1, description="La version en attente d'acceptation")
    reason: Reason = Field(title="Motif du refus", description="Motif du refus")


def _progress_stage(stage: Stage) -> Stage:
    if stage not in PROGRESS_STAGES:
        raise ValueError("Un abandon s'enregistre avec sa date (formulaire d'abandon).")
    return stage


class StepProgressIn(PlanInput):
    step: Annotated[Stage, AfterValidator(_progress_stage)] = Field(title="Étape atteinte")


class ResultIn(PlanInput):
    competency_code: CompetencyCode = Field(title="Compétence")
    result: Result = Field(title="Résultat")


class AbandonIn(PlanInput):
    abandoned_on: dt.date = Field(title="Date d'abandon de la démarche")


class PersonalInformationQuery(PlanInput):
    """An access request (Loi 25): the person whose information the institution exports."""

    email: RequiredEmail = Field(title="Courriel de la personne candidate")


class PlanSort(Vocabulary):
    """How a list of plans is sorted (on the server); work to do first by default."""

    TO_DO = "a-faire", "En attente d'acceptation d'abord, l'échéance la plus proche en tête"
    UPDATED = "modification", "Dernière modification, la plus récente d'abord"
    REFERENCE = "reference", "Référence"
    EMPLOYER = "organisation", "Organisation employeuse"


class PlanQuery(ListQuery):
    status: Annotated[PlanStatus | None, BeforeValidator(lambda v: v or None)] = Field(
        None, title="Statut"
    )
    sort: Annotated[PlanSort, BeforeValidator(lambda v: v or PlanSort.TO_DO)] = Field(
        PlanSort.TO_DO, title="Trier par"
    )


class VersionQuery(Strict):
    version: OptionalInt = Field(None, ge=1, title="Version")


class ComparisonQuery(Strict):
    """``?from=N&to=M``: the version ``to`` (by default the one shown) compared with ``from``
    (by default the version it modifies or replaces)."""

    left: OptionalInt = Field(None, ge=1, alias="from", title="Version de départ")
    right: OptionalInt = Field(None, ge=1, alias="to", title="Version comparée")


# -- replies ---------------------------------------------------------------------------------


class PlanRow(Reply):
    id: int
    reference: str
    status: PlanStatus
    status_label: str
    employer_id: int | None
    employer_name: str
    institution_id: int
    program: str
    current_version: int
    version_status: VersionStatus
    version_status_label: str
    accepted_version: int | None
    awaiting_acceptance: bool
    awaiting_version: int | None
    acceptance_deadline: dt.datetime | None
    days_left: int | None
    urgent: bool
    updated_at: dt.datetime | None


class PlanPage(Page[PlanRow]):
    """A page of plans (``next_cursor`` asks for the next one)."""


class VersionSummary(Reply):
    """One line of a plan's history: what the version is (a first offer, a revision that
    replaces an issued version, an amendment of the version in force) and how it ended."""

    number: int
    status: VersionStatus
    status_label: str
    issued_on: dt.date | None
    acceptance_deadline: dt.datetime | None
    accepted_at: dt.datetime | None
    change_summary: str | None
    based_on: int | None
    amends_version: int | None
    amends_issued_on: dt.date | None
    amends_accepted_at: dt.datetime | None
    replaces_version: int | None
    replaces_issued_on: dt.date | None
    replaces_status: VersionStatus | None
    content_hash: str | None
    lapsed_on: dt.date | None
    withdrawn_at: dt.datetime | None
    declined_at: dt.datetime | None
    declined_by: str | None
    decline_reason: str | None


class StoredDocument(Reply):
    filename: str
    size: int
    sha256: str
    mime: str


class Acceptance(Reply):
    channel: AcceptanceChannel
    accepted_at: dt.datetime
    full_name: str | None
    title: str | None
    statement: str | None
    ip: str | None
    content_hash: str | None
    received_on: dt.date | None


class ShownVersion(VersionSummary):
    is_current: bool
    days_left: int | None
    in_time: bool
    documents: dict[str, StoredDocument]  # by kind: plan_pdf, acceptance_scan
    acceptance: Acceptance | None
    estimate: dict[str, Any] | None  # billing's estimate frozen at issue


class Unit(Reply):
    """An evaluation step: a competency, or a group of competencies evaluated together."""

    label: str
    codes: list[str]
    statements: list[str]
    weeks_3h: int
    weeks_6h: int


class Duration(Reply):
    weeks_3h: int
    weeks_6h: int
    weeks: int | None
    start: dt.date | None
    end: dt.date | None
    calendar_weeks: int | None


class SkippedDay(Reply):
    date: dt.date
    reason: str


class Period(Reply):
    label: str
    codes: list[str]
    weeks: int
    start: dt.date
    end: dt.date
    skipped: list[SkippedDay]


class CandidateCalendar(Reply):
    candidate_id: int | None
    full_name: str
    job_title: str
    rhythm: int
    modality: Modality
    modality_label: str
    start: dt.date
    end: dt.date | None
    weeks: int
    periods: list[Period]


class ComputedStep(Reply):
    kind: str  # a StepKind, or « evaluation » for each unit's
    label: str
    start: dt.date | None
    end: dt.date | None
    period: str


class Bar(Reply):
    x: float
    w: float
    label: str
    start: dt.date
    end: dt.date
    colour: str


class TimelineLine(Reply):
    label: str
    y: int
    bars: list[Bar]


class Tick(Reply):
    x: float
    label: str


class Timeline(Reply):
    """The geometry of the project's timeline, for an accessible SVG."""

    width: int
    height: int
    left: int
    right: int
    row_height: int
    first: dt.date
    last: dt.date
    lines: list[TimelineLine]
    ticks: list[Tick]


class Holiday(Reply):
    date: dt.date
    name: str


class Computed(Reply):
    """Units, durations, candidate calendars, steps and timeline, all derived."""

    units: list[Unit]
    competency_count: int
    candidate_count: int
    duration: Duration
    calendars: list[CandidateCalendar]
    steps: list[ComputedStep]
    timeline: Timeline | None
    holidays: list[Holiday]


class PlanTexts(Reply):
    """The clauses nobody edits, filled with the parties' names."""

    organisation_clause: str
    acceptance_clauses: list[str]
    missing_training_note: str
    candidate_footnote: str
    acceptance_statement: str


class Permissions(Reply):
    edit: bool
    issue: bool
    accept_online: bool
    decline: bool
    record_acceptance: bool
    amend: bool
    cancel: bool
    complete: bool
    follow: bool
    compare: bool


class TaskKind(Vocabulary):
    ISSUE = "issue", "Émission du plan"
    PREVIEW = "preview", "Aperçu PDF du projet"
    PDF = "pdf", "PDF de la version émise"


class PlanTaskView(Reply):
    """Work the person asked for and waits for, done in the background (issuing a version,
    rendering a preview): what the plan page shows and its status region polls."""

    kind: TaskKind
    status: TaskStatus
    status_label: str
    version: int
    attempts: int
    max_attempts: int
    # What the page says, in French (« Production du PDF en cours… », the failure's cause).
    message: str
    requested_at: dt.datetime
    finished_at: dt.datetime | None
    pending: bool  # queued or running: ask again
    ready: bool
    failed: bool
    # A preview: of the draft as it reads now (False: the draft changed since).
    current: bool = True


class PlanView(Reply):
    plan: PlanRow
    institution_id: int
    institution_short: str
    cancelled_on: dt.date | None
    cancelled_by_party: Party | None
    cancel_reason: str | None
    completed_on: dt.date | None
    versions: list[VersionSummary]
    version: ShownVersion
    content: PlanContent
    computed: Computed
    texts: PlanTexts
    permissions: Permissions
    # The retention rule anonymised its candidate-workers (and destroyed the PDFs) that day.
    anonymised_on: dt.date | None = None
    # The institution's background work on this plan (issuing, preview), for its staff.
    tasks: list[PlanTaskView] = []


class PlanFile(Reply):
    filename: str
    mime: str
    size: int
    sha256: str | None = None
    content_b64: str


class PlanDelivery(Reply):
    """An issued plan's file for another service (notifications attaches it to an e-mail):
    the PDF, or the offer's acceptance deadline as iCalendar."""

    filename: str
    mime: str
    size: int
    sha256: str
    content_base64: str
    plan_id: int
    institution_id: int
    employer_id: int | None


class AnnexTemplate(Reply):
    annex_a: str
    annex_b: str
    annex_c: str
    logo: str
    updated_at: dt.datetime | None
    customised: bool


class ComparedRow(Reply):
    label: str
    left: str
    right: str
    changed: bool


class Comparison(Reply):
    plan: PlanRow
    left: VersionSummary
    right: VersionSummary
    change_summary: str | None
    rows: list[ComparedRow]
    changed_count: int


class PersonCalendarPeriod(Reply):
    label: str
    start: dt.date
    end: dt.date
    weeks: int


class PersonInVersion(Reply):
    """The person as a version of the plan names them."""

    version: int
    version_status: VersionStatus
    full_name: str
    email: str
    job_title: str
    rhythm: int
    start_date: dt.date
    modality: Modality
    calendar: list[PersonCalendarPeriod]


class PersonProgress(Reply):
    step: Stage
    abandoned_on: dt.date | None
    results: dict[str, Result]


class PersonPlan(Reply):
    plan_id: int
    reference: str
    program: str
    employer: str
    status: PlanStatus
    ended_on: dt.date | None
    kept_until: dt.date | None  # when the retention rule anonymises it (None: still running)
    versions: list[PersonInVersion]
    progress: PersonProgress | None


class PersonalInformation(Reply):
    """Everything the plans service holds about one person of an institution's plans."""

    email: str
    full_name: str | None
    exported_at: dt.datetime
    exported_by: str
    retention_months: int
    plans: list[PersonPlan]


class PrivacyKind(Vocabulary):
    ANONYMISED = (
        "anonymised",
        "Renseignements personnels anonymisés (règle de conservation)",
        "Personal information anonymised (retention rule)",
    )
    EXPORTED = (
        "exported",
        "Renseignements d'une personne exportés (demande d'accès)",
        "A person's information exported (access request)",
    )


class PrivacyEntry(Reply):
    """One line of the institution's register of what happened to personal information."""

    kind: PrivacyKind
    kind_label: str
    plan_id: int | None
    at: dt.datetime
    by_name: str
    subject: str | None
    details: dict[str, Any]


class StageCount(Reply):
    step: Stage
    label: str
    count: int | None  # None: withheld, fewer than ``Aggregate.withheld_below`` (Loi 25)


class Aggregate(Reply):
    """What the employer reads of the follow-up: counts, never a named person's results;
    a count that could single someone out is withheld (None), « moins de N » where N is
    ``withheld_below`` (``rac_shared.privacy``; None for the institution, which sees all)."""

    candidate_count: int
    steps: list[StageCount]
    competencies_total: int
    competencies_recognised: int | None
    competencies_missing_training: int | None
    withheld_below: int | None = None


class ResultRow(Reply):
    code: str
    statement: str
    result: Result | None
    label: str


class CandidateProgress(Reply):
    id: int
    full_name: str
    job_title: str
    step: Stage
    step_label: str
    abandoned_on: dt.date | None
    results: list[ResultRow]


class Progress(Reply):
    plan: PlanRow
    available: bool
    aggregate: Aggregate | None
    candidates: list[CandidateProgress] | None  # the institution's only (Loi 25)
    editable: bool = False
    completed: bool = False


class StatusCount(Reply):
    status: PlanStatus
    label: str
    count: int


class MonthCount(Reply):
    month: str  # AAAA-MM
    issued: int
    accepted: int
    lapsed: int


class AcceptanceFigures(Reply):
    accepted: int
    lapsed: int
    declined: int
    rate: float | None  # accepted ÷ (accepted + lapsed + declined), in %


class ProgramCandidates(Reply):
    program_code: str
    program_title: str
    candidates: int
    abandoned: int
    plans: int


class PlanFigures(Reply):
    """The ministry's view of the network's plans: numbers, never a plan's content."""

    total: int
    by_status: list[StatusCount]
    issued_ever: int
    accepted_ever: int
    lapsed: int
    declined: int
    acceptance_rate: float | None
    institutions: int
    per_month: list[MonthCount]
    acceptance: AcceptanceFigures
    candidates_per_program: list[ProgramCandidates]


# -- the service's RPC methods -----------------------------------------------------------------


class PlansRpc(CalendarRpc, Protocol):
    """What the plans service answers (the gateway adds the actor to each call)."""

    def health(self) -> HealthReport: ...
    def home_summary(self) -> list[NextAction]: ...

    def list_plans(self, query: PlanQuery | None = None) -> PlanPage:
        """Plans de mise en œuvre de l'établissement ou adressés à l'organisation, une page à
        la fois (filtre status; tri sort, en attente d'acceptation d'abord par défaut)"""

    def network_figures(self) -> PlanFigures:
        """Indicateurs du réseau : nombre de plans par statut, taux d'acceptation"""

    # building
    def create_plan(self, data: PlanCreateIn) -> PlanRow:
        """Créer un plan de mise en œuvre (brouillon, à partir du modèle)"""

    def get_plan(self, plan_id: int, version: int | None = None) -> PlanView:
        """Un plan (la version courante, ou ?version=N)"""

    def update_draft(self, plan_id: int, data: DraftPatch) -> PlanRow:
        """Remplacer des parties de la version en préparation"""

    def add_competency(self, plan_id: int, competency: Competency) -> PlanRow: ...
    def remove_competency(self, plan_id: int, code: CompetencyCode) -> PlanRow: ...
    def add_candidate(self, plan_id: int, candidate: CandidateIn) -> PlanRow: ...
    def remove_candidate(self, plan_id: int, candidate_id: int) -> PlanRow: ...

    def get_annex_template(self) -> AnnexTemplate:
        """Le modèle d'annexes A, B et C de l'établissement"""

    def save_annex_template(self, data: AnnexTemplateIn) -> AnnexTemplate:
        """Modifier le modèle d'annexes de l'établissement"""

    # the estimate: billing's, sent on with the plan's facts
    def save_estimate(self, plan_id: int, estimate: EstimateSpec) -> EstimateView:
        """Enregistrer l'estimation des coûts de la version en préparation (facturation)"""

    @slow(ISSUE_SECONDS)
    def preview_pdf(self, plan_id: int) -> PlanFile: ...

    def request_preview(self, plan_id: int) -> PlanTaskView:
        """Demander l'aperçu PDF de la version en préparation (produit en arrière-plan)"""

    def preview_file(self, plan_id: int) -> PlanFile:
        """Le dernier aperçu PDF produit (projet non émis)"""

    # issuing and accepting
    @slow(ISSUE_SECONDS)
    def issue(self, plan_id: int) -> PlanRow:
        """Émettre la version en préparation (PDF, délai d'acceptation de 30 jours)"""

    def request_issue(self, plan_id: int) -> PlanTaskView:
        """Demander l'émission de la version en préparation : vérifiée tout de suite,
        produite en arrière-plan (la version figée et plan.issued; son PDF ensuite)"""

    def plan_tasks(self, plan_id: int) -> list[PlanTaskView]:
        """L'état des travaux en arrière-plan du plan (émission, aperçu)"""

    @slow(ISSUE_SECONDS)  # its first read renders it, when the background has not yet
    def get_pdf(self, plan_id: int, version: int | None = None) -> PlanFile:
        """Le PDF d'une version émise (application/pdf; ?version=N)"""

    @slow(ISSUE_SECONDS)
    def courtesy_translation(self, plan_id: int, version: int | None = None) -> PlanFile:
        """La traduction de courtoisie anglaise d'une version émise (application/pdf;
        ?version=N); seule la version française fait foi"""

    def accept_online(self, plan_id: int, data: OnlineAcceptanceIn, ip: str = "") -> PlanRow:
        """Accepter en ligne la version émise (nom, titre, « J’accepte », empreinte)"""

    def record_acceptance(self, plan_id: int, data: RecordedAcceptanceIn) -> PlanRow:
        """Enregistrer une acceptation signée reçue autrement (copie, date de réception)"""

    def decline(self, plan_id: int, data: DeclineIn) -> PlanRow:
        """Refuser la version émise en attente d'acceptation (motif obligatoire)"""

    def get_acceptance_scan(self, plan_id: int, version: int) -> PlanFile: ...

    # revising, amending, cancelling
    def amend(self, plan_id: int, data: AmendmentIn) -> PlanRow:
        """Préparer une modification écrite (nouvelle version, résumé des changements)"""

    def compare(
        self, plan_id: int, left: int | None = None, right: int | None = None
    ) -> Comparison:
        """Comparaison côte à côte d'une version et de celle qu'elle modifie (?from=N&to=M)"""

    def cancel(self, plan_id: int, data: CancellationIn) -> PlanRow:
        """Annuler le plan (l'une ou l'autre des parties)"""

    def complete(self, plan_id: int) -> PlanRow:
        """Marquer le projet comme terminé"""

    # progress
    def export_personal_information(self, data: PersonalInformationQuery) -> PersonalInformation:
        """Export what the plans hold about one person (an access request), and record it."""
        ...

    def privacy_records(self) -> list[PrivacyEntry]:
        """The institution's register of anonymisations and exports, newest first."""
        ...

    def get_progress(self, plan_id: int) -> Progress:
        """Suivi : par candidat-travailleur (établissement), agrégé (organisation)"""

    def set_candidate_step(self, plan_id: int, candidate_id: int, data: StepProgressIn) -> Progress:
        """Étape atteinte par un candidat-travailleur"""

    def set_competency_result(self, plan_id: int, candidate_id: int, data: ResultIn) -> Progress:
        """Résultat d'une compétence (reconnue, formation manquante, en cours)"""

    def abandon_candidate(self, plan_id: int, candidate_id: int, data: AbandonIn) -> Progress:
        """Abandon de la démarche par un candidat-travailleur"""


class PlansDeliveryRpc(Protocol):
    """For services, not users (notifications attaches the issued PDF to its e-mail)."""

    def plan_pdf_for_delivery(self, plan_id: int, version: int) -> PlanDelivery: ...

    def acceptance_calendar_for_delivery(self, plan_id: int, version: int) -> PlanDelivery:
        """The offer's acceptance deadline (iCalendar) for the ``plan.issued`` e-mail."""
        ...
