"""How a service puts its own entries in the audit trail: ``record_audit`` in the transaction
of the change.

The audit trail (the « Historique » of each object and the ministry's journal) is one
hash-chained ledger kept by the gateway. A service adds an entry the way it publishes any
fact: ``record_audit(session, "applications", ...)`` writes an ``audit.recorded`` event to
its outbox in the same transaction as the change it describes, so the entry exists if and
only if the change was committed; the gateway's service appends it to the chain once
(idempotent by ``event_id``). Example::

    record_audit(
        session,
        "applications",
        subject=AuditSubject(type=SubjectType.APPLICATION, id=application.id,
                             label=application.reference),
        action="complements_requested",
        summary="Compléments demandés : signature de la direction générale",
        actor=actor,
        organisation_id=application.organisation_id,
        changes=[Change(field="Statut", before="En analyse", after="Compléments demandés")],
    )

The trail is append-only and never purged: a summary or a change names no candidate-worker
(their personal information is kept, and purged, where it lives; say « une
candidate-travailleuse ajoutée », point to the object).

The gateway also turns the services' existing domain events (a plan issued, an invoice
issued, a CERAC designated…) into entries (``gateway/audit_facts.py``): a service needs
``record_audit`` only for what no event already says.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.base import Vocabulary
from rac_shared.events import EventPayload
from rac_shared.outbox import record_event


class SubjectType(Vocabulary):
    """What an entry is about: each has its « Historique » page (``/historique/<type>/<id>``)."""

    CALL = "call", "Appel d'intérêt"
    APPLICATION = "application", "Candidature"
    EVALUATION = "evaluation", "Évaluation"
    DESIGNATION = "designation", "Désignation"
    PLAN = "plan", "Plan de mise en œuvre"
    PLAN_VERSION = "plan_version", "Version de plan"
    ESTIMATE = "estimate", "Estimation des coûts"
    INVOICE = "invoice", "Facture"
    CREDIT_NOTE = "credit_note", "Note de crédit"
    ALLOCATION = "allocation", "Allocation"
    REPORT = "report", "Reddition de comptes"
    ACCOUNT = "account", "Compte"
    JOURNAL = "journal", "Journal d'audit"


class AuditSubject(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: SubjectType
    id: str = Field(max_length=60)
    label: str = Field("", max_length=200)  # a reference people know (CLV-2026-0001…)

    @field_validator("id", mode="before")
    @classmethod
    def _as_text(cls, value):
        return str(value)


class Change(BaseModel):
    """One decided value: what it was, what it became (French labels, as people read them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(max_length=120)
    before: str | None = Field(None, max_length=500)
    after: str | None = Field(None, max_length=500)


class AuditRecorded(EventPayload):
    """An entry for the audit trail, from the service named by the subclass's ``source``.

    Not one of the facts services exchange (``rac_shared.events``' registry): only the
    gateway's trail reads it, one class per publishing service (``AUDIT_EVENTS``)."""

    source: ClassVar[str] = "gateway"

    subject_type: SubjectType
    subject_id: str
    subject_label: str = ""
    action: str = Field(max_length=120)
    summary: str = Field(max_length=2000)
    actor_user_id: int | None = None
    actor_name: str | None = None
    organisation_id: int | None = None
    changes: list[Change] = Field(default_factory=list)
    occurred_at: datetime


# Set after the class statement, so that the registry of exchanged facts does not list it.
AuditRecorded.event_type = "audit.recorded"

AUDITING_SERVICES = ("applications", "scoring", "plans", "billing", "notifications")

# One payload class per publishing service: an event's exchange is its source's.
AUDIT_EVENTS: dict[str, type[AuditRecorded]] = {"gateway": AuditRecorded} | {
    service: type(f"{service.title()}AuditRecorded", (AuditRecorded,), {"source": service})
    for service in AUDITING_SERVICES
}


def record_audit(
    session: Session,
    source: str,
    *,
    subject: AuditSubject,
    action: str,
    summary: str,
    actor: Actor | None = None,
    organisation_id: int | None = None,
    changes: list[Change] | None = None,
) -> None:
    """Add an entry to the audit trail, in the caller's transaction (see the module)."""
    record_event(
        session,
        AUDIT_EVENTS[source](
            subject_type=subject.type,
            subject_id=subject.id,
            subject_label=subject.label,
            action=action,
            summary=summary,
            actor_user_id=actor.user_id if actor else None,
            actor_name=actor.full_name if actor else None,
            organisation_id=organisation_id,
            changes=changes or [],
            occurred_at=clock.now(),
        ),
    )
