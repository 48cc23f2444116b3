"""Turning events into notifications, and delivering them with retries."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.events import (
    Envelope,
    InboxMessageAdded,
    InboxMessageRead,
    UserPasswordResetRequested,
)
from rac_shared.outbox import record_event
from rac_shared.settings import Settings
from rac_shared.templating import make_environment
from services.notifications.access import own_message, own_messages
from services.notifications.catalogue import Message
from services.notifications.mailer import build_email, send_email, stable_message_id
from services.notifications.models import Notification, Preference

log = logging.getLogger(__name__)
templates = make_environment(Path(__file__).parent / "templates")

MAX_ATTEMPTS = 6

# Given a notification's attachment spec, returns (filename, content, MIME type).
AttachmentFetcher = Callable[[dict], tuple[str, bytes, str]]


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
    legal: bool = False,
    attachment: dict | list[dict] | None = None,
    reply_to: str | None = None,
    list_unsubscribe: str | None = None,
) -> Notification | None:
    """Record one message before sending it; None if this (event, recipient, channel) exists."""
    text, html = render_email(kind, {**context, "subject": subject, "link": link})
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
        legal=legal,
        attachment=attachment if channel == "email" else None,
        reply_to=reply_to if channel == "email" else None,
        list_unsubscribe=list_unsubscribe if channel == "email" and not legal else None,
    )
    try:
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:
        return None
    return notification


def notify_password_reset(
    session: Session, envelope: Envelope, payload: UserPasswordResetRequested
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


def deliver(
    session: Session,
    notification: Notification,
    settings: Settings,
    fetch_attachment: AttachmentFetcher | None = None,
) -> bool:
    """Send one e-mail; on failure schedule a retry, or mark it failed after MAX_ATTEMPTS.

    A PDF attachment is fetched by RPC from the service that owns it at sending time, so a
    document that is not ready yet (or a service that is down) is simply retried later.
    """
    notification.attempts += 1
    try:
        attachments = []
        if notification.attachment:
            if fetch_attachment is None:
                raise RuntimeError("no attachment fetcher in this process")
            specs = notification.attachment
            for spec in specs if isinstance(specs, list) else [specs]:
                attachments.append(fetch_attachment(spec))
        message = build_email(
            settings,
            recipient=notification.recipient,
            subject=notification.subject,
            text=notification.body_text,
            html=notification.body_html,
            message_id=notification.message_id,
            attachments=attachments,
            reply_to=notification.reply_to,
            list_unsubscribe=notification.list_unsubscribe,
        )
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


def deliver_due(
    session_factory,
    settings: Settings,
    fetch_attachment: AttachmentFetcher | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> int:
    """One delivery round: claim, send, commit each e-mail in its own transaction.

    Replicas are kept apart by the row locks of ``claim_due_emails``; within one process
    the handler and the retry timer are kept apart by a lock, since SQLite (the embedded
    default) has no row locks. The round ends early when ``stop_requested()``: what is left
    stays pending for the next round (the service stops in the time of one e-mail).
    """
    with _delivery_round:
        return _deliver_due(session_factory, settings, fetch_attachment, stop_requested)


def _deliver_due(
    session_factory,
    settings: Settings,
    fetch_attachment: AttachmentFetcher | None,
    stop_requested: Callable[[], bool],
) -> int:
    sent = 0
    while not stop_requested():
        session = session_factory()
        try:
            batch = claim_due_emails(session, limit=1)
            if not batch:
                session.rollback()
                return sent
            sent += deliver(session, batch[0], settings, fetch_attachment)
            session.commit()
        finally:
            session.close()
    return sent


def inbox(session: Session, user_id: int, limit: int = 50) -> dict:
    rows = session.scalars(
        select(Notification)
        .where(*own_messages(user_id))
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
    notification = own_message(session, user_id, notification_id)
    if notification.read_at is None:
        notification.read_at = clock.now()
        record_event(session, InboxMessageRead(user_id=user_id, notification_id=notification.id))
    return {"id": notification.id, "read": True}


def wants_email(session: Session, user_id: int | None, legal: bool) -> bool:
    """Legal notices always go out; optional reminders follow the user's preference."""
    if legal or user_id is None:
        return True
    preference = session.get(Preference, user_id)
    return preference is None or preference.optional_reminders


def record_message(session: Session, envelope: Envelope, message: Message) -> list[Notification]:
    """Record, for every recipient, the e-mail and (for platform users) the in-app message."""
    recorded = []
    for recipient in message.recipients:
        context = {**message.context, "full_name": recipient.full_name, "why": message.why}
        channels = ["inapp"] if recipient.user_id is not None else []
        if wants_email(session, recipient.user_id, message.legal):
            channels.insert(0, "email")
        for channel in channels:
            notification = record_notification(
                session,
                envelope=envelope,
                kind=message.kind,
                channel=channel,
                recipient=recipient.email,
                recipient_user_id=recipient.user_id,
                subject=message.subject,
                context=context,
                link=message.link,
                legal=message.legal,
                attachment=message.attachment,
                reply_to=", ".join(recipient.reply_to) or None,
                list_unsubscribe=recipient.unsubscribe_url,
            )
            if notification is not None:
                recorded.append(notification)
                if channel == "inapp":
                    record_event(
                        session,
                        InboxMessageAdded(
                            user_id=recipient.user_id, notification_id=notification.id
                        ),
                    )
    return recorded


def get_preferences(session: Session, user_id: int) -> dict:
    preference = session.get(Preference, user_id)
    return {"optional_reminders": preference is None or preference.optional_reminders}


def set_preferences(session: Session, user_id: int, optional_reminders: bool) -> dict:
    preference = session.get(Preference, user_id)
    if preference is None:
        preference = Preference(user_id=user_id)
        session.add(preference)
    preference.optional_reminders = optional_reminders
    preference.updated_at = clock.now()
    return {"optional_reminders": optional_reminders}


def failed_emails(session: Session, limit: int = 200) -> list[dict]:
    rows = session.scalars(
        select(Notification)
        .where(Notification.status == "failed")
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "recipient": n.recipient,
            "subject": n.subject,
            "attempts": n.attempts,
            "error": n.last_error,
            "created_at": n.created_at,
        }
        for n in rows
    ]


def retry_failed_emails(session: Session, ids: list[int] | None = None) -> int:
    """Operators' replay: failed e-mails go back to pending, due now."""
    query = select(Notification).where(Notification.status == "failed")
    if ids:
        query = query.where(Notification.id.in_(ids))
    count = 0
    for notification in session.scalars(query):
        notification.status = "pending"
        notification.attempts = 0
        notification.next_attempt_at = clock.now()
        count += 1
    return count
