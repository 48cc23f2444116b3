"""The billing service's contract: cost estimates of plan versions, invoices, payments and
bank files, credit notes, statements, the aging report, the costs incurred on a cancelled
plan, and the institution's billing profile. (CERAC funding, also served by billing, is
``rac_shared/contracts/funding.py``.)

Money is a Decimal: a decimal string on the bus and in JSON (``"1250.00"``), typed the French
way in forms (``1 250,00``), never a float. Each list of values has one vocabulary with its
one French label, read by the service's documents and the gateway's pages alike (a line
category is « Autres frais » on the estimate, the invoice and every page).

Who calls what: the gateway calls ``BillingRpc`` (with the actor); the plans service calls
``BillingEstimatesRpc`` and ``get_estimate`` (nameko proxies reading the replies' JSON:
their keys are what it reads); notifications calls ``BillingDeliveryRpc`` for the PDFs it
attaches.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Protocol

from pydantic import BeforeValidator, Field

from rac_shared.contracts import HealthReport, NextAction
from rac_shared.contracts.base import (
    DecimalText,
    Messages,
    Money,
    OptionalInt,
    Quantity,
    Reply,
    Strict,
    Vocabulary,
    slow,
)
from rac_shared.contracts.calendar import CalendarRpc
from rac_shared.contracts.funding import FiscalYear, FundingFigures
from rac_shared.contracts.listing import ListQuery, Page
from rac_shared.contracts.scoring import CsvReply, DeliveryFile, FileReply
from rac_shared.contracts.tasks import TaskStatus

# -- vocabularies and limits ---------------------------------------------------------------

MAX_LINES, MAX_INSTALLMENTS, MAX_CANDIDATES = 200, 60, 10000
MAX_BANK_FILE = 2 * 1024 * 1024  # bytes of a bank file (its text at most as many characters)
MAX_COST_ITEMS = 2000
PDF_SECONDS = 90  # a document's first download renders it (WeasyPrint, a child process)


# Text is kept as typed (and escaped wherever it is shown): a description, a reference.
Description = Annotated[str, Field(min_length=1, max_length=500)]
Label = Annotated[str, Field(min_length=1, max_length=200)]
Unit = Annotated[str, Field(max_length=60)]
Reference = Annotated[str, Field(max_length=120)]
TaxNumber = Annotated[str, Field(max_length=40)]


class LineCategory(Vocabulary):
    """The headings of seed 004's cost estimate, as every estimate, invoice and page names
    them."""

    ADVISORY = "advisory", "Services-conseils auprès de l'organisation", "Advisory services"
    ADMINISTRATIVE = "administrative", "Frais administratifs", "Administrative fees"
    ACCOMPANIMENT = (
        "accompaniment",
        "Accompagnement des candidats-travailleurs",
        "Support of the candidate-workers",
    )
    EVALUATION = (
        "evaluation",
        "Frais d'évaluation par candidat-travailleur",
        "Evaluation fees per candidate-worker",
    )
    ABANDONMENT = (
        "abandonment",
        "Frais en cas d'abandon après l'entrevue de validation",
        "Fees in case of withdrawal after the validation interview",
    )
    OTHER = "other", "Autres frais", "Other fees"


class TaxTreatment(Vocabulary):
    TAXABLE = "taxable", "TPS et TVQ", "GST and QST"
    EXEMPT = "exempt", "Exonéré", "Exempt"


class Milestone(Vocabulary):
    """When an installment falls due, in the words of the estimate's schedule."""

    ACCEPTANCE = "acceptance", "à l'acceptation du plan", "on acceptance of the plan"
    WELCOME_MEETING = "welcome_meeting", "à la rencontre d'accueil", "at the welcome meeting"
    END_OF_EVALUATIONS = (
        "end_of_evaluations",
        "à la fin des évaluations",
        "at the end of the evaluations",
    )


class EstimateStatus(Vocabulary):
    DRAFT = "draft", "Estimation provisoire"
    FROZEN = "frozen", "Estimation figée"


class PaymentMethod(Vocabulary):
    TRANSFER = "transfer", "Virement bancaire"
    DEPOSIT = "deposit", "Dépôt direct"
    CHEQUE = "cheque", "Chèque"
    CARD = "card", "Carte de crédit"
    OTHER = "other", "Autre"


class PaymentSource(Vocabulary):
    MANUAL = "manual", "Saisi à la main"
    IMPORT = "import", "Relevé bancaire"


