"""The contract of CERAC funding, served by the billing service: operating allocations per
fiscal year within a dated cap, development projects outside it, schedules of
disbursements (held until a yearly report is accepted), statements.

Fiscal years run from April 1 to March 31 and are written ``2025-2026``. Money is a Decimal
(a decimal string on the bus, ``62 500,00`` in forms), rounded once by the service.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Protocol

from pydantic import BeforeValidator, Field, field_validator

from rac_shared.contracts.base import (
    DecimalText,
    Messages,
    Money,
    OptionalInt,
    Reply,
    Strict,
    Vocabulary,
    slow,
)
from rac_shared.contracts.listing import ListQuery, Page
from rac_shared.contracts.scoring import CsvReply, EducationOrder, FileReply

# -- vocabularies and limits ---------------------------------------------------------------

MAX_BUDGET_LINES, MAX_SCHEDULE_ITEMS, MAX_INSTALLMENTS = 50, 24, 12
FISCAL_YEAR_MESSAGE = "Un exercice financier AAAA-AAAA est attendu (p. ex. 2025-2026)."


def fiscal_year_text(value) -> str:
    """``"2025-2026"``: two consecutive years, the first between 2000 and 2100."""
    if not isinstance(value, str):
        raise ValueError(FISCAL_YEAR_MESSAGE)
    text = value.strip()
    start, dash, end = text.partition("-")
    if not (dash and start.isdigit() and end.isdigit() and len(start) == len(end) == 4):
        raise ValueError(FISCAL_YEAR_MESSAGE)
    if int(end) != int(start) + 1 or not 2000 <= int(start) <= 2100:
        raise ValueError("L'exercice financier va du 1er avril au 31 mars (p. ex. 2025-2026).")
    return text


FiscalYear = Annotated[str, BeforeValidator(fiscal_year_text)]
# Left empty (a form, a query string): none, the current fiscal year where one is needed.
OptionalFiscalYear = Annotated[FiscalYear | None, BeforeValidator(lambda v: v or None)]
PositiveMoney = Annotated[
    Money,
    Field(gt=0),
    Messages(greater_than="Le montant doit être supérieur à zéro."),
]
Installments = Annotated[
    Annotated[int, Field(ge=1, le=MAX_INSTALLMENTS)] | None, BeforeValidator(lambda v: v or None)
]


class MandatePart(Vocabulary):
    OFFER = "offer", "Accroître l'offre de service en RAC"
    QUALITY = "quality", "Améliorer la qualité des services offerts"
    DEVELOPMENT = "development", "Contribuer au développement de la RAC"


class ProjectStatus(Vocabulary):
    SUBMITTED = "submitted", "En attente de décision"
    APPROVED = "approved", "Approuvé"
    ADJUSTED = "adjusted", "Approuvé avec ajustement"
    REFUSED = "refused", "Refusé"


class ProjectDecision(Vocabulary):
    """What the ministry decides (the project's status afterwards has the same value)."""

    APPROVED = "approved", "Approuver le montant demandé"
    ADJUSTED = "adjusted", "Approuver un montant ajusté (inférieur au montant demandé)"
    REFUSED = "refused", "Refuser le projet"


class DisbursementStatus(Vocabulary):
    PAID = "paid", "Payé"
    HELD = "held", "Retenu jusqu'à l'acceptation d'un rapport"
    PAYABLE = "payable", "À payer"
    SCHEDULED = "scheduled", "Prévu"


# -- inputs ----------------------------------------------------------------------------------


class AllocationIn(Strict):
    fiscal_year: FiscalYear = Field(
        title="Exercice financier", description="Exercice financier, p. ex. « 2025-2026 »"
    )
    amount: PositiveMoney = Field(
        title="Montant alloué", description="Montant en texte décimal, p. ex. « 62500.00 »"
    )
    installments: Installments = Field(None, title="Nombre de versements")
    note: Annotated[str, Field(max_length=2000)] = Field("", title="Note")


class AllocationSort(Vocabulary):
    """How the list of operating allocations is sorted; what is payable first by default."""

    TO_PAY = "a-verser", "Versements exigibles d'abord, la prochaine échéance en tête"
    YEAR = "exercice", "Exercice, le plus récent d'abord"
    CERAC = "cerac", "CERAC"
    AMOUNT = "montant", "Montant, le plus élevé d'abord"


class AllocationQuery(ListQuery):
    fiscal_year: OptionalFiscalYear = Field(None, title="Exercice financier")
    cerac_id: OptionalInt = Field(None, title="CERAC")
    education_order: Annotated[EducationOrder | None, BeforeValidator(lambda v: v or None)] = Field(
        None, title="Ordre d'enseignement"
    )
    sort: Annotated[AllocationSort, BeforeValidator(lambda v: v or AllocationSort.TO_PAY)] = Field(
        AllocationSort.TO_PAY, title="Trier par"
    )


class BudgetLineIn(Strict):
    label: Annotated[str, Field(min_length=1, max_length=200)] = Field(title="Poste budgétaire")
    amount: PositiveMoney = Field(title="Montant")


class ProjectIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)] = Field(title="Titre du projet")
    mandate_part: MandatePart = Field(title="Volet du mandat")
    objectives: Annotated[str, Field(min_length=1, max_length=8000)] = Field(title="Objectifs")
    budget_lines: list[BudgetLineIn] = Field(
        min_length=1, max_length=MAX_BUDGET_LINES, title="Postes"
    )
    period_start: date = Field(title="Début de la période")
    period_end: date = Field(title="Fin de la période")

    @field_validator("period_end")
    @classmethod
    def _period(cls, value: date, info) -> date:
        start = info.data.get("period_start")
        if start is not None and value < start:
            raise ValueError("La fin de la période précède son début.")
        if start is not None and (value - start).days > 5 * 366:
            raise ValueError("La période d'un projet ne peut pas dépasser cinq ans.")
        return value


