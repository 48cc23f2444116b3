"""Composing and sending e-mails over SMTP."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime

from rac_shared.clock import clock
from rac_shared.settings import Settings


def stable_message_id(event_id: str, recipient: str, channel: str = "email") -> str:
    """Same event and recipient → same Message-ID, so a rare resend is recognisable."""
    digest = hashlib.sha256(f"{event_id}:{recipient}:{channel}".encode()).hexdigest()[:32]
    return f"<{digest}@rac.quebec>"


def build_email(
    settings: Settings,
    *,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    attachments: list[tuple[str, bytes, str]] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    # One line whatever the organisation or plan names in it: a line break in a header
    # would be refused by the e-mail library (and is how headers get injected).
    message["Subject"] = " ".join(subject.split())
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(clock.now())
    message["Content-Language"] = "fr-CA"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    for filename, content, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send_email(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)
