"""Tables of the notifications service."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rac_shared.db import new_metadata
from rac_shared.outbox import install_reliability_tables
from rac_shared.scheduler import install_job_ledger


class Base(DeclarativeBase):
    metadata = new_metadata()


install_reliability_tables(Base.metadata)
install_job_ledger(Base.metadata)


class Notification(Base):
    """One message to one recipient on one channel, recorded before it is sent.

    The unique key (event, recipient, channel) is what makes a redelivered event send
    nothing new.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel", name="uq_notifications_delivery"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(10))  # email | inapp
    recipient: Mapped[str] = mapped_column(String(254))  # e-mail address
    recipient_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A document fetched by RPC when the e-mail is sent (invoice or plan PDF), e.g.
    # {"service": "billing", "method": "invoice_pdf_for_delivery", "kwargs": {...}}.
    attachment: Mapped[dict | list | None] = mapped_column(JSON)  # one spec or a list
    # Rows written before the flag existed are not legal notices (the migration's default).
    legal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Who a reply reaches ("Name <address>, …"), the person handling the matter; and, for an
    # optional e-mail, the one-click unsubscribe link (List-Unsubscribe, RFC 8058).
    reply_to: Mapped[str | None] = mapped_column(String(1000))
    list_unsubscribe: Mapped[str | None] = mapped_column(String(500))


class Preference(Base):
    """A user's choices: optional reminders may be turned off, legal notices never."""

    __tablename__ = "preferences"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    optional_reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