class ProjectDecisionIn(Strict):
    decision: Annotated[
        ProjectDecision,
        Field(title="Décision"),
        Messages(missing="Choisissez la décision : approuver, ajuster ou refuser le projet."),
    ]
    approved_amount: PositiveMoney | None = Field(None, title="Montant approuvé")
    reason: Annotated[str, Field(max_length=4000)] = Field("", title="Motif")
    installments: Installments = Field(None, title="Nombre de versements")


class ScheduleItemIn(Strict):
    due_on: date = Field(title="Échéance")
    amount: PositiveMoney = Field(title="Montant")
    hold_report_year: OptionalFiscalYear = Field(None, title="Retenu jusqu'au rapport de l'année")


class ScheduleIn(Strict):
    items: list[ScheduleItemIn] = Field(
        min_length=1, max_length=MAX_SCHEDULE_ITEMS, title="Versements"
    )


class DisbursementPaymentIn(Strict):
    paid_on: date = Field(title="Date du paiement")
    reference: Annotated[str, Field(max_length=120)] = Field("", title="Référence du paiement")


# -- replies ---------------------------------------------------------------------------------


class CeracRef(Reply):
    cerac_id: int
    organisation_id: int | None
    name: str
    education_order: EducationOrder
    education_order_label: str
    mandate_parts: list[str]
    experimentation_years: list[str]
    designated_on: date | None


class DisbursementView(Reply):
    id: int
    allocation_id: int | None
    project_id: int | None
    fiscal_year: str
    position: int
    source: str  # « Fonctionnement 2025-2026 », « Projet : … »
    due_on: date
    amount: DecimalText
    status: DisbursementStatus
    status_label: str  # « Retenu jusqu'au rapport 2024-2025 »
    held: bool
    hold_report_year: str | None
    released_on: date | None
    paid_on: date | None
    payment_reference: str


class AllocationView(Reply):
    id: int
    cerac_id: int
    fiscal_year: str
    amount: DecimalText
    note: str
    recorded_on: date
    disbursements: list[DisbursementView]


class AllocationPage(AllocationView):
    cerac: CeracRef
    can_manage: bool


class AllocationRow(Reply):
    """An operating allocation in a list: what was allocated, paid, and what is next."""

    id: int
    cerac_id: int
    cerac_name: str
    education_order_label: str
    fiscal_year: str
    amount: DecimalText
    paid: DecimalText
    remaining: DecimalText
    payable: int  # disbursements due, not held, not paid
    next_due_on: date | None
    recorded_on: date


class AllocationListPage(Page[AllocationRow]):
    """A page of operating allocations (``next_cursor`` asks for the next one)."""


class BudgetLine(Reply):
    label: str
    amount: DecimalText


class ProjectFacts(Reply):
    id: int
    cerac_id: int
    fiscal_year: str
    title: str
    mandate_part: MandatePart
    mandate_part_label: str
    objectives: str
    budget_lines: list[BudgetLine]
    requested_amount: DecimalText
    approved_amount: DecimalText | None
    period_start: date
    period_end: date
    status: ProjectStatus
    status_label: str
    decision_reason: str
    decided_on: date | None
    submitted_on: date | None


