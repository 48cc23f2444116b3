"""Reliability of the event path on the real platform (processes, PostgreSQL, RabbitMQ):
a redelivered event is handled once, and the outbox keeps an event whose publisher
died until it comes back."""

from __future__ import annotations

import signal
import time

import kombu
from sqlalchemy import text

from rac_shared.outbox import event_exchange
from services.notifications.mailer import stable_message_id

# Stops and restarts one service: one process per service.
SEPARATE_SERVICES = True
EVENT_TYPE = "user.password_reset_requested"
HANDLER = "notifications.send_password_reset"
NOTIFICATIONS_QUEUE = f"evt-gateway-{EVENT_TYPE}--notifications.send_password_reset"


def mails_to(platform, address: str) -> list:
    return [mail for mail in platform.mails() if mail["To"] == address]


def wait_for_mail_to(platform, address: str, timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = mails_to(platform, address)
        if mails:
            return mails
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {address} within {timeout}s\n{platform.tail_logs()}")


def still_exactly(platform, address: str, count: int, seconds: float = 3.0) -> list:
    """Poll for ``seconds``: fails as soon as more than ``count`` e-mails reach ``address``."""
    deadline = time.monotonic() + seconds
    while True:
        mails = mails_to(platform, address)
        assert len(mails) <= count, f"{len(mails)} e-mails to {address}, expected {count}"
        if time.monotonic() > deadline:
            assert len(mails) == count, f"{len(mails)} e-mails to {address}, expected {count}"
            return mails
        time.sleep(0.2)


def reset_rows(platform, address: str) -> list:
    """The gateway's outbox rows of password resets for ``address``."""
    with platform.engine("gateway").connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, event_id, body, published_at FROM outbox "
                "WHERE event_type = :type ORDER BY id"
            ),
            {"type": EVENT_TYPE},
        ).all()
    return [row for row in rows if row.body["payload"]["email"] == address]


def test_no_dead_letters_on_a_clean_platform(platform):
    result = platform.rac("dead-letters", "list")
    assert result.stdout.strip() == "Aucun message en lettre morte."


def test_event_delivered_twice_sends_one_email(platform):
    address = "rac@cmv.demo.quebec"
    response = platform.api("POST", "/api/auth/password-reset", json={"email": address})
    assert response.status_code == 202
    [mail] = wait_for_mail_to(platform, address)

    [row] = reset_rows(platform, address)
    assert row.published_at is not None
    envelope = row.body
    assert envelope["event_id"] == row.event_id
    assert mail["Message-ID"] == stable_message_id(row.event_id, address, "email")

    # The broker redelivers the very same envelope (a relay crash after publishing and
    # before marking the row, or a consumer crash before its ack, both look like this).
    with kombu.Connection(
        platform.amqp_uri, transport_options={"confirm_publish": True}
    ) as connection:
        channel = connection.default_channel
        kombu.Producer(channel).publish(
            envelope,
            exchange=event_exchange("gateway"),
            routing_key=EVENT_TYPE,
            serializer="json",
            delivery_mode=2,
            mandatory=True,  # unroutable would raise: it does reach the notifications queue
        )
        # Wait until notifications has taken it off its queue.
        deadline = time.monotonic() + 20
        while True:
            _, ready, consumers = channel.queue_declare(queue=NOTIFICATIONS_QUEUE, passive=True)
            if ready == 0 and consumers > 0:
                break
            assert time.monotonic() < deadline, "the duplicate was never consumed"
            time.sleep(0.1)

    [again] = still_exactly(platform, address, 1, seconds=3)
    assert again["Message-ID"] == mail["Message-ID"]
    event_id = row.event_id
    assert (
        platform.scalar(
            "notifications",
            "SELECT COUNT(*) FROM processed_events WHERE event_id = :id AND handler = :handler",
            id=event_id,
            handler=HANDLER,
        )
        == 1
    )
    assert (
        platform.scalar(
            "notifications",
            "SELECT COUNT(*) FROM notifications WHERE event_id = :id",
            id=event_id,
        )
        == 1
    )
    assert platform.rac("dead-letters", "list").stdout.strip() == "Aucun message en lettre morte."


def test_outbox_keeps_the_event_while_its_relay_is_down(platform):
    address = "rac@csnavigateurs.demo.quebec"
    # The gateway service is the process that relays the gateway database's outbox; the web
    # process commits outbox rows but never publishes them. Kill it outright.
    platform.stop_process("gateway", signal.SIGKILL)
    try:
        response = platform.api("POST", "/api/auth/password-reset", json={"email": address})
        assert response.status_code == 202

        [row] = reset_rows(platform, address)
        assert row.published_at is None
        # Nobody publishes it: for several relay polling periods, no e-mail goes out.
        still_exactly(platform, address, 0, seconds=3)
        assert reset_rows(platform, address)[0].published_at is None
    finally:
        platform.start_process("gateway")

    [mail] = wait_for_mail_to(platform, address)
    assert mail["Subject"] == "Réinitialisation de votre mot de passe"
    assert mail["Message-ID"] == stable_message_id(row.event_id, address, "email")
    still_exactly(platform, address, 1, seconds=3)
    [row] = reset_rows(platform, address)
    assert row.published_at is not None
    assert (
        platform.scalar(
            "notifications",
            "SELECT COUNT(*) FROM processed_events WHERE event_id = :id",
            id=row.event_id,
        )
        == 1
    )
