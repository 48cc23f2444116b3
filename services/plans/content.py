"""The content of one version of a plan: every section of the cégep's template.

A version's content is one pydantic document, stored as JSON and validated again on every
change, hashed (SHA-256 of its canonical JSON) when the version is issued. Text typed by
users is plain text: markup and template syntax are refused with a clear French message
(they would be shown literally anyway, every template being autoescaped), and an image
is only ever an inline ``data:`` PNG or JPEG that the platform checked itself.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rac_shared.errors import invalid

PROGRAM_CODE = re.compile(r"^[A-Z0-9]{3}\.[A-Z0-9]{2}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MARKUP = re.compile(r"<\s*[A-Za-z!/?]|\{\{|\{%|\{#|\$\{")
MAX_LOGO_BYTES = 512 * 1024
M = TypeVar("M", bound=BaseModel)

MARKUP_MESSAGE = (
    "Le texte ne peut contenir ni balises HTML (<…>) ni expressions de gabarit ({{ … }}, {% … %})."
)


def check_plain_text(value: str) -> str:
    if MARKUP.search(value):
        raise ValueError(MARKUP_MESSAGE)
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValueError("Le texte contient des caractères de contrôle.")
    return value.replace("\r\n", "\n")


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


def program_code(value) -> str:
    """``jee.0k`` → ``JEE.0K``; a program code is three characters, a dot, two characters."""
    value = str(value or "").strip().upper()
    if not PROGRAM_CODE.match(value):
        raise ValueError("Le code du programme doit être de la forme XXX.XX (p. ex. JEE.0K).")
    return value


Line = Annotated[str, Field(max_length=300), AfterValidator(check_plain_text)]
Text = Annotated[str, Field(max_length=20000), AfterValidator(check_plain_text)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_plain_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InstitutionParty(Strict):
    """« Par : » — the institution's direction, name, address and contact details."""

    name: Name
    address: Text = ""
    contact: Line = ""
    signatory_name: Line = ""
    signatory_title: Line = ""


class EmployerParty(Strict):
    """« Pour : » — the organisation, its service (if any), address and representative."""

    name: Name
    service: Line = ""
    address: Text = ""
    representative_name: Line = ""
    representative_title: Line = ""
    representative_email: Line = ""

    @field_validator("representative_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not EMAIL.match(value):
            raise ValueError("Adresse courriel invalide.")
        return value


class Program(Strict):
    kind: Literal["AEC", "DEC"]
    code: Annotated[str, Field(max_length=6)]
    title: Name

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value):
        return program_code(value)


class Specialist(Strict):
    name: Name
    field: Line


class Competency(Strict):
    code: Annotated[str, Field(min_length=1, max_length=12), AfterValidator(check_plain_text)]
    statement: Annotated[str, Field(min_length=3, max_length=500), AfterValidator(check_plain_text)]
    group: Annotated[str, Field(max_length=60), AfterValidator(check_plain_text)] = ""
    weeks_3h: int = Field(ge=1, le=104)
    weeks_6h: int = Field(ge=1, le=104)

    @model_validator(mode="after")
    def _faster_at_six_hours(self):
        if self.weeks_6h > self.weeks_3h:
            raise ValueError(
                "À raison de 6 h par semaine, la durée ne peut dépasser celle à 3 h par semaine."
            )
        return self


class Candidate(Strict):
    id: int | None = None  # assigned by the service (progress is tracked by this id)
    full_name: Name
    job_title: Line
    email: Line

    rhythm: Literal[3, 6]
    start_date: date
    modality: Literal["online", "in_person"]

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError("Adresse courriel invalide.")
        return value


class Step(Strict):
    """One of the seed's steps, with dates or a period in words (« Automne 2026 »)."""

    kind: Literal[
        "information_meeting",
        "file_deposit",
        "validation_interview",
        "welcome_meeting",
        "missing_training",
        "sanction",
    ]
    start: date | None = None
    end: date | None = None
    period: Line = ""

    @model_validator(mode="after")
    def _ordered(self):
        if self.start and self.end and self.end < self.start:
            raise ValueError("La fin d'une étape ne peut précéder son début.")
        return self


