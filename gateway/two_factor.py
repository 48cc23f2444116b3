"""Two-factor sign-in: TOTP codes (RFC 6238, ``pyotp``) and one-time recovery codes.

Mandatory for the ministry's roles (administrator, analyst, evaluator), optional for the
others. Codes are checked against the platform's clock (a demo or a test running "as of"
another date keeps working), one step of 30 s either side for the phone's clock drift, and
a step once accepted is never accepted again (RFC 6238, section 5.2). Wrong codes are
counted per user across every replica and refused past the login limit. Recovery codes are
shown once and kept as argon2 hashes, like passwords. No HTTP in here.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gateway import auth
from gateway.directory import revoke_sessions, second_factor_in_force, second_factor_required
from gateway.models import RecoveryCode, SecondFactorFailure, User
from gateway.throttling import TooManyAttempts
from rac_shared.clock import aware, clock
from rac_shared.errors import DomainError, invalid
from rac_shared.settings import Settings

ISSUER = "Plateforme RAC"
VALID_WINDOW = 1  # steps accepted either side of the current one (clock drift)
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread

WRONG_CODE = (
    "Ce code n'est pas valide. Entrez le code à six chiffres que montre votre application, "
    "ou un code de récupération."
)


def enrolled(user: User) -> bool:
    return user.totp_enabled_at is not None


def in_force(user: User) -> bool:
    """Whether this user's sign-in has a second step."""
    return second_factor_in_force(user.role, user.totp_enabled_at)


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """The QR code as inline SVG (no image request, no inline style: the CSP stays 'self')."""
    return segno.make(uri, error="m").svg_inline(
        scale=4, title="Code QR à lire avec votre application d'authentification"
    )


def current_code(secret: str) -> str:
    """The code an authenticator app shows now, by the platform's clock."""
    return pyotp.TOTP(secret).at(clock.now())


def _accepted_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The 30-second step ``code`` belongs to, if it is one of the window and not used yet."""
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(clock.now())
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalised(code: str) -> str:
    return "".join(code.split()).lower()


# -- enrolment --------------------------------------------------------------------------


def start_enrolment(user: User) -> str:
    """The secret being enrolled: a new one, or the one shown at the previous attempt."""
    if enrolled(user):
        raise DomainError("La double authentification est déjà activée.", code="conflict")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def confirm_enrolment(session: Session, settings: Settings, user: User, code: str) -> list[str]:
    """Turn the second factor on once the app shows the right code; the recovery codes."""
    secret = start_enrolment(user)
    _check_not_throttled(session, settings, user)
    step = _accepted_step(secret, _normalised(code), None)
    if step is None:
        _fail(session, user)
        raise invalid(WRONG_CODE, {"code": WRONG_CODE})
    user.totp_enabled_at = clock.now()
    user.totp_last_step = step
    _forget_failures(session, user)
    return new_recovery_codes(session, user)


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Ten fresh recovery codes (the old ones stop working), returned once, stored hashed."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "-".join("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4)) for _ in range(2))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=code_hash)
        for code_hash in auth.hash_passwords(codes)
    )
    return codes


def unused_recovery_codes(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


# -- the second step --------------------------------------------------------------------


def verify(session: Session, settings: Settings, user: User, code: str) -> str:
    """Check a TOTP code or a recovery code; returns which ("totp" or "recovery").

    Refused (and counted) when wrong; refused outright after too many recent failures.
    """
    if not enrolled(user):
        raise DomainError("La double authentification n'est pas activée.", code="conflict")
    _check_not_throttled(session, settings, user)
    entered = _normalised(code)
    if entered.isdigit():
        step = _accepted_step(user.totp_secret, entered, user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            _forget_failures(session, user)
            return "totp"
    else:
        unused = session.scalars(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
        matched = auth.matching_hash([recovery.code_hash for recovery in unused], entered)
        for recovery in unused:
            if recovery.code_hash == matched:
                recovery.used_at = clock.now()
                _forget_failures(session, user)
                return "recovery"
    _fail(session, user)
    raise invalid(WRONG_CODE, {"code": WRONG_CODE})


def _check_not_throttled(session: Session, settings: Settings, user: User) -> None:
    window = timedelta(minutes=settings.login_window_minutes)
    failures, oldest = session.execute(
        select(func.count(), func.min(SecondFactorFailure.at)).where(
            SecondFactorFailure.user_id == user.id,
            SecondFactorFailure.at >= clock.now() - window,
        )
    ).one()
    if failures >= settings.login_max_failures:
        raise TooManyAttempts(
            "Trop de codes erronés. Réessayez dans "
            f"{settings.login_window_minutes} minutes, ou demandez à l'administration du "
            "Ministère de réinitialiser votre double authentification.",
            aware(oldest) + window - clock.now(),
        )


def _fail(session: Session, user: User) -> None:
    session.add(SecondFactorFailure(user_id=user.id, at=clock.now()))


def _forget_failures(session: Session, user: User) -> None:
    session.execute(delete(SecondFactorFailure).where(SecondFactorFailure.user_id == user.id))


# -- turning it off ---------------------------------------------------------------------


def disable(session: Session, settings: Settings, user: User, code: str) -> None:
    """A user for whom it is optional turns it off, proving it with a current code."""
    if second_factor_required(user.role):
        raise DomainError(
            "La double authentification est obligatoire pour votre rôle.", code="forbidden"
        )
    verify(session, settings, user, code)
    _clear(session, user)


def reset(session: Session, user: User) -> None:
    """The ministry's administrator resets a user who lost their phone and their codes:
    every session of the user ends, and the next sign-in enrols a new app."""
    _clear(session, user)
    revoke_sessions(user)


def _clear(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    _forget_failures(session, user)
