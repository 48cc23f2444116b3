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
        "active": True,
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
        "rac@cegeplevis.demo.quebec",
    ]
    assert call(sessions, "users_of_organisation", 999_999) == []


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
