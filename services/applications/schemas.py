"""RPC inputs of the applications service (pydantic v2, ``extra="forbid"``).

``parse`` turns a pydantic error into an ``invalid`` DomainError with French messages per
field, so the gateway can show them next to the fields.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rac_shared.errors import invalid

EDUCATION_ORDERS = ("secondaire", "collégial")
QUESTION_KINDS = ("text", "yes_no", "choice", "file")
GROUPS = ("qualite", "pertinence")
DEFAULT_TEXT_LENGTH = 4000
MAX_TEXT_LENGTH = 20000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CallIn(Strict):
    title: str = Field(min_length=5, max_length=300)
    education_orders: list[Literal["secondaire", "collégial"]] = Field(min_length=1, max_length=2)
    launch_date: date
    deadline_date: date
    analysis_date: date | None = None
    designation_date: date | None = None
    experimentation_years: list[str] = Field(default_factory=list, max_length=5)

    @field_validator("education_orders")
    @classmethod
    def _unique_orders(cls, value: list[str]) -> list[str]:
        return [o for o in EDUCATION_ORDERS if o in value]

    @field_validator("experimentation_years")
    @classmethod
    def _years(cls, value: list[str]) -> list[str]:
        years = []
        for item in value:
            item = item.strip()
            if not item:
                continue
            match = re.fullmatch(r"(\d{4})-(\d{4})", item)
            if not match or int(match.group(2)) != int(match.group(1)) + 1:
                raise ValueError(f"« {item} » n'est pas une année scolaire de la forme 2013-2014.")
            if item not in years:
                years.append(item)
        return sorted(years)


class SectionIn(Strict):
    title: str = Field(min_length=3, max_length=300)
    description: str = Field("", max_length=4000)
    position: int | None = Field(None, ge=1, le=100)  # 1 = first; default: last


class QuestionIn(Strict):
    label: str = Field(min_length=3, max_length=1000)
    help_text: str = Field("", max_length=2000)
    kind: Literal["text", "yes_no", "choice", "file"]
    max_length: int | None = Field(None, ge=1, le=MAX_TEXT_LENGTH)
    options: list[str] | None = None
    required: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> QuestionIn:
        if self.kind == "text":
            self.max_length = self.max_length or DEFAULT_TEXT_LENGTH
        else:
            self.max_length = None
        if self.kind == "choice":
            options = [o.strip() for o in (self.options or []) if o and o.strip()]
            options = list(dict.fromkeys(options))
            if len(options) < 2:
                raise ValueError("Une question à choix exige au moins deux options.")
            if any(len(o) > 200 for o in options):
                raise ValueError("Une option compte au plus 200 caractères.")
            self.options = options
        else:
            self.options = None
        return self


class CriterionIn(Strict):
    group: Literal["qualite", "pertinence"]
    label: str = Field(min_length=3, max_length=1000)
    weight: int = Field(ge=1, le=100)
    threshold: int = Field(ge=0, le=100)


class GridIn(Strict):
    criteria: list[CriterionIn] = Field(max_length=20)


class AmendmentIn(Strict):
    reason: str = Field(min_length=10, max_length=4000)
    deadline_date: date | None = None
    analysis_date: date | None = None
    designation_date: date | None = None
    criteria: list[CriterionIn] | None = None


class AnswersIn(Strict):
    answers: dict[int, str] = Field(max_length=200)


class AttachmentIn(Strict):
    kind: Literal["support_letter", "official_document", "designation", "answer", "other"]
    filename: str = Field(min_length=1, max_length=500)
    content_b64: str
    question_id: int | None = None


class PaperReceiptIn(Strict):
    received_on: date


class ReviewIn(Strict):
    rule: Literal["institution", "signatures", "completeness", "deposit"]
    passed: bool
    justification: str = Field("", max_length=4000)


class DecisionIn(Strict):
    decision: Literal["recevable", "non_recevable"]
    comment: str = Field("", max_length=4000)


class TableQuery(Strict):
    order: Literal["secondaire", "collégial"] | None = None
    status: Literal["draft", "submitted", "withdrawn"] | None = None
    region: str | None = Field(None, max_length=80)
    admissibility: Literal["recevable", "non_recevable", "undecided"] | None = None
    sort: Literal[
        "organisation",
        "-organisation",
        "region",
        "-region",
        "order",
        "-order",
        "status",
        "-status",
        "submitted_at",
        "-submitted_at",
        "reference",
        "-reference",
    ] = "organisation"


FIELD_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "extra_forbidden": "Ce champ n'est pas permis.",
    "string_too_long": "Ce texte est trop long.",
    "string_too_short": "Ce texte est trop court.",
    "too_short": "Au moins une valeur est requise.",
    "too_long": "Trop de valeurs.",
    "int_parsing": "Un nombre entier est attendu.",
    "int_type": "Un nombre entier est attendu.",
    "bool_parsing": "Une valeur oui/non est attendue.",
    "date_from_datetime_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_type": "Une date AAAA-MM-JJ est attendue.",
    "greater_than_equal": "La valeur est trop petite.",
    "less_than_equal": "La valeur est trop grande.",
    "literal_error": "Cette valeur n'est pas permise.",
    "list_type": "Une liste est attendue.",
    "string_type": "Un texte est attendu.",
    "dict_type": "Un objet JSON est attendu.",
    "greater_than": "La valeur doit être plus grande que zéro.",
    "decimal_parsing": "Un nombre est attendu.",
    "decimal_type": "Un nombre est attendu.",
    "decimal_max_places": "Au plus deux décimales.",
    "decimal_max_digits": "Le nombre est trop grand.",
}


def parse(model: type[BaseModel], data) -> BaseModel:
    """Validate ``data`` or raise ``invalid`` with {field: French message}."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = {}
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"]) or "corps"
            if error["type"] == "value_error":
                message = str(error.get("ctx", {}).get("error", "Valeur invalide."))
            else:
                message = FIELD_MESSAGES.get(error["type"], "Valeur invalide.")
            details.setdefault(path, message)
        raise invalid("Certains champs sont invalides.", details) from None


