"""Helpers shared by the service tests: events, publishing, polling, an SMTP server."""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial

import kombu
from aiosmtpd.controller import Controller

from rac_shared.clock import clock
from rac_shared.events import Envelope, UserPasswordResetRequested
from rac_shared.outbox import event_exchange
from tests.support import polling


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Service tests poll in-process state: shorter defaults than over a whole platform.
wait_until = partial(polling.wait_until, timeout=15.0, interval=0.05)


def reset_envelope(
    email: str = "rac@cegeplevis.demo.quebec",
    full_name: str = "Sophie Bélanger",
    user_id: int = 6,
) -> Envelope:
    return Envelope.wrap(
        UserPasswordResetRequested(
            user_id=user_id,
            email=email,
            full_name=full_name,
            reset_url="http://127.0.0.1:8000/mot-de-passe/reinitialiser/jeton-de-test",
            expires_at=clock.now() + timedelta(hours=1),
        ),
        correlation_id="test-correlation",
    )


def publish_envelope(amqp_uri: str, envelope: Envelope) -> None:
    """Publish as the outbox relay does: exchange ``<source>.events``, key = event type."""
    with kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = kombu.Producer(connection.default_channel)
        producer.publish(
            envelope.model_dump(mode="json"),
            exchange=event_exchange(envelope.source),
            routing_key=envelope.event_type,
            serializer="json",
            delivery_mode=2,
            declare=[event_exchange(envelope.source)],
        )


class CollectingHandler:
    """aiosmtpd handler: keeps every message; refuses the recipients in ``refused``."""

    def __init__(self):
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 Destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on a local port (aiosmtpd runs its asyncio loop in a thread,
    which works under eventlet's monkey patch)."""

    def __init__(self, port: int):
        self.port = port
        self.handler = CollectingHandler()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, message in self.handler.messages]

    @property
    def envelopes(self) -> list[tuple[list[str], EmailMessage]]:
        return list(self.handler.messages)

    def refuse(self, address: str) -> None:
        self.handler.refused.add(address.lower())

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
