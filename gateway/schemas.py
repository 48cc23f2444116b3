"""Request and response bodies of the gateway's JSON API (pydantic, French messages)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from rac_shared.contracts import NextAction
from rac_shared.contracts.base import Strict
from rac_shared.contracts.directory import OrganisationView


class TokenRequest(Strict):
    email: str = Field(min_length=3, max_length=254, title="Adresse courriel")
    password: str = Field(min_length=1, max_length=200, title="Mot de passe")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


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
