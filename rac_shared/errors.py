"""Errors that cross the bus: a code, a French message for the user, and details.

Services raise them; nameko serialises them into the RPC reply; the gateway turns the code
into an HTTP status. Registered with nameko so that Python callers get them back as
instances rather than ``RemoteError``.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance

HTTP_STATUS = {
    "invalid": 422,
    "bad_request": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "unavailable": 503,
    "timeout": 504,
}


@deserialize_to_instance
class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str, details: dict | list | None = None, code: str | None = None):
        # {} rather than None: nameko serialises None as the string "None" across RPC.
        details = details or {}
        super().__init__(message, details, code or self.code)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)


def invalid(message: str, details: dict | list | None = None) -> DomainError:
    return DomainError(message, details, "invalid")


def not_found(message: str = "Ressource introuvable.") -> DomainError:
    return DomainError(message, None, "not_found")


def forbidden(message: str = "Vous n'avez pas accès à cette ressource.") -> DomainError:
    return DomainError(message, None, "forbidden")


def conflict(message: str, details: dict | None = None) -> DomainError:
    return DomainError(message, details, "conflict")
