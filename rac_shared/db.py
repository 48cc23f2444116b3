"""Per-service databases: engines, sessions, and the nameko dependency that provides them.

Each service owns one database (SQLite file by default, PostgreSQL in production) and
never reads another's. Entrypoints commit explicitly (``with self.db.begin():``) because
nameko acks a message as soon as the method returns: a commit left to teardown would
happen after the ack and could be lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nameko.extensions import DependencyProvider
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from rac_shared.settings import get_settings

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_commit_listeners: list[Callable[[], None]] = []

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


_process_role = "command"


def set_process_role(role: str) -> None:
    """What this process is ("service", "web" or "command"): its pools' sizes follow
    (``Settings.db_pool_limits``). Called once at start, before any engine exists."""
    global _process_role
    _process_role = role


def get_engine(url: str) -> Engine:
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            _engines[url] = engine
        return engine


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "savepoint")
        def _sqlite_begin_before_savepoint(connection, _name):
            # pysqlite emits no BEGIN before a SAVEPOINT, whose RELEASE would then commit on
            # its own (first_time() as a transaction's first statement): open it ourselves.
            dbapi_connection = connection.connection.dbapi_connection
            if not dbapi_connection.in_transaction:
                dbapi_connection.execute("BEGIN")

        return engine
    settings = get_settings()
    size, overflow = settings.db_pool_limits(_process_role)
    engine = create_engine(
        url,
        pool_size=size,
        max_overflow=overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=1800,
    )
    _ping_connections_left_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 10.0


def _ping_connections_left_idle(engine: Engine) -> None:
    """``pool_pre_ping`` only for connections that sat idle in the pool.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout (a tenth of a busy
    service's CPU); a connection used a moment ago is alive. One idle for a while (a database
    restart, a firewall) is pinged and, if dead, replaced before anyone uses it.
    """

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:
            raise DisconnectionError("connection left idle is dead") from exc


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached rather than that the request
    was wrong: PostgreSQL refused a connection (« too many clients », a restart), dropped
    one, or the pool had none free within ``DB_POOL_TIMEOUT``. The same request may succeed
    in a moment, so it is answered 503 with ``Retry-After`` (load shed), not 500."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # A failure to connect carries no statement (SQLAlchemy raises it before any).
    return isinstance(exc, OperationalError) and exc.statement is None


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def on_outbox_commit(listener: Callable[[], None]) -> None:
    """Call ``listener`` after any commit that wrote outbox rows (wakes the relay at once)."""
    _commit_listeners.append(listener)


class SessionFactory:
    """Sessions bound to one service's database, tagged with its outbox tables."""

    def __init__(self, service: str, metadata: MetaData, url: str | None = None):
        self.service = service
        self.metadata = metadata
        self.url = url or get_settings().database_url_for(service)
        self.engine = get_engine(self.url)
        self._maker = sessionmaker(
            bind=self.engine,
            expire_on_commit=False,
            info={"service": service, "metadata": metadata},
        )
        # Once for every session of this factory (a listener per session cost more than many
        # of the queries it follows).
        event.listen(self._maker, "after_commit", _notify_if_outbox_written)

    def __call__(self) -> Session:
        return self._maker()

    def transaction(self):
        """``with factory.transaction() as session:`` — committed at the end of the block
        (rolled back on an error), then closed; for work outside a nameko worker."""
        return self._maker.begin()


def _notify_if_outbox_written(session: Session) -> None:
    if session.info.pop("outbox_written", False):
        for listener in list(_commit_listeners):
            listener()


class Database(DependencyProvider):
    """Injects one SQLAlchemy session per worker; rolled back on error, closed at teardown."""

    def __init__(self, service: str, metadata: MetaData):
        self.service = service
        self.metadata = metadata
        self.factory: SessionFactory | None = None
        self._sessions: dict = {}

    def setup(self) -> None:
        self.factory = SessionFactory(self.service, self.metadata)

    def get_dependency(self, worker_ctx) -> Session:
        session = self.factory()
        self._sessions[worker_ctx] = session
        return session

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        session = self._sessions.get(worker_ctx)
        if session is not None and exc_info is not None:
            session.rollback()

    def worker_teardown(self, worker_ctx) -> None:
        session = self._sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()
