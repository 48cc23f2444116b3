"""The one place that knows about JWTs (python-jose) and password hashes (argon2), and
that signs the tokens of CSRF and of one-click unsubscribe links.

Tokens are HS256, signed with the active key (``kid`` in the header, older keys kept for
rotation), and always decoded with an explicit algorithm list, audience, issuer and a
required ``exp``. ``sv`` (session version) lets a logout or password change revoke every
older token of the user. ``amr`` says how the user proved who they are (``pwd``, and
``otp`` once the second factor was checked); a token with ``stg`` is not a session at all
but the short-lived proof that the password step passed, good only for the second step.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from jose import JWTError, jwt

from rac_shared.clock import clock
from rac_shared.settings import Settings

ALGORITHMS = ["HS256"]
REQUIRED_CLAIMS = ("sub", "jti", "aud", "iss")
TIME_CLAIMS = ("exp", "iat", "nbf")
# Time claims are checked against the platform's clock below, not python-jose's wall clock,
# so that a demo or a test running "as of" another date still accepts its own tokens.
# (python-jose turns ``require_<claim>`` into ``verify_<claim>``, hence no require_ for them.)
DECODE_OPTIONS = {f"require_{claim}": True for claim in REQUIRED_CLAIMS} | {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "leeway": 0,
}

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user does not exist: the same work either way. Made on first use,
    not at import (every gateway process imports this module)."""
    return _hasher.hash("une valeur sans importance")


def _off_the_hub(function, *args):
    """Run a CPU-bound argon2 call in a real thread under eventlet (the C code releases the
    GIL): tens of milliseconds per hash, ten for a set of recovery codes, during which the
    process's other requests would otherwise wait. Called directly elsewhere."""
    from eventlet import patcher

    if patcher.is_monkey_patched("thread"):
        from eventlet import tpool

        return tpool.execute(function, *args)
    return function(*args)


class InvalidToken(Exception):
    """The token is missing, forged, expired or otherwise unacceptable."""


# How long the proof of a passed password step lasts before the second step must be done.
SECOND_STEP_MINUTES = 10


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    session_version: int
    token_id: str
    second_factor: bool = False  # ``otp`` in ``amr``: the second factor was checked
    stage: str | None = None  # a pending sign-in ("otp", "enrol"): never a session


def hash_password(password: str) -> str:
    return _off_the_hub(_hasher.hash, password)


