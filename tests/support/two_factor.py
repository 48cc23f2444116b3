"""Signing the ministry's demo accounts in through their second step, as their owners would.

The demo enrols them with published TOTP secrets (``gateway.demo.DEMO_TOTP_SECRETS``); the
harness computes their codes with pyotp at the platform's time (its clock file, if any).
A code's 30-second step is accepted once (RFC 6238): the harness uses the current step,
then the next one, and when a test signs the same person in faster than that, it clears
the step last used in the gateway's database rather than wait (the refusal of a replayed
code is what ``test_two_factor.py`` checks).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
from sqlalchemy import text

from gateway.demo import DEMO_TOTP_SECRETS


def platform_now(platform) -> datetime:
    from rac_shared.clock import _ClockFile

    path = platform.env.get("RAC_CLOCK_FILE")
    if path:
        return _ClockFile(path).now() or datetime.now(UTC)
    return datetime.now(UTC)


def needs_code(email: str) -> bool:
    return email in DEMO_TOTP_SECRETS


def code_for(platform, email: str) -> str:
    """A code for ``email`` the gateway will accept now (not one it already accepted)."""
    totp = pyotp.TOTP(DEMO_TOTP_SECRETS[email])
    step = totp.timecode(platform_now(platform))
    used = platform.totp_steps.get(email)
    if used is not None and used >= step + 1:  # this step and the next already used
        with platform.engine("gateway").begin() as connection:
            connection.execute(
                text("UPDATE users SET totp_last_step = NULL WHERE email = :e"), {"e": email}
            )
        used = None
    chosen = step if used is None or used < step else step + 1
    platform.totp_steps[email] = chosen
    return totp.generate_otp(chosen)
