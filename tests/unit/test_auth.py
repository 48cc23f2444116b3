"""JWT acceptance and rejection, password hashes and CSRF helpers (gateway/auth.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import rsa
from jose import jwt

from gateway.auth import (
    InvalidToken,
    csrf_matches,
    csrf_token_for,
    decode_token,
    hash_password,
    hash_reset_token,
    issue_token,
    new_reset_token,
    verify_password,
)
from rac_shared.clock import clock
from rac_shared.settings import Settings

SECRET = "unit-test-secret-0123456789abcdef-0123456789"
OLD_SECRET = "previous-secret-0123456789abcdef-0123456789"
ISSUER = "rac-gateway"
AUDIENCE = "rac-platform"
# Far from the real date on purpose: the platform clock, not the wall clock, decides.
NOW = datetime(2030, 5, 17, 14, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        rac_env="test",
        jwt_secret=SECRET,
        jwt_key_id="k1",
        jwt_previous_keys=f"k0={OLD_SECRET}",
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        session_minutes=60,
    )


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen_at(NOW):
        yield


def claims(**overrides) -> dict:
    now = int(NOW.timestamp())
    values = {
        "sub": "42",
        "sv": 3,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj: dict) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def hs_token(payload: dict, secret: str = SECRET, kid: str | None = "k1", alg="HS256") -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, secret, algorithm=alg, headers=headers)


def rejects(settings: Settings, token: str) -> None:
    with pytest.raises(InvalidToken):
        decode_token(settings, token)


# --- acceptance -----------------------------------------------------------------------


def test_issued_token_roundtrip(settings):
    token, token_id = issue_token(settings, user_id=7, session_version=2)
    decoded = decode_token(settings, token)
    assert (decoded.user_id, decoded.session_version, decoded.token_id) == (7, 2, token_id)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    assert header["kid"] == "k1"
    body = jwt.get_unverified_claims(token)
    assert body["iss"] == ISSUER and body["aud"] == AUDIENCE
    assert body["exp"] - body["iat"] == 60 * 60


def test_crafted_valid_token_is_accepted(settings):
    """Sanity check: the rejection tests below differ from this one in one aspect only."""
    decoded = decode_token(settings, hs_token(claims()))
    assert decoded.user_id == 42 and decoded.session_version == 3


def test_token_issued_under_a_frozen_clock_far_from_now_is_accepted(settings):
    for when in (datetime(2019, 1, 1, tzinfo=UTC), datetime(2045, 1, 1, tzinfo=UTC)):
        with clock.frozen_at(when):
            token, _ = issue_token(settings, 1, 1)
            assert decode_token(settings, token).user_id == 1


def test_previous_key_still_accepted_after_rotation(settings):
    decoded = decode_token(settings, hs_token(claims(), secret=OLD_SECRET, kid="k0"))
    assert decoded.user_id == 42


def test_rotated_out_key_is_refused(settings):
    after_rotation = settings.model_copy(update={"jwt_previous_keys": ""})
    rejects(after_rotation, hs_token(claims(), secret=OLD_SECRET, kid="k0"))


# --- algorithm attacks ----------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_refused(settings, alg):
    header = {"alg": alg, "typ": "JWT", "kid": "k1"}
    rejects(settings, f"{b64json(header)}.{b64json(claims())}.")


def test_rs256_token_refused(settings):
    _public, private = rsa.newkeys(1024)
    token = jwt.encode(
        claims(), private.save_pkcs1().decode(), algorithm="RS256", headers={"kid": "k1"}
    )
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    rejects(settings, token)


def test_rs256_header_with_hmac_signature_refused(settings):
    """HS/RS confusion: header claims RS256 but the signature is HMAC with the real secret."""
    signing_input = f"{b64json({'alg': 'RS256', 'typ': 'JWT', 'kid': 'k1'})}.{b64json(claims())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    rejects(settings, f"{signing_input}.{b64(signature)}")


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithms_refused_even_with_the_right_key(settings, alg):
    rejects(settings, hs_token(claims(), alg=alg))


# --- keys -----------------------------------------------------------------------------


def test_wrong_key_refused(settings):
    rejects(settings, hs_token(claims(), secret="another-secret-0123456789abcdef-xyz"))


def test_old_secret_under_current_kid_refused(settings):
    rejects(settings, hs_token(claims(), secret=OLD_SECRET, kid="k1"))


def test_unknown_kid_refused(settings):
    rejects(settings, hs_token(claims(), kid="k9"))


def test_missing_kid_refused(settings):
    token = hs_token(claims(), kid=None)
    assert "kid" not in jwt.get_unverified_header(token)
    rejects(settings, token)


# --- time -----------------------------------------------------------------------------


def test_expiry_follows_the_platform_clock(settings):
    token, _ = issue_token(settings, 5, 1)
    with clock.frozen_at(NOW + timedelta(minutes=59)):
        assert decode_token(settings, token).user_id == 5
    with clock.frozen_at(NOW + timedelta(minutes=60)):
        rejects(settings, token)
    with clock.frozen_at(NOW + timedelta(days=3)):
        rejects(settings, token)


def test_expired_crafted_token_refused(settings):
    now = int(NOW.timestamp())
    rejects(settings, hs_token(claims(iat=now - 7200, nbf=now - 7200, exp=now - 1)))


def test_not_yet_valid_refused(settings):
    now = int(NOW.timestamp())
    rejects(settings, hs_token(claims(nbf=now + 3600, exp=now + 7200)))
    # A token issued "later" on the platform clock is not valid before that.
    with clock.frozen_at(NOW + timedelta(hours=1)):
        token, _ = issue_token(settings, 5, 1)
    rejects(settings, token)


# --- claims ---------------------------------------------------------------------------


def test_wrong_audience_refused(settings):
    rejects(settings, hs_token(claims(aud="another-platform")))


def test_wrong_issuer_refused(settings):
    rejects(settings, hs_token(claims(iss="someone-else")))


def test_tampered_claims_refused(settings):
    token = hs_token(claims(sub="42"))
    header, _payload, signature = token.split(".")
    forged = f"{header}.{b64json(claims(sub='1'))}.{signature}"
    rejects(settings, forged)


def test_stripped_signature_refused(settings):
    header, payload, _signature = hs_token(claims()).split(".")
    rejects(settings, f"{header}.{payload}.")


@pytest.mark.parametrize("missing", ["exp", "nbf", "iat", "sub", "jti", "aud", "iss", "sv"])
def test_missing_claim_refused(settings, missing):
    payload = claims()
    del payload[missing]
    rejects(settings, hs_token(payload))


@pytest.mark.parametrize(
    "overrides",
    [{"exp": "9999999999"}, {"nbf": "0"}, {"sub": "not-a-number"}, {"sv": "x"}],
)
def test_malformed_claims_refused(settings, overrides):
    rejects(settings, hs_token(claims(**overrides)))


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "not.a.token.at.all", "....."])
def test_malformed_token_refused(settings, token):
    rejects(settings, token)


# --- passwords, CSRF, reset tokens ----------------------------------------------------


def test_password_hash_and_verify():
    stored = hash_password("rac-demo-2026")
    assert stored.startswith("$argon2id$")
    assert "rac-demo-2026" not in stored
    assert verify_password(stored, "rac-demo-2026")
    assert not verify_password(stored, "rac-demo-2027")
    assert not verify_password(stored, "")
    assert hash_password("rac-demo-2026") != stored  # salted


def test_verify_password_without_hash_is_false():
    assert not verify_password(None, "rac-demo-2026")
    assert not verify_password("", "rac-demo-2026")
    # Even the dummy hash's own password must not log anyone in.
    assert not verify_password(None, "une valeur sans importance")


def test_verify_password_with_garbage_hash_is_false():
    assert not verify_password("not-an-argon2-hash", "rac-demo-2026")


def test_csrf_matches(settings):
    token = csrf_token_for(settings, "session-a")
    assert csrf_matches(settings, "session-a", token)
    assert not csrf_matches(settings, "session-b", token)
    assert not csrf_matches(settings, "session-a", token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not csrf_matches(settings, "session-a", None)
    assert not csrf_matches(settings, "session-a", "")
    other = settings.model_copy(update={"jwt_secret": "x" * 40})
    assert not csrf_matches(other, "session-a", token)


def test_reset_token_is_stored_as_a_hash():
    token, stored = new_reset_token()
    assert token != stored
    assert hash_reset_token(token) == stored
    assert hash_reset_token(token + "x") != stored
    assert new_reset_token()[0] != token


# -- one-click unsubscribe links -------------------------------------------------------------


def test_an_unsubscribe_token_names_its_user_and_list_and_nothing_else_verifies():
    from gateway.auth import InvalidToken, read_unsubscribe_token, unsubscribe_token
    from rac_shared.settings import Settings

    settings = Settings(jwt_secret="a" * 40, jwt_key_id="k2")
    token = unsubscribe_token(settings, 42, "optional_reminders")
    assert read_unsubscribe_token(settings, token) == (42, "optional_reminders")
    kid, user_id, list_name, mac = token.split(".")
    forged = [
        f"{kid}.43.{list_name}.{mac}",  # another user
        f"{kid}.{user_id}.legal_notices.{mac}",  # a list that cannot be left
        f"k9.{user_id}.{list_name}.{mac}",  # an unknown key
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        unsubscribe_token(Settings(jwt_secret="b" * 40, jwt_key_id="k2"), 42, "optional_reminders"),
        "",
        "k2.abc.optional_reminders.x",
    ]
    for candidate in forged:
        with pytest.raises(InvalidToken):
            read_unsubscribe_token(settings, candidate)
    with pytest.raises(ValueError):
        unsubscribe_token(settings, 42, "legal_notices")


def test_unsubscribe_links_survive_a_key_rotation_while_the_old_key_is_listed():
    from gateway.auth import InvalidToken, read_unsubscribe_token, unsubscribe_token
    from rac_shared.settings import Settings

    before = Settings(jwt_secret="a" * 40, jwt_key_id="k1")
    token = unsubscribe_token(before, 7, "optional_reminders")
    after = Settings(jwt_secret="c" * 40, jwt_key_id="k2", jwt_previous_keys=f"k1={'a' * 40}")
    assert read_unsubscribe_token(after, token) == (7, "optional_reminders")
    with pytest.raises(InvalidToken):
        read_unsubscribe_token(Settings(jwt_secret="c" * 40, jwt_key_id="k2"), token)


HUB_PROBE = r"""
import eventlet
eventlet.monkey_patch()
import time
from gateway import auth

ticks = []
def ticker():
    while True:
        ticks.append(time.monotonic())
        eventlet.sleep(0.005)

eventlet.spawn(ticker)
eventlet.sleep(0.02)
started = time.monotonic()
hashes = auth.hash_passwords(["code-0", "code-1"])
assert auth.matching_hash(hashes, "code-1") == hashes[1]
assert auth.matching_hash(hashes, "autre") is None
finished = time.monotonic()
during = [t for t in ticks if started < t < finished]
gaps = [b - a for a, b in zip(during, during[1:])]
print(len(during), round(max(gaps, default=finished - started), 3), round(finished - started, 3))
"""


def test_argon2_runs_off_the_eventlet_hub_so_other_requests_keep_being_served():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", HUB_PROBE], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    ticks, longest_gap, hashing = (float(v) for v in result.stdout.split())
    # Six argon2 computations: the hub kept ticking all along (a hash on the hub would
    # leave gaps of a sixth of the whole or longer, the list's hashes one of a third).
    assert ticks >= 5 and longest_gap < hashing / 8, result.stdout


def test_hash_and_verify_work_without_eventlet():
    hashes = [hash_password("un"), hash_password("deux")]
    assert verify_password(hashes[1], "deux") and not verify_password(None, "deux")