class InvoiceStatus(Vocabulary):
    ISSUED = "issued", "À payer"
    PARTLY_PAID = "partly_paid", "Partiellement payée"
    OVERDUE = "overdue", "En retard"
    PAID = "paid", "Payée"
    CREDITED = "credited", "Créditée"


class InvoiceFilter(Vocabulary):
    """The invoices a list shows."""

    ALL = "", "Toutes"
    OPEN = "open", "À payer (solde dû)"
    OVERDUE = "overdue", "En retard"
    PARTLY_PAID = "partly_paid", "Partiellement payées"
    ISSUED = "issued", "À payer, non échues, sans paiement"
    PAID = "paid", "Payées"


class InvoiceKind(Vocabulary):
    INSTALLMENT = "installment", "Versement"
    ABANDONMENT_FEE = "abandonment_fee", "Frais d'abandon"
    CANCELLATION_COSTS = "cancellation_costs", "Coûts engagés avant l'annulation"


class CreditReason(Vocabulary):
    ABANDONMENT = "abandonment", "Abandon d'un candidat-travailleur"
    CANCELLATION = "cancellation", "Annulation du plan"
    AMENDMENT = "amendment", "Avenant au plan"


class InstallmentStatus(Vocabulary):
    SCHEDULED = "scheduled", "Prévu"
    INVOICED = "invoiced", "Facturé"
    CANCELLED = "cancelled", "Annulé"


class PlanStatus(Vocabulary):
    ACTIVE = "active", "En cours"
    CANCELLED = "cancelled", "Annulé"


class StatementEntry(Vocabulary):
    INVOICE = "invoice", "Facture"
    PAYMENT = "payment", "Paiement reçu"
    CREDIT_NOTE = "credit_note", "Note de crédit"


class AgingBucket(Vocabulary):
    """Days past due of an open balance."""

    CURRENT = "current", "Courant (non échu)"
    D1_30 = "d1_30", "1 à 30 jours"
    D31_60 = "d31_60", "31 à 60 jours"
    D61_90 = "d61_90", "61 à 90 jours"
    D90_PLUS = "d90_plus", "Plus de 90 jours"


class ImportLineStatus(Vocabulary):
    RECORDED = "recorded", "Enregistré"
    SKIPPED = "skipped", "Déjà importé"
    ERROR = "error", "Refusé"


class CostsState(Vocabulary):
    OPEN = "open", "À inscrire"
    RECORDED = "recorded", "Facturés"
    UNAVAILABLE = "unavailable", "Aucun coût engagé facturable"


# -- inputs ----------------------------------------------------------------------------------

EstimateQuantity = Annotated[
    Quantity,
    Field(le=1_000_000),
    Messages(
        greater_than_equal="Une quantité ne peut pas être négative.",
        less_than_equal="Cette quantité est trop élevée.",
    ),
]
Percent = Annotated[
    DecimalText,
    Field(decimal_places=4),
    Messages(decimal_max_places="Pourcentage : au plus 4 décimales."),
]
DUE_MESSAGE = "Indiquez une date ou un jalon du plan."


class PlanRef(Strict):
    """The facts of a plan version the plans service sends with its estimate (the parties
    are then read from the directory, never taken from the caller)."""

    plan_id: int = Field(ge=1)
    version: int = Field(ge=1)
    reference: str = Field(min_length=1, max_length=80)
    institution_id: int = Field(ge=1)
    employer_id: int = Field(ge=1)
    candidate_count: int = Field(ge=0, le=MAX_CANDIDATES)
    accepted_version: int | None = Field(None, ge=1)


class LineSpec(Strict):
    category: LineCategory = Field(title="Poste")
    description: Description = Field(title="Description")
    quantity: EstimateQuantity = Field(title="Quantité")
    unit: Unit = Field("", title="Unité")
    unit_price: Money = Field(title="Prix unitaire")
    tax: TaxTreatment = Field(TaxTreatment.TAXABLE, title="Taxes")


class DueDate(Strict):
    kind: Literal["date"]
    date: Annotated[date, Field(title="Date d'échéance")]


class DueMilestone(Strict):
    kind: Literal["milestone"]
    milestone: Milestone = Field(title="Jalon du plan")
    offset_days: int = Field(0, ge=0, le=730, title="Jours après le jalon")


