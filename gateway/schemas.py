"""Request and response bodies of the gateway's JSON API (pydantic, French messages)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenRequest(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class OrganisationOut(BaseModel):
    id: int
    kind: str
    name: str
    code: str
    education_order: str | None
    region: str | None
    address: str | None


class MeResponse(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    role_label: str
    organisation: OrganisationOut


class NextActionOut(BaseModel):
    label: str
    url: str
    count: int | None = None
    urgent: bool = False


class HomeResponse(BaseModel):
    actions: list[NextActionOut]
    unavailable: list[str]


class OrganisationList(BaseModel):
    organisations: list[OrganisationOut]


class MessageOut(BaseModel):
    id: int
    subject: str
    body: str
    link: str | None
    created_at: str
    read: bool


class Inbox(BaseModel):
    unread: int
    messages: list[MessageOut]


class MarkedRead(BaseModel):
    id: int
    read: bool


class PasswordResetRequest(Strict):
    email: str = Field(min_length=3, max_length=254)


class Accepted(BaseModel):
    message: str


class Preferences(Strict):
    optional_reminders: bool
