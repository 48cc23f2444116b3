"""RPC inputs of the billing service (pydantic v2, ``extra="forbid"``).

Amounts arrive as decimal strings (``"1234.50"``; a French ``"1 234,50"`` is accepted too)
and never as floats. ``parse`` turns validation errors into an ``invalid`` DomainError with
a French message per field.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from rac_shared.errors import invalid
from rac_shared.formatting import round_money

CATEGORY = Literal[
    "advisory", "administrative", "accompaniment", "evaluation", "abandonment", "other"
]
MILESTONE = Literal["acceptance", "welcome_meeting", "end_of_evaluations"]
PAYMENT_METHODS = {
    "transfer": "Virement bancaire",
    "deposit": "Dépôt direct",
    "cheque": "Chèque",
    "card": "Carte de crédit",
    "other": "Autre",
}
MAX_AMOUNT = Decimal("100000000")


def _decimal_text(value):
    """Decimal strings only (a float would carry binary noise): ``"1 234,50"`` → ``"1234.50"``."""
    if isinstance(value, float):
        raise ValueError("Un montant en texte décimal est attendu (jamais un nombre flottant).")
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise ValueError("Un montant est attendu.")
    text = value.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    text = text.removesuffix("$").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"« {value[:40]} » n'est pas un montant.") from None
    if not number.is_finite():
        raise ValueError(f"« {value[:40]} » n'est pas un montant.")
    return number


def _places(number: Decimal, places: int, what: str) -> Decimal:
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise ValueError(f"{what} : au plus {places} décimales.")
    return number


def money_field(value) -> Decimal:
    number = _places(_decimal_text(value), 2, "Montant")
    if number < 0:
        raise ValueError("Un montant ne peut pas être négatif.")
    if number > MAX_AMOUNT:
        raise ValueError("Ce montant est trop élevé.")
    return round_money(number)  # at most 2 decimals already: only writes them out


def quantity_field(value) -> Decimal:
    number = _places(_decimal_text(value), 3, "Quantité")
    if number < 0:
        raise ValueError("Une quantité ne peut pas être négative.")
    if number > Decimal("1000000"):
        raise ValueError("Cette quantité est trop élevée.")
    return number


def percent_field(value) -> Decimal:
    return _places(_decimal_text(value), 4, "Pourcentage")


Money = Annotated[Decimal, BeforeValidator(money_field)]
Quantity = Annotated[Decimal, BeforeValidator(quantity_field)]
Percent = Annotated[Decimal, BeforeValidator(percent_field)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlanRef(Strict):
    plan_id: int = Field(ge=1)
    version: int = Field(ge=1)
    reference: str = Field(min_length=1, max_length=80)
    institution_id: int = Field(ge=1)
    employer_id: int = Field(ge=1)
    candidate_count: int = Field(ge=0, le=10000)
    accepted_version: int | None = Field(None, ge=1)


class LineSpec(Strict):
    category: CATEGORY
    description: str = Field(min_length=1, max_length=500)
    quantity: Quantity
    unit: str = Field("", max_length=60)
    unit_price: Money
    tax: Literal["taxable", "exempt"] = "taxable"


class DueDate(Strict):
    kind: Literal["date"]
    date: date


class DueMilestone(Strict):
    kind: Literal["milestone"]
    milestone: MILESTONE
    offset_days: int = Field(0, ge=0, le=730)


class InstallmentSpec(Strict):
    label: str = Field(min_length=1, max_length=200)
    percent: Percent | None = None
    amount: Money | None = None
    due: DueDate | DueMilestone = Field(discriminator="kind")


class EstimateSpec(Strict):
    lines: list[LineSpec] = Field(default_factory=list, max_length=200)
    installments: list[InstallmentSpec] = Field(default_factory=list, max_length=60)
    payment_term_days: int = Field(30, ge=0, le=365)
    refund_conditions: str = Field("", max_length=4000)
    abandonment_fee: Money = Decimal("0.00")


class PaymentIn(Strict):
    paid_on: date
    amount: Money
    method: Literal["transfer", "deposit", "cheque", "card", "other"]
    reference: str = Field("", max_length=120)

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("Le montant d'un paiement doit être supérieur à zéro.")
        return value


class ProfileIn(Strict):
    gst_number: str = Field("", max_length=40)
    qst_number: str = Field("", max_length=40)
    payment_instructions: str = Field("", max_length=2000)


class InvoiceQuery(Strict):
    status: Literal["", "open", "overdue", "paid", "partly_paid", "issued"] = ""
    employer_id: int | None = None
    institution_id: int | None = None
    limit: int = Field(200, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class CostItemIn(Strict):
    """Work done since the last billed installment on one line of the estimate (its
    position), for one candidate-worker when the line is billed per person."""

    line: int = Field(ge=1, le=200)
    candidate_id: int | None = Field(None, ge=1)
    quantity: Quantity


class CostsIncurredIn(Strict):
    items: list[CostItemIn] = Field(min_length=1, max_length=2000)


# -- funding of designated CERACs ---------------------------------------------------------

MANDATE_PART = Literal["offer", "quality", "development"]
FISCAL_YEAR_PATTERN = r"^\d{4}-\d{4}$"


def positive_money(value) -> Decimal:
    amount = money_field(value)
    if amount <= 0:
        raise ValueError("Le montant doit être supérieur à zéro.")
    return amount


PositiveMoney = Annotated[Decimal, BeforeValidator(positive_money)]


def fiscal_year_field(value) -> str:
    if not isinstance(value, str):
        raise ValueError("Un exercice financier AAAA-AAAA est attendu (p. ex. 2025-2026).")
    text = value.strip()
    start, dash, end = text.partition("-")
    if not (dash and start.isdigit() and end.isdigit() and len(start) == len(end) == 4):
        raise ValueError("Un exercice financier AAAA-AAAA est attendu (p. ex. 2025-2026).")
    if int(end) != int(start) + 1 or not 2000 <= int(start) <= 2100:
        raise ValueError("L'exercice financier va du 1er avril au 31 mars (p. ex. 2025-2026).")
    return text


FiscalYear = Annotated[str, BeforeValidator(fiscal_year_field)]


class AllocationIn(Strict):
    fiscal_year: FiscalYear
    amount: PositiveMoney
    installments: int | None = Field(None, ge=1, le=12)
    note: str = Field("", max_length=2000)


class BudgetLineIn(Strict):
    label: str = Field(min_length=1, max_length=200)
    amount: PositiveMoney


class ProjectIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    mandate_part: MANDATE_PART
    objectives: str = Field(min_length=1, max_length=8000)
    budget_lines: list[BudgetLineIn] = Field(min_length=1, max_length=50)
    period_start: date
    period_end: date

    @field_validator("period_end")
    @classmethod
    def _period(cls, value: date, info) -> date:
        start = info.data.get("period_start")
        if start is not None and value < start:
            raise ValueError("La fin de la période précède son début.")
        if start is not None and (value - start).days > 5 * 366:
            raise ValueError("La période d'un projet ne peut pas dépasser cinq ans.")
        return value


class DecisionIn(Strict):
    decision: Literal["approved", "adjusted", "refused"]
    approved_amount: PositiveMoney | None = None
    reason: str = Field("", max_length=4000)
    installments: int | None = Field(None, ge=1, le=12)


class ScheduleItemIn(Strict):
    due_on: date
    amount: PositiveMoney
    hold_report_year: FiscalYear | None = None

    @field_validator("hold_report_year", mode="before")
    @classmethod
    def _empty(cls, value):
        return None if value in ("", None) else value


class ScheduleIn(Strict):
    items: list[ScheduleItemIn] = Field(min_length=1, max_length=24)


class DisbursementPaymentIn(Strict):
    paid_on: date
    reference: str = Field("", max_length=120)


FIELD_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "extra_forbidden": "Ce champ n'est pas permis.",
    "string_too_long": "Ce texte est trop long.",
    "string_too_short": "Ce champ est obligatoire.",
    "int_parsing": "Un nombre entier est attendu.",
    "int_type": "Un nombre entier est attendu.",
    "decimal_parsing": "Un montant est attendu.",
    "string_type": "Un texte est attendu.",
    "date_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_from_datetime_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_type": "Une date AAAA-MM-JJ est attendue.",
    "greater_than_equal": "La valeur est trop petite.",
    "less_than_equal": "La valeur est trop grande.",
    "literal_error": "Cette valeur n'est pas permise.",
    "union_tag_invalid": "Indiquez une date ou un jalon du plan.",
    "union_tag_not_found": "Indiquez une date ou un jalon du plan.",
    "model_type": "Un objet est attendu.",
    "model_attributes_type": "Un objet est attendu.",
    "list_type": "Une liste est attendue.",
    "too_long": "Trop d'éléments.",
    "too_short": "Au moins un élément est requis.",
}


def parse(model: type[BaseModel], data) -> BaseModel:
    """Validate ``data`` or raise ``invalid`` with {field path: French message}."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details: dict[str, str] = {}
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"]) or "corps"
            if error["type"] == "value_error":
                message = str(error.get("ctx", {}).get("error", "Valeur invalide."))
            else:
                message = FIELD_MESSAGES.get(error["type"], "Valeur invalide.")
            details.setdefault(path, message)
        first = next(iter(details.values()), "")
        raise invalid(f"Certains champs sont invalides : {first}", details) from None
