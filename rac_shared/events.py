"""Event contracts: the versioned facts services publish to each other.

Every event travels in an ``Envelope`` (``event_id``, ``event_type``, ``version``,
``occurred_at``, ``correlation_id``, ``payload``). Payloads are pydantic models declared
here, in the shared package, because they are the contract between services: the
publisher and every consumer import the same class.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from rac_shared.clock import clock

P = TypeVar("P", bound="EventPayload")

REGISTRY: dict[tuple[str, int], type[EventPayload]] = {}


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: ClassVar[str]
    event_type: ClassVar[str]
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            REGISTRY[(cls.event_type, cls.version)] = cls


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str
    version: int
    source: str
    occurred_at: datetime = Field(default_factory=clock.now)
    correlation_id: str | None = None
    payload: dict

    @classmethod
    def wrap(cls, payload: EventPayload, correlation_id: str | None = None) -> Envelope:
        return cls(
            event_type=payload.event_type,
            version=payload.version,
            source=payload.source,
            correlation_id=correlation_id,
            payload=payload.model_dump(mode="json"),
        )

    def payload_as(self, payload_cls: type[P]) -> P:
        if (self.event_type, self.version) != (payload_cls.event_type, payload_cls.version):
            raise ValueError(
                f"cannot read {self.event_type} v{self.version} as "
                f"{payload_cls.event_type} v{payload_cls.version}"
            )
        return payload_cls.model_validate(self.payload)


# --- gateway (identity) ---------------------------------------------------------------


class PasswordResetRequested(EventPayload):
    """A user asked for a password reset: notifications e-mails the link."""

    source: ClassVar[str] = "gateway"
    event_type: ClassVar[str] = "user.password_reset_requested"

    user_id: int
    email: str
    full_name: str
    reset_url: str
    expires_at: datetime