class AnnexBEntry(Strict):
    category: Literal["accompaniment", "facilitating", "modalities"]
    what: Annotated[str, Field(min_length=3, max_length=1000), AfterValidator(check_plain_text)]
    who: Line


class Sections(Strict):
    context: Text = ""
    target_jobs: Line = ""
    institution_expertise: Text = ""
    domains: list[Line] = Field(default_factory=list, max_length=40)
    equipment: Text = ""
    specialists_text: Text = ""
    specialists: list[Specialist] = Field(default_factory=list, max_length=40)
    organisation_domain: Line = ""
    organisation_expertise: Text = ""
    objectives: list[Annotated[str, Field(max_length=1000), AfterValidator(check_plain_text)]] = (
        Field(default_factory=list, max_length=20)
    )
    process: Text = ""
    implementation: Text = ""
    missing_training_procedure: Text = ""


class AideMemoire(Strict):
    """The seed's « aide-mémoire » clauses. Duration and number of candidate-workers are
    computed; the evaluation fees come from billing's estimate."""

    evaluation_fees_note: Text = ""
    human_financial_resources: Text = ""
    safety_equipment: Text = ""
    refund_conditions: Text = ""
    modalities: Text = ""


class Annexes(Strict):
    annex_a: Text = ""
    annex_b: Text = ""
    annex_b_entries: list[AnnexBEntry] = Field(default_factory=list, max_length=60)
    annex_c: Text = ""
    annex_c_representative: Line = ""
    annex_c_start_date: date | None = None


class PlanContent(Strict):
    institution: InstitutionParty
    employer: EmployerParty
    program: Program
    sections: Sections = Field(default_factory=Sections)
    competencies: list[Competency] = Field(default_factory=list, max_length=60)
    candidates: list[Candidate] = Field(default_factory=list, max_length=200)
    steps: list[Step] = Field(default_factory=list, max_length=12)
    closure_dates: list[date] = Field(default_factory=list, max_length=120)
    aide_memoire: AideMemoire = Field(default_factory=AideMemoire)
    annexes: Annexes = Field(default_factory=Annexes)
    logo: Annotated[str, AfterValidator(check_logo)] = ""

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
    def _sorted_closures(cls, value: list[date]) -> list[date]:
        return sorted(set(value))


FIELD_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "extra_forbidden": "Ce champ n'est pas permis.",
    "string_too_long": "Ce texte est trop long.",
    "string_too_short": "Ce champ est obligatoire.",
    "int_parsing": "Un nombre entier est attendu.",
    "int_type": "Un nombre entier est attendu.",
    "greater_than_equal": "La valeur est trop petite.",
    "less_than_equal": "La valeur est trop grande.",
    "date_from_datetime_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_parsing": "Une date AAAA-MM-JJ est attendue.",
    "date_type": "Une date AAAA-MM-JJ est attendue.",
    "literal_error": "Cette valeur n'est pas permise.",
    "too_long": "Trop d'éléments.",
    "list_type": "Une liste est attendue.",
    "model_type": "Un objet est attendu.",
    "dict_type": "Un objet est attendu.",
    "string_type": "Un texte est attendu.",
    "decimal_parsing": "Un montant est attendu.",
    "bool_parsing": "Une valeur oui/non est attendue.",
}


def error_details(exc: ValidationError) -> dict[str, str]:
    details: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(p) for p in error["loc"]) or "corps"
        if error["type"] == "value_error":
            message = str(error.get("ctx", {}).get("error", "Valeur invalide."))
        else:
            message = FIELD_MESSAGES.get(error["type"], "Valeur invalide.")
        details.setdefault(path, message)
    return details


def parse(model: type[M], data) -> M:
    """Validate ``data``; a French ``invalid`` DomainError with one message per field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = error_details(exc)
        first = next(iter(details.values()), "Données invalides.")
        raise invalid(f"Les données du plan sont invalides : {first}", details) from None
