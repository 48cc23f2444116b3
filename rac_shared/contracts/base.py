"""What every service contract is made of: strict inputs, replies, plain text, money, dates,
vocabularies with their French labels, and French validation messages.

A contract module (``rac_shared/contracts/<service>.py``) declares a service's RPC inputs,
replies, vocabularies, limits and the ``Protocol`` of its RPC methods once; the service
validates its arguments against it (``rac_shared.rpc.rpc``), the gateway's typed clients
parse its replies with it, the gateway's forms and API bodies are the same models, and the
OpenAPI document is made from them. Limits (lengths, counts) live here only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)

from rac_shared.errors import DomainError, invalid

M = TypeVar("M", bound=BaseModel)

# -- models --------------------------------------------------------------------------------


class Strict(BaseModel):
    """An input: unknown fields refused, surrounding white space dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Where a contract wants its refusals to name the first problem (« Les données du plan
    # sont invalides : Le texte ne peut contenir… »): the headline, before that problem.
    # None: the generic headline of the form or the API.
    refusal_headline: ClassVar[str | None] = None


class Reply(BaseModel):
    """A reply crossing the bus: exactly the declared fields (a service returning more or
    fewer fails its own tests rather than a page), real dates, datetimes and Decimals."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


# -- plain text ----------------------------------------------------------------------------

MARKUP = re.compile(r"<\s*[A-Za-z!/?]|\{\{|\{%|\{#|\$\{")
MARKUP_MESSAGE = (
    "Le texte ne peut contenir ni balises HTML (<…>) ni expressions de gabarit ({{ … }}, {% … %})."
)
CONTROL_MESSAGE = "Le texte contient des caractères de contrôle."


def check_plain_text(value: str) -> str:
    """Text typed by people is plain text: shown escaped anyway, markup would only confuse."""
    if MARKUP.search(value):
        raise ValueError(MARKUP_MESSAGE)
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValueError(CONTROL_MESSAGE)
    return value.replace("\r\n", "\n")


def check_single_line(value: str) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def text(max_length: int, min_length: int = 0) -> Any:
    """A plain-text field of at most ``max_length`` characters."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(check_plain_text)
    ]


Line = Annotated[str, Field(max_length=300), AfterValidator(check_plain_text)]
Text = Annotated[str, Field(max_length=20000), AfterValidator(check_plain_text)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_plain_text)]

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def check_email(value: str) -> str:
    if value and not EMAIL.match(value):
        raise ValueError("Adresse courriel invalide.")
    return value


Email = Annotated[str, Field(max_length=300), AfterValidator(check_email)]


class FormLines:
    """Marks a ``list[str]`` typed in one text area, one item per line (the form decoder
    splits it, the encoder joins it back); the API takes the list itself."""


class Measured:
    """Marks a ``Decimal`` that is a measure, not an amount: a form shows it again as people
    write it (``12``, ``2,5``), not with an amount's two decimals (``2,50``)."""


# -- numbers -------------------------------------------------------------------------------

MAX_AMOUNT = Decimal("100000000")


def decimal_text(value, what: str = "un nombre") -> Decimal:
    """Decimal strings only (a float would carry binary noise); French writing accepted:
    ``"1 234,50 $"`` → ``Decimal("1234.50")``."""
    if isinstance(value, float):
        raise ValueError("Un nombre en texte décimal est attendu (jamais un nombre flottant).")
    if isinstance(value, bool):
        raise ValueError(f"{what.capitalize()} est attendu.")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{what.capitalize()} est attendu.")
    cleaned = value.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    cleaned = cleaned.removesuffix("$").replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"« {value[:40]} » n'est pas {what}.") from None
    if not number.is_finite():
        raise ValueError(f"« {value[:40]} » n'est pas {what}.")
    return number


def amount_text(value) -> Decimal:
    return decimal_text(value, "un montant")


