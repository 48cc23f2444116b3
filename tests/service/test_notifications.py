"""The notifications service: idempotent e-mails over a real SMTP server, retries, inbox."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from nameko.testing.services import (
    entrypoint_hook,
    replace_dependencies,
    restrict_entrypoints,
    worker_factory,
)
from sqlalchemy import func, select, text

from rac_shared import events as ev
from rac_shared.actor import OrganisationKind, Role
from rac_shared.clock import clock
from rac_shared.errors import DomainError
from rac_shared.settings import get_settings
from services.notifications import domain
from services.notifications.mailer import stable_message_id
from services.notifications.models import Base, Notification
from services.notifications.service import NotificationsService
from tests.service.helpers import reset_envelope
from tests.support.typography import ordinary_spaces

RESET_SUBJECT = "Réinitialisation de votre mot de passe"
HANDLER = "notifications.send_password_reset"


def utc(instant: datetime) -> datetime:
    """SQLite hands timestamps back naive; the platform stores UTC."""
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def count(session_factory, statement) -> int:
    with session_factory() as session:
        return session.scalar(statement)


def processed_count(session_factory, event_id) -> int:
    table = Base.metadata.tables["processed_events"]
    return count(
        session_factory,
        select(func.count())
        .select_from(table)
        .where(table.c.event_id == str(event_id), table.c.handler == HANDLER),
    )


def notifications_of(session_factory, event_id) -> list[Notification]:
    with session_factory() as session:
        return list(
            session.scalars(select(Notification).where(Notification.event_id == str(event_id)))
        )


def call_worker(session_factory, method: str, *args):
    """One worker per call, with its own session, as nameko gives each worker."""
    with session_factory() as session:
        service = worker_factory(NotificationsService, db=session, stop_requested=lambda: False)
        return getattr(service, method)(*args)


# -- password-reset e-mail ---------------------------------------------------------------


def test_same_envelope_twice_sends_one_email(
    service_database, smtp_server, container_factory, rabbit_config
):
    sessions = service_database("notifications")
    container = container_factory(NotificationsService, rabbit_config)
    restrict_entrypoints(container, "send_password_reset")
    container.start()
    envelope = reset_envelope()
    body = envelope.model_dump(mode="json")

    with entrypoint_hook(container, "send_password_reset") as handle:
        handle(body)
    with entrypoint_hook(container, "send_password_reset") as handle:
        handle(body)

    [notification] = notifications_of(sessions, envelope.event_id)
    assert notification.status == "sent"
    assert notification.attempts == 1
    assert processed_count(sessions, envelope.event_id) == 1

    [(recipients, mail)] = smtp_server.envelopes
    assert recipients == ["rac@cegeplevis.demo.quebec"]
    assert mail["To"] == "rac@cegeplevis.demo.quebec"
    assert mail["Subject"] == RESET_SUBJECT
    assert mail["Message-ID"] == stable_message_id(
        str(envelope.event_id), "rac@cegeplevis.demo.quebec", "email"
    )
    assert mail["Message-ID"] == notification.message_id
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Bonjour Sophie Bélanger" in text
    assert "/mot-de-passe/reinitialiser/jeton-de-test" in text
    assert "/mot-de-passe/reinitialiser/jeton-de-test" in html
    assert "<html" in html.lower()


def test_smtp_down_keeps_the_email_pending_then_delivers_it_once(
    service_database, smtp_port, smtp_factory
):
    sessions = service_database("notifications")
    envelope = reset_envelope()

    # Nothing listens on the SMTP port: the handler records the e-mail and schedules a retry.
    call_worker(sessions, "send_password_reset", envelope.model_dump(mode="json"))

    [notification] = notifications_of(sessions, envelope.event_id)
    assert notification.status == "pending"
    assert notification.attempts == 1
    assert notification.last_error
    next_attempt = utc(notification.next_attempt_at)
    assert next_attempt > clock.now()

    smtp = smtp_factory()
    # Not due yet: a delivery round leaves it alone.
    assert domain.deliver_due(sessions, get_settings()) == 0
    assert smtp.messages == []

    with clock.frozen_at(next_attempt + timedelta(seconds=1)):
        # The service is stopping: the round leaves the due e-mail for the next start.
        stopping = domain.deliver_due(sessions, get_settings(), stop_requested=lambda: True)
        assert stopping == 0 and smtp.messages == []
        assert domain.deliver_due(sessions, get_settings()) == 1
        assert domain.deliver_due(sessions, get_settings()) == 0

    [notification] = notifications_of(sessions, envelope.event_id)
    assert notification.status == "sent"
    assert notification.attempts == 2
    [mail] = smtp.messages
    assert mail["To"] == "rac@cegeplevis.demo.quebec"
    assert mail["Message-ID"] == notification.message_id

    # A redelivery of the event afterwards sends nothing more.
    call_worker(sessions, "send_password_reset", envelope.model_dump(mode="json"))
    assert len(smtp.messages) == 1
    assert processed_count(sessions, envelope.event_id) == 1


def test_email_fails_after_max_attempts_while_smtp_stays_down(service_database, smtp_port):
    sessions = service_database("notifications")
    envelope = reset_envelope()
    call_worker(sessions, "send_password_reset", envelope.model_dump(mode="json"))

    for _ in range(domain.MAX_ATTEMPTS - 1):
        [notification] = notifications_of(sessions, envelope.event_id)
        assert notification.status == "pending"
        with clock.frozen_at(utc(notification.next_attempt_at) + timedelta(seconds=1)):
            assert domain.deliver_due(sessions, get_settings()) == 0

    [notification] = notifications_of(sessions, envelope.event_id)
    assert notification.status == "failed"
    assert notification.attempts == domain.MAX_ATTEMPTS
    with clock.frozen_at(clock.now() + timedelta(days=1)):
        assert domain.deliver_due(sessions, get_settings()) == 0


def test_recipient_refused_by_the_server_fails_at_once(service_database, smtp_server):
    sessions = service_database("notifications")
    smtp_server.refuse("inconnu@cegeplevis.demo.quebec")
    envelope = reset_envelope(email="inconnu@cegeplevis.demo.quebec", full_name="Personne")

    call_worker(sessions, "send_password_reset", envelope.model_dump(mode="json"))

    [notification] = notifications_of(sessions, envelope.event_id)
    assert notification.status == "failed"
    assert notification.attempts == 1
    assert "550" in notification.last_error
    assert smtp_server.messages == []
    # A failed e-mail is never retried.
    with clock.frozen_at(clock.now() + timedelta(days=1)):
        assert domain.deliver_due(sessions, get_settings()) == 0
    assert smtp_server.messages == []


# -- in-app messages -----------------------------------------------------------------------


def actor(user_id: int) -> dict:
    return {
        "user_id": user_id,
        "role": Role.RAC_COORDINATOR.value,
        "organisation_id": 2,
        "organisation_kind": OrganisationKind.CEGEP.value,
        "full_name": f"Utilisateur {user_id}",
    }


def add_message(session, *, user_id: int, subject: str, minutes_ago: int, channel="inapp"):
    notification = Notification(
        event_id=f"00000000-0000-0000-0000-{user_id:06d}{minutes_ago:06d}",
        kind="test",
        channel=channel,
        recipient=f"user{user_id}@exemple.quebec",
        recipient_user_id=user_id,
        subject=subject,
        body_text=f"Corps : {subject}",
        body_html=f"<p>{subject}</p>",
        link="/demandes/1",
        message_id=f"<{user_id}-{minutes_ago}-{channel}@rac.quebec>",
        status="sent",
        attempts=0,
        created_at=clock.now() - timedelta(minutes=minutes_ago),
    )
    session.add(notification)
    session.flush()
    return notification.id


@pytest.fixture
def inbox_db(service_database):
    sessions = service_database("notifications")
    with sessions() as session, session.begin():
        ids = {
            "old": add_message(session, user_id=1, subject="Ancien message", minutes_ago=30),
            "new": add_message(session, user_id=1, subject="Nouveau message", minutes_ago=5),
            "email": add_message(
                session, user_id=1, subject="Courriel", minutes_ago=1, channel="email"
            ),
            "other": add_message(
                session, user_id=2, subject="Pour quelqu'un d'autre", minutes_ago=2
            ),
        }
    return sessions, ids


def test_inbox_lists_only_the_users_own_in_app_messages(inbox_db):
    sessions, ids = inbox_db

    inbox = call_worker(sessions, "inbox", actor(1))

    assert inbox["unread"] == 2
    assert [m["subject"] for m in inbox["messages"]] == ["Nouveau message", "Ancien message"]
    assert [m["id"] for m in inbox["messages"]] == [ids["new"], ids["old"]]
    assert inbox["messages"][0]["body"] == "Corps : Nouveau message"
    assert inbox["messages"][0]["read"] is False
    other = call_worker(sessions, "inbox", actor(2))
    assert [m["id"] for m in other["messages"]] == [ids["other"]]


def test_mark_read_marks_own_message_only(inbox_db):
    sessions, ids = inbox_db

    assert call_worker(sessions, "mark_read", actor(1), ids["new"]) == {
        "id": ids["new"],
        "read": True,
    }
    inbox = call_worker(sessions, "inbox", actor(1))
    assert inbox["unread"] == 1
    assert {m["id"]: m["read"] for m in inbox["messages"]} == {ids["new"]: True, ids["old"]: False}
    # Marking again is harmless.
    assert call_worker(sessions, "mark_read", actor(1), ids["new"])["read"] is True

    with pytest.raises(DomainError) as refused:
        call_worker(sessions, "mark_read", actor(1), ids["other"])
    assert refused.value.code == "not_found"
    with pytest.raises(DomainError) as missing:
        call_worker(sessions, "mark_read", actor(1), 999_999)
    assert missing.value.code == "not_found"

    assert call_worker(sessions, "inbox", actor(2))["unread"] == 1
    with sessions() as session:
        assert session.get(Notification, ids["other"]).read_at is None
        # One fact for the gateway's inbox read model: the first read only.
        facts = session.execute(
            text("SELECT event_type, body FROM outbox WHERE event_type = 'inbox.message_read'")
        ).all()
    assert [(f.event_type, _payload(f.body)) for f in facts] == [
        ("inbox.message_read", {"user_id": 1, "notification_id": ids["new"]})
    ]


def _payload(body) -> dict:
    return (json.loads(body) if isinstance(body, str) else body)["payload"]


def test_home_summary_counts_unread_in_app_messages(inbox_db):
    sessions, ids = inbox_db
    assert call_worker(sessions, "home_summary", actor(1)) == [
        {"label": "Lire vos nouveaux messages", "url": "/messages", "count": 2, "urgent": False}
    ]
    call_worker(sessions, "mark_read", actor(2), ids["other"])
    assert call_worker(sessions, "home_summary", actor(2)) == []


# -- credit notes, like invoices ----------------------------------------------------------------


class FakeDirectory:
    """The gateway's directory for one employer and one cégep."""

    def users_of_organisation(self, organisation_id, roles=None):
        if organisation_id != 5:
            return []
        return [
            {
                "id": 50,
                "email": "rh@cisss.demo.quebec",
                "full_name": "Julie Morin",
                "role": "employer_representative",
                "organisation_id": 5,
            }
        ]

    def get_organisation(self, organisation_id):
        names = {2: "Cégep de Lévis", 5: "CISSS de Chaudière-Appalaches"}
        return {"id": organisation_id, "name": names[organisation_id]}


