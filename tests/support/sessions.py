"""Directory changes made behind the gateway's back, and their effect on every gateway process."""

from __future__ import annotations

from functools import partial

from sqlalchemy import text

from tests.support.polling import wait_until

# A directory change reaches every gateway process with PostgreSQL's notice: within
# milliseconds, but the tests share a loaded machine.
settled = partial(
    wait_until, timeout=5.0, interval=0.05, message="the change never reached the gateway"
)


def revoke_and_see_refused_everywhere(platform, gateway_db, email: str, token: str) -> None:
    """Bump the user's session version with raw SQL (as an operator would), then see the
    token refused at once and by every gateway process (a dozen new connections)."""
    with gateway_db.begin() as connection:
        connection.execute(
            text("UPDATE users SET session_version = session_version + 1 WHERE email = :e"),
            {"e": email},
        )
    settled(lambda: platform.api("GET", "/api/me", token).status_code == 401)
    for _ in range(12):
        assert platform.api("GET", "/api/me", token).status_code == 401
