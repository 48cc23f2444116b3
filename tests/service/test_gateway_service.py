"""The gateway's directory RPCs over a SQLite database seeded with the demo accounts."""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from gateway.demo import seed_accounts
from gateway.models import User
from gateway.service import GatewayService
from rac_shared.errors import DomainError
from rac_shared.events import UserPasswordResetRequested
from rac_shared.outbox import record_event
from tests.service.helpers import reset_envelope


@pytest.fixture
def directory(service_database):
    sessions = service_database("gateway")
    with sessions() as session, session.begin():
        organisations = seed_accounts(session)
        users = {u.email: u.id for u in session.scalars(select(User))}
    return sessions, organisations, users


def call(sessions, method: str, *args):
    with sessions() as session:
        return getattr(worker_factory(GatewayService, db=session), method)(*args)


def test_get_user_returns_the_directory_view(directory):
    sessions, organisations, users = directory

    user = call(sessions, "get_user", users["rac@cegeplevis.demo.quebec"])

    assert user == {
        "id": users["rac@cegeplevis.demo.quebec"],
        "email": "rac@cegeplevis.demo.quebec",
        "full_name": "Sophie Bélanger",
        "title": "Coordonnatrice de la RAC",
        "role": "rac_coordinator",
        "organisation_id": organisations["levis"],
        "organisation_name": "Cégep de Lévis",
        "active": True,
        "form_of_address": "Madame",
    }
    assert "password_hash" not in user


def test_get_user_unknown_is_not_found(directory):
    sessions, _, _ = directory
    with pytest.raises(DomainError) as error:
        call(sessions, "get_user", 999_999)
    assert error.value.code == "not_found"
    assert error.value.http_status == 404


def test_get_organisation(directory):
    sessions, organisations, _ = directory
    levis = call(sessions, "get_organisation", organisations["levis"])
    assert levis["name"] == "Cégep de Lévis"
    assert levis["code"] == "CLV"
    assert levis["kind"] == "cegep"
    with pytest.raises(DomainError) as error:
        call(sessions, "get_organisation", 999_999)
    assert error.value.code == "not_found"


def test_users_of_organisation_active_only_sorted_and_filtered_by_role(directory):
    sessions, organisations, users = directory

    everyone = call(sessions, "users_of_organisation", organisations["levis"])
    assert [u["email"] for u in everyone] == [
        "dg@cegeplevis.demo.quebec",  # Isabelle Bégin
        "etudes@cegeplevis.demo.quebec",  # Marc-André Gagnon
        "evaluateur@cegeplevis.demo.quebec",  # Martin Gravel, evaluator of the network
        "rac@cegeplevis.demo.quebec",  # Sophie Bélanger
    ]
    assert {u["organisation_id"] for u in everyone} == {organisations["levis"]}

    coordinators = call(
        sessions, "users_of_organisation", organisations["levis"], ["rac_coordinator"]
    )
    assert [u["email"] for u in coordinators] == ["rac@cegeplevis.demo.quebec"]

    with sessions() as session, session.begin():
        session.get(User, users["etudes@cegeplevis.demo.quebec"]).active = False
    remaining = call(sessions, "users_of_organisation", organisations["levis"])
    assert [u["email"] for u in remaining] == [
        "dg@cegeplevis.demo.quebec",
        "evaluateur@cegeplevis.demo.quebec",
        "rac@cegeplevis.demo.quebec",
    ]
    assert call(sessions, "users_of_organisation", 999_999) == []


def test_users_with_roles_spans_the_organisations(directory):
    """A committee's possible members: the evaluators of the ministry and of the network."""
    sessions, _, users = directory
    evaluators = call(sessions, "users_with_roles", ["ministry_evaluator"])
    assert [(u["full_name"], u["organisation_name"]) for u in evaluators] == [
        ("Geneviève Lévesque", "Ministère de l'Enseignement supérieur"),
        ("Martin Gravel", "Cégep de Lévis"),
        ("Mélanie Fournier", "Centre de services scolaire des Navigateurs"),
    ]
    with sessions() as session, session.begin():
        session.get(User, users["evaluateur@cegeplevis.demo.quebec"]).active = False
    assert len(call(sessions, "users_with_roles", ["ministry_evaluator"])) == 2


def test_health_reports_database_and_pending_events(directory):
    sessions, _, _ = directory
    assert call(sessions, "health") == {
        "service": "gateway",
        "database": "ok",
        "pending_events": 0,
    }

    envelope = reset_envelope()
    with sessions() as session, session.begin():
        record_event(session, envelope.payload_as(UserPasswordResetRequested))
    assert call(sessions, "health")["pending_events"] == 1


def test_unsubscribe_links_are_signed_for_each_user_under_the_public_url(directory):
    from gateway.auth import read_unsubscribe_token
    from rac_shared.settings import get_settings

    sessions, _, users = directory
    ids = [users["rh@cisss.demo.quebec"], users["rac@cegeplevis.demo.quebec"]]

    links = call(sessions, "unsubscribe_links", ids)

    settings = get_settings()
    assert set(links) == {str(i) for i in ids}
    for user_id in ids:
        prefix = f"{settings.public_url}/desabonnement/"
        assert links[str(user_id)].startswith(prefix)
        token = links[str(user_id)].removeprefix(prefix)
        assert read_unsubscribe_token(settings, token) == (user_id, "optional_reminders")


# -- the audit trail's consumers ---------------------------------------------------------------


def test_the_audit_handlers_chain_each_event_once(directory):
    from datetime import UTC, datetime
    from decimal import Decimal

    from gateway import audit
    from gateway.audit_facts import FACTS
    from rac_shared.audit import AUDIT_EVENTS, AUDITING_SERVICES, SubjectType
    from rac_shared.bus import event_queues_of
    from rac_shared.events import Envelope, PaymentRecorded

    sessions, _, users = directory
    paid = PaymentRecorded(
        payment_id=1, invoice_id=9, number="CLV-2026-0009", institution_id=2, employer_id=5,
        paid_on=datetime(2026, 12, 7, tzinfo=UTC).date(), amount=Decimal("10.00"),
        method="cheque", balance=Decimal("90.00"),
    )  # fmt: skip
    noted = AUDIT_EVENTS["plans"](
        subject_type=SubjectType.PLAN, subject_id="3", subject_label="PMO-CLV-2026-003",
        action="closure_added", summary="Fermeture du 26 décembre ajoutée",
        actor_user_id=users["rac@cegeplevis.demo.quebec"],
        occurred_at=datetime(2026, 12, 7, tzinfo=UTC),
    )  # fmt: skip
    for payload, method in (
        (paid, "audit_billing_payment_recorded"),
        (noted, "audit_plans_audit_recorded"),
    ):
        body = Envelope.wrap(payload).model_dump(mode="json")
        for _ in range(2):  # redelivered: appended once
            with sessions() as session:
                getattr(worker_factory(GatewayService, db=session), method)(body)
    with sessions() as session:
        assert [e["summary"] for e in audit.history(session, "invoice", "9")] == [
            "Paiement de 10,00 $ reçu le 7 décembre 2026".replace(" $", "\u00a0$")
        ]
        [plan] = audit.history(session, "plan", "3")
        assert plan["source"] == "plans" and plan["actor_name"] == "Sophie Bélanger"
        assert audit.verify_chain(session) == audit.Verdict(2)
    # One queue per kind of fact and per auditing service, declared by ``rac migrate``.
    names = {q.name for q in event_queues_of(GatewayService)}
    assert len(names) == len(FACTS) + len(AUDITING_SERVICES)
    assert "evt-billing-payment.recorded--gateway.audit_billing_payment_recorded" in names
