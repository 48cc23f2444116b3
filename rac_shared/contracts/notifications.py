"""The notifications service's contract: the in-app inbox and the notification preferences
(e-mails themselves are sent from events, never asked for by RPC)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import Field

from rac_shared.contracts import HealthReport, NextAction
from rac_shared.contracts.base import Reply, Strict

INBOX_SIZE = 50


class InAppMessage(Reply):
    id: int
    subject: str
    body: str
    link: str | None
    created_at: datetime
    read: bool


class Inbox(Reply):
    unread: int
    messages: list[InAppMessage]


class MarkedRead(Reply):
    id: int
    read: bool


class Preferences(Strict):
    """Optional reminders by e-mail; legal notices always go out."""

    optional_reminders: bool = Field(False, title="Recevoir par courriel les rappels facultatifs")


class NotificationsRpc(Protocol):
    def health(self) -> HealthReport: ...
    def home_summary(self) -> list[NextAction]: ...

    def inbox(self, limit: int = INBOX_SIZE) -> Inbox:
        """Mes messages"""

    def mark_read(self, notification_id: int) -> MarkedRead:
        """Marquer un message comme lu"""

    def get_preferences(self) -> Preferences:
        """Mes préférences de notification"""

    def set_preferences(self, data: Preferences) -> Preferences:
        """Activer ou désactiver les rappels facultatifs (jamais les avis légaux)"""
