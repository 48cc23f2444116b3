"""Request and response bodies of the gateway's JSON API (pydantic, French messages)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from rac_shared.audit import SubjectType
from rac_shared.contracts import NextAction
from rac_shared.contracts.base import Strict, Vocabulary
from rac_shared.contracts.directory import OrganisationView


class TokenRequest(Strict):
    email: str = Field(min_length=3, max_length=254, title="Adresse courriel")
    password: str = Field(min_length=1, max_length=200, title="Mot de passe")


class TokenResponse(BaseModel):
    """A session token; or, when the user signs in with a second factor, no token yet but
    the challenge to send with the code to ``/api/auth/second-factor``."""

    access_token: str | None = None
    token_type: str = "Bearer"
    expires_in: int
    second_factor_required: bool = False
    challenge_token: str | None = None


class SecondFactorRequest(Strict):
    challenge_token: str = Field(min_length=1, max_length=2000, title="Jeton de la première étape")
    code: str = Field(min_length=1, max_length=40, title="Code de vérification")


class MeResponse(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    role_label: str
    organisation: OrganisationView


class HomeResponse(BaseModel):
    actions: list[NextAction]
    unavailable: list[str]


class OrganisationList(BaseModel):
    organisations: list[OrganisationView]


class PasswordResetRequest(Strict):
    email: str = Field(min_length=3, max_length=254, title="Adresse courriel")


class Accepted(BaseModel):
    message: str


# -- the audit trail ----------------------------------------------------------------------


class EntryKind(Vocabulary):
    REQUEST = "request", "Requête"
    RECORD = "record", "Fait consigné"
    READ = "read", "Consultation"


class JournalQuery(Strict):
    """The journal's filters (every one optional), the same for the page, its CSV export
    and the API."""

    du: date | None = Field(None, title="Du")
    au: date | None = Field(None, title="Au")
    personne: str | None = Field(None, max_length=200, title="Personne")
    objet: SubjectType | None = Field(None, title="Type d'objet")
    nature: EntryKind | None = Field(None, title="Nature")
    texte: str | None = Field(None, max_length=200, title="Contient")
    page: int = Field(1, ge=1, le=100_000, title="Page")


class ChangeView(BaseModel):
    field: str
    before: str | None = None
    after: str | None = None


class AuditEntryView(BaseModel):
    seq: int
    at: datetime
    kind: EntryKind
    source: str
    actor_user_id: int | None
    actor_name: str | None
    organisation_id: int | None
    action: str
    summary: str | None
    method: str | None
    path: str | None
    status: int | None
    subject_type: SubjectType | None
    subject_id: str | None
    subject_label: str | None
    changes: list[ChangeView]
    correlation_id: str | None
    hash: str


class AuditEntryList(BaseModel):
    entries: list[AuditEntryView]
    page: int
    more: bool