def _at_most_places(places: int, what: str) -> Callable[[Decimal], Decimal]:
    def check(number: Decimal) -> Decimal:
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -places:
            raise ValueError(f"{what} : au plus {places} décimales.")
        return number

    return check


def _money(number: Decimal) -> Decimal:
    if number < 0:
        raise ValueError("Un montant ne peut pas être négatif.")
    if number > MAX_AMOUNT:
        raise ValueError("Ce montant est trop élevé.")
    return number.quantize(Decimal("0.01"))


def _json_decimal(number: Decimal) -> str:
    return format(number, "f")


# Over the bus and in JSON a Decimal is a string ("1250.00"), never a float.
DecimalText = Annotated[
    Decimal,
    BeforeValidator(decimal_text),
    PlainSerializer(_json_decimal, return_type=str, when_used="json"),
]
Money = Annotated[
    Decimal,
    BeforeValidator(amount_text),
    AfterValidator(_at_most_places(2, "Montant")),
    AfterValidator(_money),
    PlainSerializer(_json_decimal, return_type=str, when_used="json"),
]
Quantity = Annotated[
    Decimal,
    BeforeValidator(decimal_text),
    AfterValidator(_at_most_places(3, "Quantité")),
    Field(ge=0),
    PlainSerializer(_json_decimal, return_type=str, when_used="json"),
]


def _empty_is_none(value):
    return None if isinstance(value, str) and not value.strip() else value


OptionalDate = Annotated[date | None, BeforeValidator(_empty_is_none)]
OptionalInt = Annotated[int | None, BeforeValidator(_empty_is_none)]


# -- vocabularies --------------------------------------------------------------------------


class Vocabulary(StrEnum):
    """A closed list of stored values, each with its French label::

        class Milestone(Vocabulary):
            ACCEPTANCE = "acceptance", "à l'acceptation du plan"

    ``Milestone.ACCEPTANCE == "acceptance"``; ``.label`` is what people read; ``choices()``
    feeds a ``<select>``. Pydantic validates the values and OpenAPI lists them. A third
    element is the English label a courtesy translation uses (``.english``, the plan's
    English PDF); pages never show it.
    """

    label: str
    english: str  # the label in a courtesy translation (a plan's English PDF), when it has one

    def __new__(cls, value: str, label: str = "", english: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value
        member.english = english
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {member.value: member.label for member in cls}

    @classmethod
    def english_of(cls, value: str | None, default: str = "") -> str:
        """The English label of ``value`` (courtesy translations only)."""
        try:
            return cls(value).english or default or (value or "")
        except ValueError:
            return default or (value or "")

    @classmethod
    def label_of(cls, value: str | None, default: str = "") -> str:
        try:
            return cls(value).label
        except ValueError:
            return default or (value or "")


# -- validation messages -------------------------------------------------------------------

FIELD_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "extra_forbidden": "Ce champ n'est pas permis.",
    "string_too_long": "Ce texte est trop long.",
    "string_too_short": "Ce champ est obligatoire.",
    "string_type": "Un texte est attendu.",
    "int_parsing": "Un nombre entier est attendu.",
    "int_type": "Un nombre entier est attendu.",
    "int_from_float": "Un nombre entier est attendu.",
    "float_parsing": "Un nombre est attendu.",
    "decimal_parsing": "Un nombre est attendu.",
    "decimal_type": "Un nombre est attendu.",
    "decimal_max_places": "Au plus deux décimales.",
    "decimal_max_digits": "Ce nombre compte trop de chiffres.",
    "bool_parsing": "Une valeur oui ou non est attendue.",
    "bool_type": "Une valeur oui ou non est attendue.",
    "date_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_from_datetime_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_type": "Une date AAAA-MM-JJ est attendue.",
    "datetime_parsing": "Une date et une heure sont attendues.",
    "datetime_type": "Une date et une heure sont attendues.",
    "greater_than": "La valeur doit être plus grande que zéro.",
    "greater_than_equal": "La valeur est trop petite.",
    "less_than": "La valeur est trop grande.",
    "less_than_equal": "La valeur est trop grande.",
    "literal_error": "Cette valeur n'est pas permise.",
    "enum": "Cette valeur n'est pas permise.",
    "union_tag_invalid": "Cette valeur n'est pas permise.",
    "union_tag_not_found": "Cette valeur n'est pas permise.",
    "list_type": "Une liste est attendue.",
    "too_long": "Trop d'éléments.",
    "too_short": "Au moins un élément est requis.",
    "model_type": "Un objet JSON est attendu.",
    "model_attributes_type": "Un objet JSON est attendu.",
    "dict_type": "Un objet JSON est attendu.",
    "json_invalid": "Le contenu n'est pas du JSON valide.",
}


