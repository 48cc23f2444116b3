"""RPC inputs of the scoring service (pydantic v2, ``extra="forbid"``).

Scores travel as strings (``"12,5"`` as typed in a form, or ``"12.5"``) and are parsed and
checked against the grid by ``grading``; never computed with as floats.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rac_shared.errors import invalid


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
    return value


class ScoreIn(In):
    criterion_id: int
    score: str | None = Field(None, max_length=20)
    comment: str = Field("", max_length=4000)

    _score = field_validator("score", mode="before")(_score_text)


class ScoresIn(In):
    scores: list[ScoreIn] = Field(max_length=40)
    submit: bool = False


class ParametersIn(In):
    min_evaluators: int
    spread_gap_percent: Decimal = Field(max_digits=5, decimal_places=2)
    overall_threshold: Decimal | None = Field(None, max_digits=5, decimal_places=2)


class UserIn(In):
    user_id: int


class ConflictIn(In):
    user_id: int | None = None  # None: the evaluator declares for themself
    organisation_key: str = Field(max_length=220)
    reason: str = Field(max_length=2000)


class ReopenIn(In):
    user_id: int
    reason: str = Field(max_length=2000)


class ConsensusIn(In):
    criterion_id: int
    score: str = Field(max_length=20)
    justification: str = Field(max_length=4000)

    _score = field_validator("score", mode="before")(_score_text)


class RecommendationIn(In):
    education_order: str = Field(max_length=20)
    evaluation_ids: list[int] = Field(max_length=10)
    comment: str = Field("", max_length=4000)


class DecisionIn(In):
    designated: bool
    decision_date: date | None = None
    justification: str = Field("", max_length=4000)


FIELD_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "extra_forbidden": "Ce champ n'est pas permis.",
    "string_too_long": "Ce texte est trop long.",
    "int_parsing": "Un nombre entier est attendu.",
    "int_type": "Un nombre entier est attendu.",
    "decimal_parsing": "Un nombre est attendu.",
    "decimal_max_digits": "Ce nombre compte trop de chiffres.",
    "decimal_max_places": "Deux décimales au plus.",
    "bool_parsing": "Une valeur oui/non est attendue.",
    "bool_type": "Une valeur oui/non est attendue.",
    "date_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_from_datetime_parsing": "Une date AAAA-MM-JJ est attendue.",
    "list_type": "Une liste est attendue.",
    "too_long": "La liste est trop longue.",
    "string_type": "Un texte est attendu.",
    "model_type": "Un objet est attendu.",
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
