"""Turning events into notifications, and delivering them with retries."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.events import Envelope, PasswordResetRequested
from rac_shared.settings import Settings
from rac_shared.templating import make_environment
from services.notifications.mailer import build_email, send_email, stable_message_id
from services.notifications.models import Notification

log = logging.getLogger(__name__)
templates = make_environment(Path(__file__).parent / "templates")

MAX_ATTEMPTS = 6


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min… between SMTP attempts."""
    return timedelta(seconds=30 * 2 ** max(attempts - 1, 0))


def render_email(kind: str, context: dict) -> tuple[str, str]:
    text = templates.get_template(f"email/{kind}.txt.j2").render(**context)
    html = templates.get_template(f"email/{kind}.html.j2").render(**context)
    return text, html


def record_notification(
    session: Session,
    *,
    envelope: Envelope,
    kind: str,
    channel: str,
    recipient: str,
    recipient_user_id: int | None,
    subject: str,
    context: dict,
    link: str | None = None,
) -> Notification | None:
    """Record one message before sending it; None if this (event, recipient, channel) exists."""
    text, html = render_email(kind, {**context, "subject": subject})
    notification = Notification(
        event_id=str(envelope.event_id),
        kind=kind,
        channel=channel,
        recipient=recipient,
        recipient_user_id=recipient_user_id,
        subject=subject,
        body_text=text,
        body_html=html,
        link=link,
        message_id=stable_message_id(str(envelope.event_id), recipient, channel),
        status="pending" if channel == "email" else "sent",
        attempts=0,
        created_at=clock.now(),
        next_attempt_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:
        return None
    return notification


def notify_password_reset(
    session: Session, envelope: Envelope, payload: PasswordResetRequested
) -> Notification | None:
    return record_notification(
        session,
        envelope=envelope,
        kind="password_reset",
        channel="email",
        recipient=payload.email,
        recipient_user_id=payload.user_id,
        subject="Réinitialisation de votre mot de passe",
        context={
            "full_name": payload.full_name,
            "reset_url": payload.reset_url,
            "expires_at": payload.expires_at,
            "why": "Vous recevez ce message parce qu'une réinitialisation du mot de passe de "
            "votre compte sur la plateforme RAC a été demandée.",
        },
    )


def claim_due_emails(session: Session, limit: int = 50) -> list[Notification]:
    """Pending e-mails whose next attempt is due, locked so two replicas never share one."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.channel == "email", Notification.status == "pending")
            .where(
                or_(
                    Notification.next_attempt_at.is_(None),
                    Notification.next_attempt_at <= clock.now(),
                )
            )
            .order_by(Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def deliver(session: Session, notification: Notification, settings: Settings) -> bool:
    """Send one e-mail; on failure schedule a retry, or mark it failed after MAX_ATTEMPTS."""
    message = build_email(
        settings,
        recipient=notification.recipient,
        subject=notification.subject,
        text=notification.body_text,
        html=notification.body_html,
        message_id=notification.message_id,
    )
    notification.attempts += 1
    try:
        send_email(settings, message)
    except Exception as exc:  # SMTP down or recipient refused
        notification.last_error = str(exc)[:2000]
        if notification.attempts >= MAX_ATTEMPTS or _is_permanent(exc):
            notification.status = "failed"
        else:
            notification.next_attempt_at = clock.now() + retry_delay(notification.attempts)
        log.warning(
            "e-mail %s not sent (attempt %s): %s", notification.id, notification.attempts, exc
        )
        return False
    notification.status = "sent"
    notification.sent_at = clock.now()
    return True


def _is_permanent(exc: Exception) -> bool:
    import smtplib

    return isinstance(exc, smtplib.SMTPRecipientsRefused)


_delivery_round = threading.Lock()


def deliver_due(session_factory, settings: Settings) -> int:
    """One delivery round: claim, send, commit each e-mail in its own transaction.

    Replicas are kept apart by the row locks of ``claim_due_emails``; within one process
    the handler and the retry timer are kept apart by a lock, since SQLite (the embedded
    default) has no row locks.
    """
    with _delivery_round:
        return _deliver_due(session_factory, settings)


def _deliver_due(session_factory, settings: Settings) -> int:
    sent = 0
    while True:
        session = session_factory()
        try:
            batch = claim_due_emails(session, limit=1)
            if not batch:
                session.rollback()
                return sent
            sent += deliver(session, batch[0], settings)
            session.commit()
        finally:
            session.close()


def inbox(session: Session, user_id: int, limit: int = 50) -> dict:
    rows = session.scalars(
        select(Notification)
        .where(Notification.recipient_user_id == user_id, Notification.channel == "inapp")
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()
    return {
        "unread": sum(1 for n in rows if n.read_at is None),
        "messages": [
            {
                "id": n.id,
                "subject": n.subject,
                "body": n.body_text,
                "link": n.link,
                "created_at": n.created_at.isoformat(),
                "read": n.read_at is not None,
            }
            for n in rows
        ],
    }


def mark_read(session: Session, user_id: int, notification_id: int) -> dict:
    from rac_shared.errors import not_found

    notification = session.get(Notification, notification_id)
    if notification is None or notification.recipient_user_id != user_id:
        raise not_found("Message introuvable.")
    if notification.read_at is None:
        notification.read_at = clock.now()
    return {"id": notification.id, "read": True}
