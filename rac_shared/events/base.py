"""Event contracts: the versioned facts services publish to each other.

Every event travels in an ``Envelope`` (``event_id``, ``event_type``, ``version`` — the
payload's schema version —, ``occurred_at``, ``correlation_id``, ``payload``). Payloads are
pydantic models declared in the shared package, one module per publisher
(``rac_shared/events/<publisher>.py``), because they are the contract between services: the
publisher and every consumer import the same class. Every payload class registers itself in
the one ``REGISTRY``, by (event type, schema version); its name is its event type in
CamelCase (``plan.issued`` → ``PlanIssued``).

**A version 2 while old consumers still run (rolling upgrade).** A new schema version of an
event only adds fields, each with a default (checked for every registered version by
``tests/unit/test_events.py``): a change that removes or retypes a field is a new event
type. So, during an upgrade:

- a consumer still on version 1 reads a version 2 envelope with its version 1 class, the
  fields it does not know left aside (``payload_as``);
- a consumer already on version 2 reads a version 1 envelope from a publisher not yet
  upgraded, the new fields taking their defaults.

The version 2 class declares ``schema_version: ClassVar[int] = 2`` and replaces the
version 1 class in the publisher's module (the version 1 class stays registered for the
check, under ``<Name>V1``) once every consumer handles its absence of the new fields.
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
    schema_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            key = (cls.event_type, cls.schema_version)
            if key in REGISTRY and REGISTRY[key].__qualname__ != cls.__qualname__:
                raise TypeError(f"{cls.event_type} v{cls.schema_version} is declared twice")
            REGISTRY[key] = cls


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
            version=type(payload).schema_version,
            source=payload.source,
            correlation_id=correlation_id,
            payload=payload.model_dump(mode="json"),
        )

    def payload_as(self, payload_cls: type[P]) -> P:
        """The payload read with the consumer's class: of the same event type, and of any
        schema version (see the module's docstring: versions only add fields)."""
        if self.event_type != payload_cls.event_type:
            raise ValueError(f"cannot read {self.event_type} as {payload_cls.event_type}")
        data = self.payload
        if self.version > payload_cls.schema_version:  # a newer publisher: drop what is new
            data = {k: v for k, v in data.items() if k in payload_cls.model_fields}
        return payload_cls.model_validate(data)