class InstallmentSpec(Strict):
    label: Label = Field(title="Versement")
    percent: Percent | None = Field(None, title="Pourcentage")
    amount: Money | None = Field(None, title="Montant fixe")
    due: Annotated[
        DueDate | DueMilestone,
        Field(discriminator="kind", title="Échéance"),
        Messages(union_tag_invalid=DUE_MESSAGE, union_tag_not_found=DUE_MESSAGE),
    ]


class EstimateSpec(Strict):
    """An estimate's lines and payment conditions (priced and split by the service)."""

    lines: list[LineSpec] = Field(default_factory=list, max_length=MAX_LINES, title="Lignes")
    installments: list[InstallmentSpec] = Field(
        default_factory=list, max_length=MAX_INSTALLMENTS, title="Versements"
    )
    payment_term_days: int = Field(30, ge=0, le=365, title="Délai de paiement (jours)")
    refund_conditions: Annotated[str, Field(max_length=4000)] = Field(
        "", title="Conditions de remboursement"
    )
    abandonment_fee: Money = Field(Decimal("0.00"), title="Frais d'abandon")


class EstimatePreviewIn(Strict):
    estimate: EstimateSpec
    candidate_count: int = Field(0, ge=0, le=MAX_CANDIDATES, title="Candidats-travailleurs")


class PaymentIn(Strict):
    paid_on: date = Field(title="Date du paiement")
    amount: Annotated[
        Money,
        Field(gt=0, title="Montant reçu", description="Montant en texte décimal, « 1234.50 »"),
        Messages(greater_than="Le montant d'un paiement doit être supérieur à zéro."),
    ]
    method: PaymentMethod = Field(title="Mode de paiement")
    reference: Reference = Field("", title="Référence")


class ProfileIn(Strict):
    gst_number: TaxNumber = Field("", title="Numéro d'inscription à la TPS")
    qst_number: TaxNumber = Field("", title="Numéro d'inscription à la TVQ")
    payment_instructions: Annotated[str, Field(max_length=2000)] = Field(
        "", title="Modalités de paiement"
    )


class InvoiceSort(Vocabulary):
    """How a list of invoices is sorted (on the server); what is owed first by default."""

    TO_PAY = "a-payer", "Soldes dus d'abord, par échéance"
    NUMBER = "numero", "Numéro"
    ISSUED = "emission", "Date d'émission, les plus récentes d'abord"
    BALANCE = "solde", "Solde, le plus élevé d'abord"


class InvoiceQuery(ListQuery):
    status: Annotated[InvoiceFilter, BeforeValidator(lambda v: v or InvoiceFilter.ALL)] = Field(
        InvoiceFilter.ALL, title="Statut"
    )
    employer_id: OptionalInt = Field(None, title="Organisation")
    institution_id: OptionalInt = Field(None, title="Établissement")
    sort: Annotated[InvoiceSort, BeforeValidator(lambda v: v or InvoiceSort.TO_PAY)] = Field(
        InvoiceSort.TO_PAY, title="Trier par"
    )


class CreditNoteSort(Vocabulary):
    """How a list of credit notes is sorted; the credit still to apply first by default."""

    TO_APPLY = "a-appliquer", "Crédit non appliqué d'abord, les plus récentes en tête"
    ISSUED = "emission", "Date d'émission, les plus récentes d'abord"
    NUMBER = "numero", "Numéro"
    TOTAL = "montant", "Montant, le plus élevé d'abord"


class CreditNoteQuery(ListQuery):
    reason: Annotated[CreditReason | None, BeforeValidator(lambda v: v or None)] = Field(
        None, title="Motif"
    )
    employer_id: OptionalInt = Field(None, title="Organisation")
    institution_id: OptionalInt = Field(None, title="Établissement")
    sort: Annotated[CreditNoteSort, BeforeValidator(lambda v: v or CreditNoteSort.TO_APPLY)] = (
        Field(CreditNoteSort.TO_APPLY, title="Trier par")
    )


class BankFileIn(Strict):
    content: str = Field(
        max_length=MAX_BANK_FILE,
        title="Relevé bancaire",
        description="Contenu CSV : date;montant;facture;reference;mode (première ligne)",
    )