class ProjectView(ProjectFacts):
    disbursements: list[DisbursementView]


class ProjectPage(ProjectView):
    cerac: CeracRef
    can_decide: bool
    can_manage: bool


class ProjectRow(ProjectFacts):
    """A project in a list (the ministry's worklist, a CERAC's projects)."""

    cerac_name: str


class FundingStatement(Reply):
    cerac: CeracRef
    fiscal_year: str
    fiscal_years: list[str]
    as_of: date
    cap: DecimalText | None
    operating_allocated: DecimalText
    cap_remaining: DecimalText | None
    projects_approved: DecimalText
    projects_pending: DecimalText
    total_funded: DecimalText
    paid: DecimalText
    held: DecimalText
    remaining: DecimalText
    allocations: list[AllocationView]
    projects: list[ProjectView]
    schedule: list[DisbursementView]
    can_manage: bool
    is_own: bool


class YearTotals(Reply):
    operating_allocated: DecimalText
    cap_remaining: DecimalText
    projects_approved: DecimalText
    projects_pending: DecimalText
    total_funded: DecimalText
    paid: DecimalText
    held: DecimalText
    remaining: DecimalText


class CeracYear(CeracRef, YearTotals):
    cap: DecimalText | None
    cap_used_percent: int | None


class NetworkYearTotals(YearTotals):
    cap: DecimalText | None  # the cap of every CERAC together


class FundingFigures(Reply):
    fiscal_year: str
    cap: DecimalText | None
    ceracs: list[CeracYear]
    totals: NetworkYearTotals


class FundingOverview(FundingFigures):
    fiscal_years: list[str]
    projects: list[ProjectRow]
    is_cerac: bool
    can_manage: bool
    statement: FundingStatement | None  # a CERAC's own, in the same answer


# -- the RPC methods (served by the billing service) ---------------------------------------------


class FundingRpc(Protocol):
    """CERAC funding, answered by the billing service (the gateway adds the actor)."""

    def funding_overview(self, fiscal_year: FiscalYear | None = None) -> FundingOverview:
        """Financement d'un exercice : tous les CERAC pour le Ministère, le sien pour un CERAC"""

    def list_funding_allocations(self, query: AllocationQuery | None = None) -> AllocationListPage:
        """Allocations de fonctionnement, une page à la fois : toutes pour le Ministère, les
        siennes pour un CERAC (filtres fiscal_year, cerac_id, education_order; tri sort,
        versements exigibles d'abord par défaut)"""

    def funding_figures(self, fiscal_year: FiscalYear | None = None) -> FundingFigures:
        """Tableau de bord : plafond, fonctionnement alloué, projets approuvés, versé et
        reste à verser par CERAC et au total"""

    def funding_statement(
        self, cerac_id: int, fiscal_year: FiscalYear | None = None
    ) -> FundingStatement:
        """État du financement d'un CERAC pour un exercice"""

    def funding_statement_csv(
        self, cerac_id: int, fiscal_year: FiscalYear | None = None
    ) -> CsvReply: ...

    @slow(90)
    def funding_statement_pdf(
        self, cerac_id: int, fiscal_year: FiscalYear | None = None
    ) -> FileReply: ...

    def record_funding_allocation(self, cerac_id: int, data: AllocationIn) -> AllocationView:
        """Enregistrer une allocation de fonctionnement (refusée au-delà du plafond annuel)"""

    def get_funding_allocation(self, allocation_id: int) -> AllocationPage: ...
    def submit_funding_project(self, data: ProjectIn) -> ProjectView:
        """Soumettre un projet de développement (CERAC désigné)"""

    def get_funding_project(self, project_id: int) -> ProjectPage:
        """Un projet de développement, sa décision et ses versements"""

    def decide_funding_project(self, project_id: int, data: ProjectDecisionIn) -> ProjectView:
        """Approuver, ajuster (montant et motif) ou refuser (motif) un projet"""

    def update_allocation_schedule(self, allocation_id: int, data: ScheduleIn) -> AllocationView:
        """Réécrire les versements non payés d'une allocation (total inchangé)"""

    def update_project_schedule(self, project_id: int, data: ScheduleIn) -> ProjectView:
        """Réécrire les versements non payés d'un projet approuvé (total inchangé)"""

    def pay_funding_disbursement(
        self, disbursement_id: int, data: DisbursementPaymentIn
    ) -> DisbursementView:
        """Enregistrer le paiement d'un versement (refusé tant qu'il est retenu)"""
