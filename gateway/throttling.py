"""Login and password-reset throttling, on OWASP ASVS's model (V2.2.1), shared by every
gateway process through the gateway's database.

- **Per account and source address**: the first ``login_max_failures`` wrong passwords
  within ``login_window_minutes`` cost nothing; each one after makes that address wait
  before its next try for that account, twice as long each time (``login_backoff_seconds``,
  then double, up to the window). A stranger guessing someone's password slows down only
  their own address: the owner, from theirs, signs in as usual. There is no lock.
- **Per source address, across accounts**: ``login_max_failures_per_address`` wrong
  passwords within the window (password spraying: a few guesses on many accounts) refuse
  every login from that address until the oldest of them leaves the window.
- **Password-reset e-mails**: at most ``password_reset_per_hour`` per account per hour; the
  answer stays the same (no account enumeration), no e-mail goes out beyond.

The source address is the connection's, or the one a configured trusted proxy wrote in its
header (``Settings.trusted_proxy_header``): never a header a client could write itself.
Attempts on one account are serialised (a PostgreSQL advisory lock), so that a burst of
concurrent guesses cannot all pass a count taken before any of them failed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gateway.models import LoginFailure, PasswordResetToken
from rac_shared.clock import aware, clock
from rac_shared.errors import DomainError
from rac_shared.settings import Settings


class TooManyAttempts(DomainError):
    """429, with the seconds to wait (the API's ``Retry-After``)."""

    code = "too_many_requests"

    def __init__(self, message: str, wait: timedelta):
        super().__init__(message)
        self.retry_after = _seconds(wait)


def source_address(settings: Settings, remote_addr: str | None, headers) -> str:
    """The client's address: the connection's, unless it comes from a trusted proxy and
    the configured header is present (its last value: the one that proxy appended)."""
    remote = remote_addr or ""
    header = settings.trusted_proxy_header
    if header and remote in settings.trusted_proxy_addresses():
        value = headers.get(header, "")
        last = value.split(",")[-1].strip()
        if last:
            return last[:64]
    return remote[:64]


def serialise_attempts(session: Session, email: str) -> None:
    """Hold the account's attempts one at a time until the transaction ends (PostgreSQL;
    the embedded SQLite database serialises its writers already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"login:{email}"})


def check_login_allowed(session: Session, settings: Settings, email: str, ip: str) -> None:
    """Refuse (429, in French, with the wait) while the address must wait."""
    now = clock.now()
    since = now - timedelta(minutes=settings.login_window_minutes)
    from_address = session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.ip == ip, LoginFailure.at >= since
        )
    ).one()
    if from_address[0] >= settings.login_max_failures_per_address:
        wait = aware(from_address[1]) + timedelta(minutes=settings.login_window_minutes) - now
        raise TooManyAttempts(
            "Trop de tentatives de connexion infructueuses depuis votre adresse réseau. "
            f"Réessayez dans {_duration(wait)}.",
            wait,
        )
    count, last = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.email == email, LoginFailure.ip == ip, LoginFailure.at >= since
        )
    ).one()
    extra = count - settings.login_max_failures
    if extra < 0:
        return
    backoff = min(settings.login_backoff_seconds * 2**extra, settings.login_window_minutes * 60)
    wait = aware(last) + timedelta(seconds=backoff) - now
    if wait > timedelta(0):
        raise TooManyAttempts(
            "Trop de tentatives de connexion infructueuses. Réessayez dans "
            f"{_duration(wait)} ou réinitialisez votre mot de passe.",
            wait,
        )


def record_failure(session: Session, email: str, ip: str) -> None:
    session.add(LoginFailure(email=email, ip=ip, at=clock.now()))


def forget_failures(session: Session, email: str, ip: str) -> None:
    """After a success: that address's failures for that account only (a stranger's
    failures elsewhere keep slowing the stranger down)."""
    session.execute(
        LoginFailure.__table__.delete().where(LoginFailure.email == email, LoginFailure.ip == ip)
    )


def reset_mail_allowed(session: Session, settings: Settings, user_id: int, lifetime) -> bool:
    """Whether another reset e-mail may go to this account this hour (tokens are kept until
    they expire, ``lifetime`` after they were asked for)."""
    asked_since = clock.now() - timedelta(hours=1) + lifetime
    recent = session.scalar(
        select(func.count())
        .select_from(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.expires_at > asked_since)
    )
    return recent < settings.password_reset_per_hour


def _seconds(wait: timedelta) -> int:
    return max(1, int(wait.total_seconds() + 0.999))


def _duration(wait: timedelta) -> str:
    """« 1 minute », « 4 minutes », « 30 secondes »: rounded up, as people read a wait."""
    seconds = _seconds(wait)
    if seconds < 60:
        return f"{seconds} seconde{'s' if seconds > 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"