class CostItemIn(Strict):
    """Work done since the last billed installment on one line of the estimate (its
    position), for one candidate-worker when the line is billed per person. No quantity:
    nothing was done on it (a form's empty field)."""

    line: int = Field(ge=1, le=MAX_LINES, description="Position de la ligne dans l'estimation")
    candidate_id: Annotated[
        Annotated[int, Field(ge=1)] | None, BeforeValidator(lambda v: v or None)
    ] = Field(None, description="Candidat-travailleur, sur une ligne facturée par personne")
    quantity: Quantity | None = Field(
        None, title="Quantité réalisée", description="Quantité en texte décimal, « 7.5 »"
    )


class CostsIncurredIn(Strict):
    items: list[CostItemIn] = Field(
        min_length=1, max_length=MAX_COST_ITEMS, title="Lignes du tableau"
    )


# -- replies: estimates ------------------------------------------------------------------------


class TaxLine(Reply):
    name: str
    rate: DecimalText
    rate_label: str
    base: DecimalText
    amount: DecimalText


class EstimateLine(Reply):
    category: LineCategory
    category_label: str
    description: str
    quantity: DecimalText
    unit: str
    unit_price: DecimalText
    tax: TaxTreatment
    amount: DecimalText
    conditional: bool  # a fee charged only if it happens (abandonment): not in the total


class DueOnDate(Reply):
    kind: Literal["date"]
    date: date


class DueAtMilestone(Reply):
    kind: Literal["milestone"]
    milestone: Milestone
    offset_days: int


class EstimateInstallment(Reply):
    label: str
    percent: DecimalText | None
    fixed_amount: DecimalText | None
    amount: DecimalText
    subtotal: DecimalText
    taxes: list[TaxLine]
    due: Annotated[DueOnDate | DueAtMilestone, Field(discriminator="kind")]
    due_label: str


class CategoryDifference(Reply):
    category: LineCategory
    category_label: str
    accepted: DecimalText
    revised: DecimalText
    difference: DecimalText


class EstimateDifference(Reply):
    accepted_version: int
    accepted_subtotal: DecimalText
    accepted_total: DecimalText
    subtotal: DecimalText
    total: DecimalText
    lines: list[CategoryDifference]


class EstimatePreview(Reply):
    lines: list[EstimateLine]
    subtotal: DecimalText
    taxes: list[TaxLine]
    total: DecimalText
    installments: list[EstimateInstallment]


class EstimateView(EstimatePreview):
    plan_id: int
    version: int
    reference: str
    institution_id: int
    employer_id: int
    candidate_count: int
    status: EstimateStatus
    priced_on: date
    revision: int
    payment_term_days: int
    refund_conditions: str
    abandonment_fee: DecimalText
    abandonment_fee_taxable: bool
    difference_with_accepted: EstimateDifference | None


class EstimateSnapshot(Reply):
    """What the plans service keeps of a saved estimate to issue its plan version without
    asking billing: the estimate, its section of the plan's document as it reads once
    issued (« Estimation figée »), and its hash (``estimate_hash``), which ``plan.issued``
    carries back so that billing freezes exactly what was issued. Also the body of
    ``estimate.saved``."""

    estimate: EstimateView
    document_html: str
    estimate_hash: str


