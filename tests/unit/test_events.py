"""Event contracts: envelopes, versioned payloads, strict validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

import pytest
from pydantic import ValidationError

from rac_shared.clock import clock
from rac_shared.events import REGISTRY, Envelope, PasswordResetRequested


def reset_requested() -> PasswordResetRequested:
    return PasswordResetRequested(
        user_id=12,
        email="rac@cegeplevis.demo.quebec",
        full_name="Élise Tremblay",
        reset_url="http://127.0.0.1:8000/mot-de-passe/reinitialiser/abc",
        expires_at=datetime(2026, 12, 13, 4, 59, tzinfo=UTC),
    )


def test_payload_is_registered_by_type_and_version():
    assert REGISTRY[("user.password_reset_requested", 1)] is PasswordResetRequested


def test_wrap_fills_the_envelope():
    payload = reset_requested()
    with clock.frozen_at(datetime(2026, 5, 1, 12, tzinfo=UTC)):
        envelope = Envelope.wrap(payload, "corr-123")
    assert envelope.event_type == "user.password_reset_requested"
    assert envelope.version == 1
    assert envelope.source == "gateway"
    assert envelope.correlation_id == "corr-123"
    assert envelope.occurred_at == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert isinstance(envelope.event_id, UUID)
    assert envelope.payload["full_name"] == "Élise Tremblay"
    assert Envelope.wrap(payload).event_id != envelope.event_id


def test_roundtrip_through_json():
    payload = reset_requested()
    envelope = Envelope.wrap(payload, "corr-123")
    wire = json.loads(json.dumps(envelope.model_dump(mode="json")))
    received = Envelope.model_validate(wire)
    assert received == envelope
    assert received.payload_as(PasswordResetRequested) == payload


def test_type_mismatch_refused():
    envelope = Envelope.wrap(reset_requested()).model_copy(
        update={"event_type": "user.something_else"}
    )
    with pytest.raises(ValueError, match="cannot read"):
        envelope.payload_as(PasswordResetRequested)


def test_version_mismatch_refused():
    envelope = Envelope.wrap(reset_requested()).model_copy(update={"version": 2})
    with pytest.raises(ValueError, match="cannot read"):
        envelope.payload_as(PasswordResetRequested)


def test_extra_payload_field_refused():
    wire = Envelope.wrap(reset_requested()).model_dump(mode="json")
    wire["payload"]["password"] = "surprise"
    with pytest.raises(ValidationError):
        Envelope.model_validate(wire).payload_as(PasswordResetRequested)


def test_missing_payload_field_refused():
    wire = Envelope.wrap(reset_requested()).model_dump(mode="json")
    del wire["payload"]["email"]
    with pytest.raises(ValidationError):
        Envelope.model_validate(wire).payload_as(PasswordResetRequested)


def test_extra_envelope_field_refused():
    wire = Envelope.wrap(reset_requested()).model_dump(mode="json")
    wire["unexpected"] = True
    with pytest.raises(ValidationError):
        Envelope.model_validate(wire)


def test_payloads_are_immutable():
    payload = reset_requested()
    with pytest.raises(ValidationError):
        payload.email = "autre@example.org"


def test_plan_messages_published_before_amendments_were_named_still_parse():
    """``plan.issued`` and ``plan.lapsed`` relayed by an older plans service (no
    ``amends_version``) are read as first offers; the new facts are registered."""
    from rac_shared.events import PlanDeclined, PlanIssued, PlanLapsed, PlanVersionWithdrawn

    older = Envelope(
        event_type="plan.lapsed",
        version=1,
        source="plans",
        payload={
            "plan_id": 3,
            "version": 1,
            "reference": "PMO-CLV-2026-003",
            "institution_id": 2,
            "employer_id": 5,
            "issued_on": "2026-11-12",
            "lapsed_on": "2026-12-13",
        },
    )
    lapsed = older.payload_as(PlanLapsed)
    assert lapsed.amends_version is None and lapsed.amends_issued_on is None
    issued = PlanIssued.model_validate(
        {
            "plan_id": 3,
            "version": 1,
            "reference": "PMO-CLV-2026-003",
            "institution_id": 2,
            "employer_id": 5,
            "issued_on": "2026-11-12",
            "acceptance_deadline": "2026-12-13T04:59:59Z",
            "content_hash": "f" * 64,
        }
    )
    assert (issued.amends_version, issued.replaces_version, issued.change_summary) == (
        None,
        None,
        "",
    )
    assert REGISTRY[("plan.declined", 1)] is PlanDeclined
    assert REGISTRY[("plan.version_withdrawn", 1)] is PlanVersionWithdrawn
