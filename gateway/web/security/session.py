"""Where a passed password step leads: a session, or the second step first.

Shared by the login form and the API's token operation, so both enforce the same rule: a
user for whom the second factor is in force (mandatory for the ministry's roles, chosen by
the others) gets no session until a code is checked, only a short proof of the password
step (``stage``) that nothing but the second step accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from werkzeug.wrappers import Response

from gateway import auth, directory, two_factor
from gateway.models import User
from gateway.web.framework import SESSION_COOKIE, Ctx
from rac_shared.errors import DomainError

SECOND_STEP_COOKIE = "rac_second_step"
VERIFY = "otp"  # the user has an app: enter its code
ENROL = "enrol"  # the second factor is mandatory and no app is set up yet: enrol first
STEP_PAGES = {VERIFY: "/connexion/verification", ENROL: "/connexion/activation"}


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect a user to another site after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    # Browsers drop tabs and newlines from URLs ("/\t/evil.example" is "//evil.example"),
    # and a newline cannot go in a Location header at all.
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    return target


@contextmanager
def password_checked(ctx: Ctx, email: str, password: str) -> Iterator[User]:
    """The password step of a sign-in (page or API): the user, with ``ctx.actor`` set for the
    audit log. Committed at the end of the block, and also when the password is refused (the
    failure counts towards throttling); not when the block itself raises."""
    with ctx.db() as session:
        try:
            user = directory.authenticate(session, ctx.settings, email, password, ctx.client_ip())
        except DomainError:
            session.commit()
            raise
        ctx.actor = directory.actor_for(user)
        yield user
        session.commit()


def pending_stage(user: User) -> str | None:
    """What stands between this user's password and a session (None: nothing)."""
    if not two_factor.in_force(user):
        return None
    return VERIFY if two_factor.enrolled(user) else ENROL


def start_page_session(ctx: Ctx, user: User, suite: str) -> Response:
    """After the password: the session cookie, or the second step's page."""
    stage = pending_stage(user)
    if stage is None:
        set_session_cookie(ctx, user, second_factor=False)
        return ctx.redirect(suite)
    token, _ = auth.issue_token(ctx.settings, user.id, user.session_version, stage=stage)
    ctx.set_cookies.append((SECOND_STEP_COOKIE, token, {"max_age": auth.SECOND_STEP_MINUTES * 60}))
    return ctx.redirect(f"{STEP_PAGES[stage]}?suite={quote(suite, safe='/')}")


def set_session_cookie(ctx: Ctx, user: User, second_factor: bool) -> None:
    """A fresh token (new jti) at every sign-in: no session fixation."""
    token, _ = auth.issue_token(
        ctx.settings, user.id, user.session_version, second_factor=second_factor
    )
    ctx.set_cookies.append((SESSION_COOKIE, token, {"max_age": ctx.settings.session_minutes * 60}))
    if ctx.request.cookies.get(SECOND_STEP_COOKIE):
        ctx.delete_cookies.append(SECOND_STEP_COOKIE)


def pending_user(ctx: Ctx, session, token: str | None, stage: str) -> User | None:
    """The user whose password step ``token`` proves, if it is still good for ``stage``."""
    if not token:
        return None
    try:
        claims = auth.decode_token(ctx.settings, token)
    except auth.InvalidToken:
        return None
    if claims.stage != stage:
        return None
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.session_version != claims.session_version:
        return None
    return user


def check_second_step(ctx: Ctx, session, token: str | None, code: str) -> User | None:
    """The user whose pending sign-in ``token`` proves, once ``code`` is right (None: no
    such sign-in). Committed either way: the failure's count, or the step now used."""
    user = pending_user(ctx, session, token, VERIFY)
    if user is None:
        return None
    ctx.actor = directory.actor_for(user)  # the audit records whose code this was
    try:
        two_factor.verify(session, ctx.settings, user, code)
    finally:
        session.commit()
    return user