def hash_passwords(passwords: list[str]) -> list[str]:
    """Several at once (recovery codes): one trip off the hub."""
    return _off_the_hub(lambda: [_hasher.hash(p) for p in passwords])


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists (no account enumeration by timing)."""
    return _off_the_hub(_verify, password_hash, password)


def matching_hash(password_hashes: list[str], password: str) -> str | None:
    """The first of ``password_hashes`` that ``password`` matches (a recovery code among
    the unused ones), checked off the hub in one trip."""
    return _off_the_hub(lambda: next((h for h in password_hashes if _verify(h, password)), None))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def issue_token(
    settings: Settings,
    user_id: int,
    session_version: int,
    *,
    second_factor: bool = False,
    stage: str | None = None,
) -> tuple[str, str]:
    """A session token, or with ``stage`` the short proof that the password step passed."""
    now = clock.now()
    token_id = uuid.uuid4().hex
    minutes = SECOND_STEP_MINUTES if stage else settings.session_minutes
    claims = {
        "sub": str(user_id),
        "sv": session_version,
        "jti": token_id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "amr": ["pwd", "otp"] if second_factor else ["pwd"],
    }
    if stage:
        claims["stg"] = stage
    token = jwt.encode(
        claims, settings.jwt_secret, algorithm="HS256", headers={"kid": settings.jwt_key_id}
    )
    return token, token_id


VERIFIED_TOKENS_MAX = 10_000
_verified_tokens: dict[tuple, tuple[TokenClaims, float, float]] = {}


def decode_token(settings: Settings, token: str) -> TokenClaims:
    """Verify a token, remembering the verdict for that exact string.

    A token is sent with every request; checking its signature and claims again each time
    was the gateway's largest cost after the session check. Only the time window depends
    on when it is asked, so that part is checked again on every call.
    """
    # Keyed by what the verdict depends on: the token and the keys, issuer and audience.
    key = (
        token,
        settings.jwt_issuer,
        settings.jwt_audience,
        frozenset(settings.jwt_keys().items()),
    )
    verified = _verified_tokens.get(key)
    if verified is None:
        claims, exp, nbf = _verify_token(settings, token)
        if len(_verified_tokens) >= VERIFIED_TOKENS_MAX:
            _verified_tokens.clear()
        _verified_tokens[key] = verified = (claims, exp, nbf)
    claims, exp, nbf = verified
    now = clock.now().timestamp()
    if exp <= now or nbf > now + 5:
        raise InvalidToken("token expired or not yet valid")
    return claims


def _verify_token(settings: Settings, token: str) -> tuple[TokenClaims, float, float]:
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") not in ALGORITHMS:
        raise InvalidToken("algorithm not allowed")
    key = settings.jwt_keys().get(header.get("kid", ""))
    if key is None:
        raise InvalidToken("unknown key id")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options=DECODE_OPTIONS,
        )
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    now = clock.now().timestamp()
    if "sv" not in claims or not all(
        isinstance(claims.get(claim), int | float) for claim in TIME_CLAIMS
    ):
        raise InvalidToken("missing claims")
    if claims["exp"] <= now or claims["nbf"] > now + 5:
        raise InvalidToken("token expired or not yet valid")
    stage = claims.get("stg")
    amr = claims.get("amr", ["pwd"])  # tokens from before the second factor: password only
    if (stage is not None and not isinstance(stage, str)) or not isinstance(amr, list):
        raise InvalidToken("malformed claims")
    try:
        verified = TokenClaims(
            int(claims["sub"]),
            int(claims["sv"]),
            str(claims["jti"]),
            second_factor="otp" in amr,
            stage=stage,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidToken("malformed claims") from exc
    return verified, float(claims["exp"]), float(claims["nbf"])


def csrf_token_for(settings: Settings, session_key: str) -> str:
    """CSRF token bound to a session (the token id) or to the pre-login CSRF cookie."""
    return hmac.new(
        settings.jwt_secret.encode(), f"csrf:{session_key}".encode(), hashlib.sha256
    ).hexdigest()


def csrf_matches(settings: Settings, session_key: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(csrf_token_for(settings, session_key), submitted)


def new_reset_token() -> tuple[str, str]:
    """A password-reset token and the hash stored for it (the token itself is never stored)."""
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def hash_reset_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- one-click unsubscribe links (RFC 8058) ---------------------------------------------------
#
# An optional e-mail carries a link that turns its kind of e-mail off without signing in.
# The link holds a token: the user id and what it turns off, signed by HMAC-SHA256 with the
# active JWT key (named by its kid, so that a rotation keeps older links working while the
# previous key is listed). It never expires, and can do nothing but turn reminders off.

UNSUBSCRIBE_LISTS = ("optional_reminders",)  # the preferences a link may turn off


def _link_mac(secret: str, purpose: str, body: str) -> str:
    """The MAC of a link's token, bound to what the link is for (one key, many purposes)."""
    digest = hmac.new(secret.encode(), f"{purpose}:{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _unsubscribe_mac(secret: str, body: str) -> str:
    return _link_mac(secret, "unsubscribe", body)


def unsubscribe_token(settings: Settings, user_id: int, list_name: str) -> str:
    if list_name not in UNSUBSCRIBE_LISTS:
        raise ValueError(f"unknown unsubscribe list {list_name}")
    body = f"{settings.jwt_key_id}.{int(user_id)}.{list_name}"
    return f"{body}.{_unsubscribe_mac(settings.jwt_secret, body)}"


def read_unsubscribe_token(settings: Settings, token: str) -> tuple[int, str]:
    """(user id, list) of a link the platform signed; InvalidToken for anything else."""
    kid, _, rest = (token or "").partition(".")
    user_id, _, rest = rest.partition(".")
    list_name, _, mac = rest.partition(".")
    secret = settings.jwt_keys().get(kid)
    if secret is None or not user_id.isdigit() or list_name not in UNSUBSCRIBE_LISTS:
        raise InvalidToken("malformed unsubscribe link")
    if not hmac.compare_digest(_unsubscribe_mac(secret, f"{kid}.{user_id}.{list_name}"), mac):
        raise InvalidToken("forged unsubscribe link")
    return int(user_id), list_name


# -- personal calendar feeds -------------------------------------------------------------------
#
# A calendar application fetches the feed without a session: its URL holds the user id and
# the feed's generation, signed like unsubscribe links. Revoking the feed (or making a new
# one, which bumps the generation) is checked against the gateway's calendar_feeds row.


def calendar_feed_token(settings: Settings, user_id: int, generation: int) -> str:
    body = f"{settings.jwt_key_id}.{int(user_id)}.{int(generation)}"
    return f"{body}.{_link_mac(settings.jwt_secret, 'calendar', body)}"


def calendar_feed_url(settings: Settings, user_id: int, generation: int) -> str:
    """The address a calendar application subscribes to (``/calendrier/flux/<token>.ics``)."""
    token = calendar_feed_token(settings, user_id, generation)
    return f"{settings.public_url.rstrip('/')}/calendrier/flux/{token}.ics"


def read_calendar_feed_token(settings: Settings, token: str) -> tuple[int, int]:
    """(user id, generation) of a feed URL the platform signed; InvalidToken otherwise."""
    kid, _, rest = (token or "").partition(".")
    user_id, _, rest = rest.partition(".")
    generation, _, mac = rest.partition(".")
    secret = settings.jwt_keys().get(kid)
    if secret is None or not user_id.isdigit() or not generation.isdigit():
        raise InvalidToken("malformed calendar feed")
    expected = _link_mac(secret, "calendar", f"{kid}.{user_id}.{generation}")
    if not hmac.compare_digest(expected, mac):
        raise InvalidToken("forged calendar feed")
    return int(user_id), int(generation)