# -- life of a designated CERAC: network, reports, special mandates, support -----------------

MAX_DECIMAL = Decimal("999999999999.99")


def _decimal_or_none(value, field: str = "valeur") -> Decimal | None:
    """French or plain decimals: ``"12,5"``, ``"1 250,00"``, ``12``; blank → None."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError("Un nombre est attendu (p. ex. 12,5).")
        return None
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not text:
        return None
    text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("Un nombre est attendu (p. ex. 12,5).") from None
    if not number.is_finite():
        raise ValueError("Un nombre est attendu (p. ex. 12,5).")
    if number < 0:
        raise ValueError("La valeur ne peut pas être négative.")
    if number > MAX_DECIMAL:
        raise ValueError("Le nombre est trop grand.")
    if number != number.quantize(Decimal("0.01")):
        raise ValueError("Au plus deux décimales.")
    return number.quantize(Decimal("0.01"))


class IndicatorIn(Strict):
    label: str = Field("", max_length=300)
    unit: str = Field("", max_length=60)
    target: Decimal | None = None
    achieved: Decimal | None = None
    source: Literal["support_received", "support_answered"] | None = None

    @field_validator("target", "achieved", mode="before")
    @classmethod
    def _decimal(cls, value):
        return _decimal_or_none(value)


class ReportSectionIn(Strict):
    objectives: str = Field("", max_length=10000)
    narrative: str = Field("", max_length=20000)
    indicators: list[IndicatorIn] = Field(default_factory=list, max_length=20)


class ReportDraftIn(Strict):
    sections: dict[str, ReportSectionIn] = Field(max_length=30)


class ReportAttachmentIn(Strict):
    section: str = Field(min_length=1, max_length=20)
    filename: str = Field(min_length=1, max_length=500)
    content_b64: str


class ReportReviewIn(Strict):
    decision: Literal["accepted", "changes_requested"]
    comments: dict[str, str] = Field(default_factory=dict, max_length=30)
    general_comment: str = Field("", max_length=4000)

    @field_validator("comments")
    @classmethod
    def _comments(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned = {}
        for key, text in value.items():
            text = (text or "").strip()
            if len(text) > 4000:
                raise ValueError("Un commentaire compte au plus 4000 caractères.")
            cleaned[key[:20]] = text
        return cleaned


class DeadlineIn(Strict):
    experimentation_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    due_date: date


class SpecialMandateIn(Strict):
    cerac_id: int = Field(ge=1)
    object: str = Field(min_length=5, max_length=300)
    deliverables: list[str] = Field(min_length=1, max_length=10)
    due_date: date
    amount: Decimal

    @field_validator("deliverables")
    @classmethod
    def _deliverables(cls, value: list[str]) -> list[str]:
        items = [v.strip() for v in value if v and v.strip()]
        if not items:
            raise ValueError("Indiquez au moins un livrable.")
        if any(len(v) > 500 for v in items):
            raise ValueError("Un livrable compte au plus 500 caractères.")
        return list(dict.fromkeys(items))

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value):
        amount = _decimal_or_none(value)
        if amount is None or amount <= 0:
            raise ValueError("Le montant doit être plus grand que zéro.")
        return amount


class SupportRequestIn(Strict):
    object: str = Field(min_length=3, max_length=300)
    program: str = Field("", max_length=200)
    message: str = Field(min_length=10, max_length=5000)


class SupportAnswerIn(Strict):
    answer: str = Field(min_length=3, max_length=5000)


class CompetencesIn(Strict):
    areas: list[str] = Field(default_factory=list, max_length=20)
    programs: list[str] = Field(default_factory=list, max_length=30)

    @field_validator("programs")
    @classmethod
    def _programs(cls, value: list[str]) -> list[str]:
        return [v.strip().upper()[:20] for v in value if v and v.strip()]


class NetworkQuery(Strict):
    q: str = Field("", max_length=200)
    domaine: str = Field("", max_length=40)


class ReportQuery(Strict):
    status: Literal["", "draft", "submitted", "changes_requested", "accepted"] = ""
    late: bool = False