class Messages:
    """A field's own French messages, by pydantic error type, where the general ones would
    say too little::

        min_evaluators: Annotated[int, Field(ge=2), Messages(greater_than_equal="Au moins
        deux évaluateurs par demande.")]
    """

    def __init__(self, **by_error_type: str):
        self.by_error_type = by_error_type


def field_at(model: type[BaseModel] | None, path: tuple | list) -> Any:
    """The ``FieldInfo`` at ``path`` of ``model`` (``("sections", "context")``,
    ``("lines", 0, "quantity")``), or None."""
    from rac_shared.contracts.shape import field_info_at

    return field_info_at(model, path)


def _own_message(model, loc, error_type: str) -> str | None:
    info = field_at(model, loc) if model is not None else None
    for item in getattr(info, "metadata", None) or ():
        if isinstance(item, Messages):
            return item.by_error_type.get(error_type)
    return None


def error_details(
    exc: ValidationError, prefix: tuple = (), model: type[BaseModel] | None = None
) -> dict[str, str]:
    """{field path (``sections.context``, ``lines.0.quantity``): French message}; a field's
    own ``Messages`` first when ``model`` (the validated model) is given."""
    details: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(p) for p in (*prefix, *error["loc"])) or "corps"
        own = _own_message(model, error["loc"], error["type"])
        if own is not None:
            details.setdefault(path, own)
            continue
        if error["type"] == "value_error":
            message = str(error.get("ctx", {}).get("error", "Valeur invalide."))
        elif error["type"] == "assertion_error":
            message = str(error.get("ctx", {}).get("error", "Valeur invalide.")).removeprefix(
                "Assertion failed, "
            )
        else:
            message = FIELD_MESSAGES.get(error["type"], "Valeur invalide.")
        details.setdefault(path, message)
    return details


INVALID_HEADLINE = "Certains champs sont à corriger."


def headline_for(model: type[BaseModel] | None, details: dict, default: str) -> str:
    """The headline of a refusal of ``model``: its own ``refusal_headline`` followed by the
    first problem when it declares one, else ``default``."""
    prefix = getattr(model, "refusal_headline", None)
    if prefix and details:
        return f"{prefix} : {next(iter(details.values()))}"
    return default


def invalid_from(
    exc: ValidationError, headline: str = INVALID_HEADLINE, model: type[BaseModel] | None = None
) -> DomainError:
    details = error_details(exc, model=model)
    return invalid(headline_for(model, details, headline), details)


def parse(model: type[M], data, headline: str = INVALID_HEADLINE) -> M:
    """Validate ``data`` against ``model`` or raise ``invalid`` with a message per field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc, headline, model) from None


# -- protocols -----------------------------------------------------------------------------


def slow(seconds: float) -> Callable[[Callable], Callable]:
    """Marks an RPC of a contract ``Protocol`` that may take longer than the usual timeout
    (rendering a whole plan to PDF): typed clients wait ``seconds`` for it."""

    def mark(method: Callable) -> Callable:
        method.rpc_timeout = seconds
        return method

    return mark