def test_a_credit_note_is_e_mailed_with_its_pdf_and_put_in_the_inbox_once(
    service_database, smtp_server, container_factory, rabbit_config
):
    sessions = service_database("notifications")
    container = container_factory(NotificationsService, rabbit_config)
    restrict_entrypoints(container, "on_credit_note_issued")
    gateway, billing = replace_dependencies(container, "gateway", "billing")
    directory = FakeDirectory()
    gateway.users_of_organisation.side_effect = directory.users_of_organisation
    gateway.get_organisation.side_effect = directory.get_organisation
    pdf = b"%PDF-1.7 note de credit"
    billing.credit_note_pdf_for_delivery.return_value = {
        "filename": "note-de-credit-CLV-NC-2026-0001.pdf",
        "mime": "application/pdf",
        "content_base64": base64.b64encode(pdf).decode("ascii"),
    }
    container.start()
    payload = ev.CreditNoteIssued(
        credit_note_id=4,
        number="CLV-NC-2026-0001",
        institution_id=2,
        employer_id=5,
        plan_id=3,
        plan_reference="PMO-CLV-2026-003",
        issued_on=datetime(2026, 10, 15).date(),
        total=Decimal("1306.37"),
        reason="Abandon d'un candidat-travailleur le 14 octobre 2026",
        reason_kind="abandonment",
        applications=[
            ev.CreditNoteApplication(invoice_number="CLV-2026-0001", amount=Decimal("1306.37"))
        ],
        unapplied=Decimal("0"),
    )
    body = ev.Envelope.wrap(payload).model_dump(mode="json")
    for _ in range(2):  # redelivered: still one e-mail and one in-app message
        with entrypoint_hook(container, "on_credit_note_issued") as handle:
            handle(body)

    rows = notifications_of(sessions, body["event_id"])
    assert sorted((n.channel, n.status, n.legal) for n in rows) == [
        ("email", "sent", True),
        ("inapp", "sent", True),
    ]
    billing.credit_note_pdf_for_delivery.assert_called_once_with(credit_note_id=4)
    [(recipients, mail)] = smtp_server.envelopes
    assert recipients == ["rh@cisss.demo.quebec"]
    subject = str(mail["Subject"]).replace("\xa0", " ").replace("\u202f", " ")
    assert subject == "Note de crédit CLV-NC-2026-0001 du Cégep de Lévis — 1 306,37 $"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "note-de-credit-CLV-NC-2026-0001.pdf"
    assert attachment.get_content() == pdf
    text = ordinary_spaces(mail.get_body(preferencelist=("plain",)).get_content())
    assert "facture CLV-2026-0001 : 1 306,37 $" in text and "Le solde" not in text
    [inapp] = [n for n in rows if n.channel == "inapp"]
    assert inapp.recipient_user_id == 50 and inapp.link.endswith("/facturation/notes-de-credit/4")
