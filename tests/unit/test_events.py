"""Event contracts: envelopes, versioned payloads, strict validation."""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

import pytest
from pydantic import ValidationError

from rac_shared.clock import clock
from rac_shared.events import REGISTRY, Envelope, EventPayload, UserPasswordResetRequested


def reset_requested() -> UserPasswordResetRequested:
    return UserPasswordResetRequested(
        user_id=12,
        email="rac@cegeplevis.demo.quebec",
        full_name="Élise Tremblay",
        reset_url="http://127.0.0.1:8000/mot-de-passe/reinitialiser/abc",
        expires_at=datetime(2026, 12, 13, 4, 59, tzinfo=UTC),
    )


def test_payload_is_registered_by_type_and_version():
    assert REGISTRY[("user.password_reset_requested", 1)] is UserPasswordResetRequested


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
    assert received.payload_as(UserPasswordResetRequested) == payload


def test_type_mismatch_refused():
    envelope = Envelope.wrap(reset_requested()).model_copy(
        update={"event_type": "user.something_else"}
    )
    with pytest.raises(ValueError, match="cannot read"):
        envelope.payload_as(UserPasswordResetRequested)


# -- one module per publisher, names that are their types, versions that only add ----------


def camel(event_type: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[._]", event_type))


def test_a_payload_class_is_named_after_its_event_type():
    for (event_type, _), cls in REGISTRY.items():
        assert re.fullmatch(camel(event_type) + r"(V\d+)?", cls.__name__), cls.__name__


@pytest.mark.parametrize(
    "publisher", ["gateway", "applications", "scoring", "plans", "billing", "notifications"]
)
def test_each_publisher_declares_its_own_events_in_its_own_module(publisher):
    module = importlib.import_module(f"rac_shared.events.{publisher}")
    declared = [
        cls
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, EventPayload) and cls is not EventPayload
    ]
    assert declared
    assert {cls.source for cls in declared} == {publisher}
    assert all(cls.__module__ == module.__name__ for cls in declared)
    mine = {cls for cls in REGISTRY.values() if cls.source == publisher}
    assert mine == set(declared)


def test_the_schema_version_is_not_shadowed_by_the_plan_s_version():
    from rac_shared.events import PlanIssued

    assert PlanIssued.schema_version == 2  # version 2 added the estimate's hash
    assert "version" in PlanIssued.model_fields  # the plan's version, a field of its own
    issued = PlanIssued.model_validate(
        {
            "plan_id": 3,
            "version": 4,
            "reference": "PMO-CLV-2026-003",
            "institution_id": 2,
            "employer_id": 5,
            "issued_on": "2026-11-12",
            "acceptance_deadline": "2026-12-13T04:59:00+00:00",
            "content_hash": "0" * 64,
        }
    )
    envelope = Envelope.wrap(issued)
    assert (envelope.version, envelope.payload["version"]) == (2, 4)


def test_plan_issued_version_2_reads_what_a_version_1_publisher_still_sends():
    """The rolling upgrade of ``plan.issued`` (``estimate_hash`` added): a plans service not
    yet upgraded publishes version 1, which billing and notifications read with version 2;
    version 1 stays registered for the contract check."""
    from rac_shared.events import PlanIssued, PlanIssuedV1

    old = PlanIssuedV1(
        plan_id=3,
        version=1,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on="2026-11-12",
        acceptance_deadline="2026-12-13T04:59:00+00:00",
        content_hash="0" * 64,
    )
    wire = json.loads(json.dumps(Envelope.wrap(old).model_dump(mode="json")))
    assert (wire["event_type"], wire["version"]) == ("plan.issued", 1)
    read = Envelope.model_validate(wire).payload_as(PlanIssued)
    assert read.estimate_hash == "" and read.reference == "PMO-CLV-2026-003"
    assert REGISTRY[("plan.issued", 1)] is PlanIssuedV1


def test_every_registered_version_only_adds_fields_with_defaults():
    versions: dict[str, dict[int, type[EventPayload]]] = {}
    for (event_type, version), cls in REGISTRY.items():
        versions.setdefault(event_type, {})[version] = cls
    for event_type, by_version in versions.items():
        assert sorted(by_version) == list(range(1, len(by_version) + 1)), event_type
        for version in sorted(by_version)[1:]:
            older, newer = by_version[version - 1].model_fields, by_version[version].model_fields
            assert set(older) <= set(newer), event_type
            for name in set(newer) - set(older):
                assert not newer[name].is_required(), (event_type, name)


@pytest.fixture
def sample_event_in_two_versions():
    """``sample.recorded`` v1 and its v2 (one field added, with a default), registered for
    the test only: what a publisher's module holds during a rolling upgrade."""

    class SampleRecordedV1(EventPayload):
        source: ClassVar[str] = "billing"
        event_type: ClassVar[str] = "sample.recorded"

        sample_id: int
        amount: Decimal

    class SampleRecorded(EventPayload):
        source: ClassVar[str] = "billing"
        event_type: ClassVar[str] = "sample.recorded"
        schema_version: ClassVar[int] = 2

        sample_id: int
        amount: Decimal
        currency: str = "CAD"

    yield SampleRecordedV1, SampleRecorded
    REGISTRY.pop(("sample.recorded", 1))
    REGISTRY.pop(("sample.recorded", 2))


def test_a_version_2_publisher_and_version_1_consumers_run_side_by_side(
    sample_event_in_two_versions,
):
    v1, v2 = sample_event_in_two_versions
    test_every_registered_version_only_adds_fields_with_defaults()  # v2 follows the rule

    # The publisher upgraded first: an old consumer reads v2 with its v1 class.
    sent = Envelope.wrap(v2(sample_id=7, amount=Decimal("12.50"), currency="EUR"))
    wire = Envelope.model_validate(json.loads(json.dumps(sent.model_dump(mode="json"))))
    assert wire.version == 2
    assert wire.payload_as(v1) == v1(sample_id=7, amount=Decimal("12.50"))

    # A consumer upgraded first: it reads what the old publisher still sends (v1).
    old = Envelope.model_validate(
        json.loads(json.dumps(Envelope.wrap(v1(sample_id=8, amount=Decimal("1")))
                              .model_dump(mode="json")))
    )  # fmt: skip
    assert old.version == 1
    assert old.payload_as(v2) == v2(sample_id=8, amount=Decimal("1"), currency="CAD")

    # What is not in either version is still refused.
    wire.payload["surprise"] = True
    with pytest.raises(ValidationError):
        Envelope.model_validate(wire.model_dump(mode="json") | {"version": 1}).payload_as(v2)


def test_a_second_class_for_the_same_type_and_version_is_refused(sample_event_in_two_versions):
    with pytest.raises(TypeError, match="declared twice"):

        class SampleRecordedAgain(EventPayload):
            source: ClassVar[str] = "billing"
            event_type: ClassVar[str] = "sample.recorded"

            sample_id: int


def test_extra_payload_field_refused():
    wire = Envelope.wrap(reset_requested()).model_dump(mode="json")
    wire["payload"]["password"] = "surprise"
    with pytest.raises(ValidationError):
        Envelope.model_validate(wire).payload_as(UserPasswordResetRequested)


def test_missing_payload_field_refused():
    wire = Envelope.wrap(reset_requested()).model_dump(mode="json")
    del wire["payload"]["email"]
    with pytest.raises(ValidationError):
        Envelope.model_validate(wire).payload_as(UserPasswordResetRequested)


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
