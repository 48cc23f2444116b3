"""Events published by the notifications service (the in-app inbox)."""

from __future__ import annotations

from typing import ClassVar

from rac_shared.events.base import EventPayload


class InboxMessageAdded(EventPayload):
    """A user received an in-app message (the gateway's inbox read model drops its copy)."""

    source: ClassVar[str] = "notifications"
    event_type: ClassVar[str] = "inbox.message_added"

    user_id: int
    notification_id: int


class InboxMessageRead(EventPayload):
    """A user read an in-app message."""

    source: ClassVar[str] = "notifications"
    event_type: ClassVar[str] = "inbox.message_read"

    user_id: int
    notification_id: int