def estimate_hash(estimate: dict) -> str:
    """SHA-256 of an estimate's JSON view (keys sorted), its draft or frozen status left
    out: the same estimate before and after its freeze has one hash."""
    import hashlib
    import json

    content = {k: v for k, v in estimate.items() if k != "status"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- replies: invoices, payments, credit notes ----------------------------------------------------


class Party(Reply):
    """An organisation as a document names it (a copy kept with the document)."""

    id: int
    code: str = ""
    name: str
    address: str = ""
    gst_number: str = ""
    qst_number: str = ""
    payment_instructions: str = ""


class Parties(Reply):
    institution: Party
    employer: Party


class DocumentLine(Reply):
    description: str
    detail: str = ""
    quantity: DecimalText
    unit_price: DecimalText
    amount: DecimalText


class InvoiceSummary(Reply):
    id: int
    number: str
    kind: InvoiceKind
    kind_label: str
    institution_id: int
    institution_name: str
    employer_id: int
    employer_name: str
    plan_id: int
    plan_reference: str
    issued_on: date
    due_on: date
    total: DecimalText
    paid: DecimalText
    credited: DecimalText
    balance: DecimalText
    status: InvoiceStatus
    status_label: str
    days_late: int
    description: str


class InvoicePage(Page[InvoiceSummary]):
    """A page of invoices (``next_cursor`` asks for the next one)."""


class PaymentView(Reply):
    id: int
    invoice_id: int
    paid_on: date
    amount: DecimalText
    method: PaymentMethod
    method_label: str
    reference: str
    source: PaymentSource


class AppliedCredit(Reply):
    credit_note_id: int
    number: str
    amount: DecimalText
    applied_on: date


class InvoiceView(InvoiceSummary):
    fiscal_year: int
    version: int
    payment_term_days: int
    lines: list[DocumentLine]
    subtotal: DecimalText
    taxes: list[TaxLine]
    parties: Parties
    payment_instructions: str
    payments: list[PaymentView]
    credits: list[AppliedCredit]


class CreditNoteSummary(Reply):
    id: int
    number: str
    reason_kind: CreditReason
    reason_label: str
    reason: str
    institution_id: int
    institution_name: str
    employer_id: int
    employer_name: str
    plan_id: int
    plan_reference: str
    invoice_id: int | None
    issued_on: date
    total: DecimalText
    applied: DecimalText
    unapplied: DecimalText


class CreditNotePage(Page[CreditNoteSummary]):
    """A page of credit notes (``next_cursor`` asks for the next one)."""


class CreditAllocation(Reply):
    invoice_id: int
    number: str
    amount: DecimalText
    applied_on: date


class CreditNoteView(CreditNoteSummary):
    fiscal_year: int
    lines: list[DocumentLine]
    subtotal: DecimalText
    taxes: list[TaxLine]
    parties: Parties
    allocations: list[CreditAllocation]


class PaymentRecorded(Reply):
    payment: PaymentView
    invoice: InvoiceSummary


class ImportLine(Reply):
    line: int
    number: str
    amount: str  # as written in the file
    status: ImportLineStatus
    message: str


class ImportReport(Reply):
    recorded: int
    skipped: int
    lines: list[ImportLine]


class IssuedInvoices(Reply):
    issued: int
    numbers: list[str]


class BillingTaskKind(Vocabulary):
    INVOICING = "invoicing", "Facturation des versements échus"
    BANK_IMPORT = "bank_import", "Importation d'un relevé bancaire"


class BillingTaskView(Reply):
    """An invoicing run or a bank-file import done in the background (``rac_shared.tasks``):
    what its page shows and its status region polls, and its result once done."""

    id: int
    kind: BillingTaskKind
    kind_label: str
    status: TaskStatus
    status_label: str
    attempts: int
    max_attempts: int
    message: str  # in French: the progress, the result, or why it failed
    requested_at: datetime
    finished_at: datetime | None
    requested_by: str
    filename: str | None = None
    pending: bool
    ready: bool
    failed: bool
    invoiced: IssuedInvoices | None = None  # an invoicing run's invoices
    report: ImportReport | None = None  # an import's lines
    # A refused file: its message per line (« ligne 3 » → why).
    error_lines: dict[str, str] = {}


class DeliveredDocument(DeliveryFile):
    """An invoice's or credit note's PDF for notifications, with the parties it concerns."""

    employer_id: int
    institution_id: int


# -- replies: lists, statements, aging, plans ------------------------------------------------------


class ScheduledInstallment(Reply):
    id: int
    plan_id: int
    plan_reference: str
    version: int
    label: str
    position: int
    count: int
    amount: DecimalText
    due_on: date | None
    milestone: Milestone | None
    due: bool  # due today or earlier: to invoice now


class EmployerRef(Reply):
    id: int
    name: str


class CancelledPlan(Reply):
    plan_id: int
    reference: str
    cancelled_on: date | None
    invoice_id: int | None
    invoice_number: str | None


class InvoicesPage(Reply):
    """The invoices page: the list, and for an institution the installments to invoice,
    the employers to filter by and its cancelled plans."""

    listing: InvoicePage
    scheduled: list[ScheduledInstallment]
    employers: list[EmployerRef]
    cancelled_plans: list[CancelledPlan]


class StatementLine(Reply):
    date: date
    kind: StatementEntry
    document: str
    document_id: int
    institution_name: str
    employer_name: str
    description: str
    debit: DecimalText | None
    credit: DecimalText | None
    balance: DecimalText


class Statement(Reply):
    employer_id: int | None  # None: every employer of the institution
    employer_name: str
    as_of: date
    lines: list[StatementLine]
    invoiced: DecimalText
    paid: DecimalText
    credited: DecimalText
    balance: DecimalText  # negative: a credit in the employer's favour
    overdue: DecimalText
    open_invoices: list[InvoiceSummary]
    credit_notes: list[CreditNoteSummary]


class StatementPage(Reply):
    employers: list[EmployerRef]
    statement: Statement


class BucketRef(Reply):
    key: AgingBucket
    label: str


class AgingAmounts(Reply):
    current: DecimalText
    d1_30: DecimalText
    d31_60: DecimalText
    d61_90: DecimalText
    d90_plus: DecimalText
    total: DecimalText

    def amount(self, bucket: str) -> Decimal:
        return getattr(self, bucket)


class AgingRow(AgingAmounts):
    employer_id: int
    employer_name: str
    invoices: int


class AgingReport(Reply):
    as_of: date
    buckets: list[BucketRef]
    rows: list[AgingRow]
    totals: AgingAmounts


class PlanInstallment(Reply):
    id: int
    version: int
    position: int
    count: int
    label: str
    amount: DecimalText
    milestone: Milestone | None
    due_on: date | None
    status: InstallmentStatus
    invoice_id: int | None
    cancelled_reason: str | None


class PlanTotals(Reply):
    invoiced: DecimalText
    paid: DecimalText
    credited: DecimalText
    balance: DecimalText


class PlanBilling(Reply):
    plan_id: int
    status: PlanStatus | None
    accepted_version: int | None
    installments: list[PlanInstallment]
    invoices: list[InvoiceSummary]
    credit_notes: list[CreditNoteSummary]
    totals: PlanTotals | None


class BillingProfile(Reply):
    organisation_id: int
    name: str
    code: str
    gst_number: str
    qst_number: str
    payment_instructions: str


class MonthFigures(Reply):
    month: str  # "2026-09"
    invoiced: DecimalText
    credited: DecimalText
    paid: DecimalText


class FigureTotals(Reply):
    invoiced: DecimalText
    credited: DecimalText
    paid: DecimalText


class BillingFigures(Reply):
    """The ministry dashboard's billing figures, with the funding figures (one RPC)."""

    per_month: list[MonthFigures]
    totals: FigureTotals
    outstanding: DecimalText
    funding: FundingFigures | None


# -- replies: costs incurred on a cancelled plan (annex A, 1 d) ---------------------------------


class KeptInstallment(Reply):
    label: str
    position: int
    count: int
    subtotal: DecimalText
    amount: DecimalText
    due_on: date
    status: InstallmentStatus
    invoice_id: int | None
    invoice_number: str | None


class CostPerson(Reply):
    candidate_id: int
    full_name: str
    abandoned_on: date | None
    recorded: str | None  # the quantity recorded, written the French way


class CostLine(Reply):
    line: int
    category: LineCategory
    category_label: str
    description: str
    unit: str
    unit_price: DecimalText
    tax: TaxTreatment
    quantity: DecimalText
    quantity_label: str
    maximum: DecimalText
    maximum_label: str
    per_candidate: bool
    recorded: str | None
    people: list[CostPerson]


class RecordedItem(Reply):
    line: int
    candidate_id: int | None
    quantity: DecimalText


class CostsRecord(Reply):
    recorded_at: datetime
    items: list[RecordedItem]
    invoice: InvoiceSummary


class CostsView(Reply):
    plan_id: int
    reference: str
    status: PlanStatus
    version: int | None
    cancelled_on: date | None
    cancellation_reason: str
    state: CostsState
    unavailable: str | None
    estimate_subtotal: DecimalText | None
    covered: DecimalText
    room: DecimalText
    kept_installments: list[KeptInstallment]
    lines: list[CostLine]
    people_unknown: bool
    record: CostsRecord | None


class CostsRecorded(CostsView):
    created: bool  # False: the same quantities were recorded before; no second invoice


# -- the service's RPC methods -------------------------------------------------------------------


class BillingRpc(CalendarRpc, Protocol):
    """What the billing service answers the gateway (which adds the actor to each call)."""

    def health(self) -> HealthReport: ...
    def network_figures(self, fiscal_year: FiscalYear | None = None) -> BillingFigures: ...
    def home_summary(self) -> list[NextAction]: ...

    # estimates (edited from the plan pages, through the plans service)
    def get_estimate(self, plan_id: int, version: int) -> EstimateView | None:
        """L'estimation des coûts d'une version de plan (parties du plan et Ministère)"""

    def preview_estimate(self, data: EstimatePreviewIn) -> EstimatePreview:
        """Calculer une estimation (totaux, taxes, versements) sans l'enregistrer"""

    def plan_billing(self, plan_id: int) -> PlanBilling: ...

    # invoices and credit notes
    def list_invoices(self, query: InvoiceQuery | None = None) -> InvoicePage:
        """Factures visibles (les siennes : établissement émetteur ou organisation payeuse),
        une page à la fois (filtres status, employer_id, institution_id; tri sort, soldes dus
        d'abord par défaut)"""

    def list_credit_notes(self, query: CreditNoteQuery | None = None) -> CreditNotePage:
        """Notes de crédit visibles, une page à la fois (filtres reason, employer_id,
        institution_id; tri sort, crédit non appliqué d'abord par défaut)"""

    def invoices_page(self, query: InvoiceQuery | None = None) -> InvoicesPage: ...
    def get_invoice(self, invoice_id: int) -> InvoiceView:
        """Une facture, ses paiements et ses crédits"""

    @slow(PDF_SECONDS)
    def invoice_pdf(self, invoice_id: int) -> FileReply:
        """La facture en PDF (application/pdf)"""

    def get_credit_note(self, credit_note_id: int) -> CreditNoteView:
        """Une note de crédit"""

    @slow(PDF_SECONDS)
    def credit_note_pdf(self, credit_note_id: int) -> FileReply: ...
    def issue_due_invoices(self) -> IssuedInvoices:
        """Facturer maintenant les versements échus de son établissement"""

    def scheduled_installments(self) -> list[ScheduledInstallment]: ...

    # costs incurred on a cancelled plan
    def cancellation_costs(self, plan_id: int) -> CostsView:
        """Coûts engagés d'un plan annulé : ce qui peut être facturé, ou ce qui l'a été"""

    def record_cancellation_costs(self, plan_id: int, data: CostsIncurredIn) -> CostsRecorded:
        """Inscrire les coûts engagés d'un plan annulé et émettre la facture finale (une
        seule fois : les mêmes quantités renvoient la facture déjà émise)"""

    # payments
    def record_payment(self, invoice_id: int, data: PaymentIn) -> PaymentRecorded:
        """Enregistrer un paiement (partiel ou complet ; jamais au-delà du solde)"""

    def import_payments(self, data: BankFileIn) -> ImportReport:
        """Importer les paiements d'un relevé bancaire CSV (tout ou rien)"""

    # the same two, done in the background for the pages (their state polled)
    def request_invoicing(self) -> BillingTaskView: ...
    def request_bank_import(self, data: BankFileIn, filename: str = "") -> BillingTaskView: ...
    def billing_task(self, task_id: int) -> BillingTaskView: ...
    def billing_tasks(self) -> list[BillingTaskView]: ...

    # statements and aging
    def statement(self, employer_id: int | None = None) -> Statement:
        """Relevé de compte d'une organisation employeuse, ou de toutes pour un établissement"""

    def statement_csv(self, employer_id: int | None = None) -> CsvReply: ...
    def statement_employers(self) -> list[EmployerRef]: ...
    def statement_page(self, employer_id: int | None = None) -> StatementPage: ...
    def aging(self, as_of: date | None = None) -> AgingReport:
        """Ancienneté des comptes clients de son établissement"""

    def aging_csv(self, as_of: date | None = None) -> CsvReply: ...

    # the institution's billing profile
    def get_profile(self) -> BillingProfile: ...
    def update_profile(self, data: ProfileIn) -> BillingProfile: ...


class BillingEstimatesRpc(Protocol):
    """For the plans service: the estimate of a plan version it is editing or issuing."""

    def save_estimate(self, plan: PlanRef, estimate: EstimateSpec) -> EstimateView: ...
    def freeze_estimate(self, plan_id: int, version: int) -> EstimateView: ...
    def estimate_html(self, plan_id: int, version: int) -> str: ...
    def estimate_snapshot(self, plan_id: int, version: int) -> EstimateSnapshot: ...


class BillingDeliveryRpc(Protocol):
    """For services, not users (notifications attaches the PDFs to its e-mails)."""

    def invoice_pdf_for_delivery(self, invoice_id: int) -> DeliveredDocument: ...
    def credit_note_pdf_for_delivery(self, credit_note_id: int) -> DeliveredDocument: ...
