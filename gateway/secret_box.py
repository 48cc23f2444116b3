"""Secrets the gateway must read back, encrypted at rest: the TOTP shared secrets.

A password or a recovery code is only ever compared, so it is kept as an argon2 hash; a TOTP
secret must be read to compute the expected code, so it is kept encrypted instead — with
AES-256-GCM (``cryptography``) under ``TWO_FACTOR_KEY``, a key that lives in the
deployment's settings and never in the database. A copy of the database (a backup, a dump
sent for analysis) then lets nobody generate a staff member's codes.

Stored form: ``v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``. The key id names which
of ``TWO_FACTOR_KEY`` (current) and ``TWO_FACTOR_PREVIOUS_KEYS`` (older ones, for rotation)
sealed a value; ``EncryptedString`` seals what it writes with the current key.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

from rac_shared.settings import Settings, get_settings

VERSION = "v1"
ASSOCIATED_DATA = b"rac-gateway totp secret"


class UnreadableSecret(Exception):
    """A sealed value no configured key opens (wrong key, or an altered value)."""


def _key(secret: str) -> bytes:
    """A 256-bit key from the setting (any length of private text: hashed to 32 bytes)."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _keys(settings: Settings) -> dict[str, bytes]:
    keys = {settings.two_factor_key_id: _key(settings.two_factor_key)}
    for kid, secret in settings.previous_two_factor_keys().items():
        keys.setdefault(kid, _key(secret))
    return keys


def seal(plain: str, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings.two_factor_key)).encrypt(
        nonce, plain.encode("utf-8"), ASSOCIATED_DATA
    )
    token = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{VERSION}.{settings.two_factor_key_id}.{token}"


def is_sealed(value: str) -> bool:
    return value.startswith(VERSION + ".")


def open_sealed(value: str, settings: Settings | None = None) -> str:
    try:
        _, kid, token = value.split(".", 2)
        key = _keys(settings or get_settings())[kid]
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        return AESGCM(key).decrypt(raw[:12], raw[12:], ASSOCIATED_DATA).decode("utf-8")
    except (ValueError, KeyError, InvalidTag) as exc:
        raise UnreadableSecret("a TOTP secret cannot be opened with the configured keys") from exc


class EncryptedString(TypeDecorator):
    """A column holding a sealed string: sealed when written, opened when read."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else open_sealed(value)
