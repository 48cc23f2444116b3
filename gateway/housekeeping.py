"""Housekeeping of the gateway's credentials tables."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from gateway.models import Base, LoginFailure, PasswordResetToken
from rac_shared.db import SessionFactory

LOGIN_FAILURE_RETENTION = timedelta(days=30)


def purge_expired_credentials(now: datetime) -> dict:
    """Deleting what is already expired is naturally idempotent and replica-safe."""
    session = SessionFactory("gateway", Base.metadata)()
    try:
        tokens = session.execute(
            delete(PasswordResetToken).where(PasswordResetToken.expires_at < now)
        ).rowcount
        failures = session.execute(
            delete(LoginFailure).where(LoginFailure.at < now - LOGIN_FAILURE_RETENTION)
        ).rowcount
        session.commit()
        return {"reset_tokens_deleted": tokens, "login_failures_deleted": failures}
    finally:
        session.close()
