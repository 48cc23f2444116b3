"""Events published by the gateway (identity)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rac_shared.events.base import EventPayload


class UserPasswordResetRequested(EventPayload):
    """A user asked for a password reset: notifications e-mails the link."""

    source: ClassVar[str] = "gateway"
    event_type: ClassVar[str] = "user.password_reset_requested"

    user_id: int
    email: str
    full_name: str
    reset_url: str
    expires_at: datetime
