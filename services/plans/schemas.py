"""RPC inputs of the plans service (pydantic v2, ``extra="forbid"``, French messages)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from services.plans.content import (
    EMAIL,
    AideMemoire,
    Annexes,
    Candidate,
    Competency,
    InstitutionParty,
    Line,
    Name,
    Program,
    Sections,
    Step,
    Strict,
    Text,
    check_logo,
    check_plain_text,
    program_code,
)


class PlanCreateIn(Strict):
    """A new plan: the employer (an organisation of the directory, or details typed for a
    new one) and the program. Every other section starts from the template's defaults."""

    employer_id: int | None = Field(None, ge=1)
    employer_name: Line = ""
    employer_service: Line = ""
    employer_address: Text = ""
    representative_name: Line = ""
    representative_title: Line = ""
    representative_email: Line = ""
    program_kind: Literal["AEC", "DEC"]
    program_code: str = Field(max_length=20)
    program_title: Name
    target_jobs: Line = ""
    organisation_domain: Line = ""

    @field_validator("program_code", mode="before")
    @classmethod
    def _code(cls, value):
        return program_code(value)

    @field_validator("representative_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not EMAIL.match(value):
            raise ValueError("Adresse courriel invalide.")
        return value


class EmployerPatch(Strict):
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


class DraftPatch(Strict):
    """Parts of a draft version to replace (each part is replaced whole)."""

    institution: InstitutionParty | None = None
    employer: EmployerPatch | None = None
    program: Program | None = None
    sections: Sections | None = None
    competencies: list[Competency] | None = Field(None, max_length=60)
    candidates: list[Candidate] | None = Field(None, max_length=200)
    steps: list[Step] | None = Field(None, max_length=12)
    closure_dates: list[date] | None = Field(None, max_length=120)
    aide_memoire: AideMemoire | None = None
    annexes: Annexes | None = None


class AnnexTemplateIn(Strict):
    annex_a: Annotated[
        str, Field(min_length=20, max_length=40000), AfterValidator(check_plain_text)
    ]
    annex_b: Annotated[
        str, Field(min_length=20, max_length=20000), AfterValidator(check_plain_text)
    ]
    annex_c: Annotated[
        str, Field(min_length=20, max_length=20000), AfterValidator(check_plain_text)
    ]
    logo: Annotated[str, AfterValidator(check_logo)] = ""


class OnlineAcceptanceIn(Strict):
    version: int = Field(ge=1)
    content_hash: str = Field(min_length=64, max_length=64)
    full_name: Name
    title: Name
    statement: str = Field(max_length=40)

    @field_validator("statement")
    @classmethod
    def _statement(cls, value: str) -> str:
        if value.strip().replace("'", "’").lower() != "j’accepte":
            raise ValueError("Écrivez « J’accepte » pour accepter le plan.")
        return "J’accepte"


class RecordedAcceptanceIn(Strict):
    version: int = Field(ge=1)
    received_on: date
    signed_by_name: Name
    signed_by_title: Line = ""
    filename: str = Field(min_length=1, max_length=200)
    content_b64: str = Field(min_length=4)


class AmendmentIn(Strict):
    summary: Annotated[str, Field(min_length=5, max_length=4000), AfterValidator(check_plain_text)]


class CancellationIn(Strict):
    reason: Annotated[str, Field(min_length=5, max_length=2000), AfterValidator(check_plain_text)]


class DeclineIn(Strict):
    """The employer's representative declines the offer awaiting acceptance (``version``, so
    that nobody declines a version other than the one read), saying why."""

    version: int = Field(ge=1)
    reason: Annotated[str, Field(min_length=5, max_length=2000), AfterValidator(check_plain_text)]


class StepProgressIn(Strict):
    step: Literal[
        "not_started",
        "information_meeting",
        "file_deposit",
        "validation_interview",
        "welcome_meeting",
        "evaluations",
        "missing_training",
        "sanction",
    ]


class ResultIn(Strict):
    competency_code: str = Field(min_length=1, max_length=12)
    result: Literal["en_cours", "reconnue", "formation_manquante"]


class AbandonIn(Strict):
    abandoned_on: date
