"""Session users kept in memory, invalidated by PostgreSQL ``NOTIFY`` on every directory change.

Checking the user behind every request (still active, not logged out, same role) was half of
the gateway's CPU under load: one query, a pool checkout and a rollback per request. Each
gateway process now keeps the rows it read, and drops them all as soon as PostgreSQL tells it
that a user or an organisation changed: a statement trigger on both tables (migration
``gate0002``) sends ``NOTIFY`` inside the transaction that changes them, ORM or raw SQL, so
the notice arrives when (and only if) the change commits, in every process of every machine.
Pending notices are read before every lookup, and a process drops its own copies after any
state-changing request it serves (a logout, a password change): a change takes effect in the
process that made it at once, and in the others as soon as the notice reaches them — a few
milliseconds, longer only when the database server itself is overloaded.

``LISTEN`` needs a session of its own: through PgBouncer's transaction pooling the statement
would run on whichever server connection was free and the notices would reach nobody, so the
cache would serve rows a change had made stale. The listener therefore connects to
``DATABASE_DIRECT_URL_GATEWAY`` (PostgreSQL itself) when it is set, one connection per web
process; queries go through ``DATABASE_URL_GATEWAY`` as before.

The cache only serves while its listening connection is up; when that connection drops (or on
SQLite, which has no ``LISTEN``), every request reads the database as before. A generation
counter keeps a row read before an invalidation from being stored after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from gateway.copies import Copies

log = logging.getLogger(__name__)

CHANNEL = "rac_directory_changed"
MAX_AGE_SECONDS = 60.0  # a bound even if a notice were somehow missed
KEEPALIVE_SECONDS = 20.0


class SessionCache:
    def __init__(self, engine: Engine, max_age: float = MAX_AGE_SECONDS):
        self.engine = engine
        self.listening = False
        self.rows = Copies(max_age, live=lambda: self.listening)
        self._thread = None
        self._connection = None

    # -- lookups ---------------------------------------------------------------------

    def get(self, user_id: int) -> Any | None:
        if self.listening:
            self._read_pending_notices()
        return self.rows.get(user_id)

    def row(self, user_id: int, load: Callable[[], Any]) -> Any | None:
        """The user's session row, from the copy when current, else ``load()``."""
        if self.listening:
            self._read_pending_notices()
        return self.rows.through(user_id, load)

    def _read_pending_notices(self) -> None:
        """A non-blocking read of the listening socket: notices already sent count now."""
        connection = self._connection
        if connection is None:
            return
        try:
            connection.poll()
        except Exception:
            self.listening = False
        if connection.notifies:
            connection.notifies.clear()
            self.invalidate()

    def invalidate(self) -> None:
        self.rows.clear()

    # -- the listener ----------------------------------------------------------------

    def _listen_url(self):
        from sqlalchemy.engine import make_url

        from rac_shared.settings import get_settings

        direct = get_settings().direct_database_url_for("gateway")
        return make_url(direct) if direct else self.engine.url

    def start(self) -> None:
        """Listen in a green thread (PostgreSQL only; the gateway runs under eventlet)."""
        if self.engine.dialect.name != "postgresql" or self._thread is not None:
            return
        import eventlet

        self._thread = eventlet.spawn(self._listen_forever)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        self.listening = False
        self.invalidate()

    def _listen_forever(self) -> None:
        import eventlet

        while True:
            try:
                self._listen_once()
            except Exception as exc:  # connection lost: serve from the database meanwhile
                log.warning("directory change listener lost (%s); retrying", type(exc).__name__)
            self.listening = False
            self.invalidate()
            eventlet.sleep(1.0)

    def _listen_once(self) -> None:
        import psycopg2
        from eventlet.green import select

        args, kwargs = self.engine.dialect.create_connect_args(self._listen_url())
        connection = psycopg2.connect(*args, **kwargs)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            self.invalidate()
            self._connection = connection
            self.listening = True
            while self.listening:
                readable, _, _ = select.select([connection], [], [], KEEPALIVE_SECONDS)
                if not readable:
                    with connection.cursor() as cursor:  # detects a dead connection
                        cursor.execute("SELECT 1")
                self._read_pending_notices()
        finally:
            self.listening = False
            self._connection = None
            connection.close()
