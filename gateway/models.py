"""The gateway's own database: organisations, users, sessions' safeguards and the audit log."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from rac_shared.db import new_metadata
from rac_shared.outbox import install_reliability_tables
from rac_shared.scheduler import install_job_ledger


class Base(DeclarativeBase):
    metadata = new_metadata()


install_reliability_tables(Base.metadata)
install_job_ledger(Base.metadata)


class Organisation(Base):
    """The ministry, a cégep, a school service centre, or an employer organisation."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)  # prefix of invoice numbers
    education_order: Mapped[str | None] = mapped_column(String(20))  # secondaire | collégial
    region: Mapped[str | None] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(Text)

    users: Mapped[list["User"]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout-everywhere and password change: older tokens stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation] = relationship(back_populates="users")


class CalendarFeed(Base):
    """A user's personal calendar feed. Its URL holds a token signed for (user, generation):
    nothing secret is stored; revoking deactivates it, and a new feed bumps the generation,
    so every URL given out before stops working."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """Failed logins, kept to rate-limit guessing across every gateway replica."""

    __tablename__ = "login_failures"
    # Throttling counts an address's failures across accounts (gateway/throttling.py).
    __table_args__ = (Index("ix_login_failures_ip_at", "ip", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Every state-changing request: who, when, what, and how it ended."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(120))
    status: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
