"""Who may read what in the notifications area: each person their own in-app messages and
their own preferences, nobody anyone else's — another person's message is "not found", the
same as a message that does not exist. Every reading goes through ``own_messages`` or
``own_message``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rac_shared.errors import not_found
from services.notifications.models import Notification


def own_messages(user_id: int) -> tuple:
    """The conditions that keep a query to ``user_id``'s in-app messages."""
    return (Notification.recipient_user_id == user_id, Notification.channel == "inapp")


def own_message(session: Session, user_id: int, notification_id: int) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.recipient_user_id != user_id:
        raise not_found("Message introuvable.")
    return notification
