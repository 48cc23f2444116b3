"""The replies of a service's busiest lists, kept while its database has not changed.

A list page is read far more often than its data changes: `GET /api/plans` rebuilt its
48 rows (two statements, the ORM, the contract's validation and serialisation) for every
request, 7 ms of the plans service's CPU each. ``@cached_reply`` keeps the serialised reply
of each (arguments, actor, minute) and serves it again as long as the database's
**generation** is the one it was read under.

The generation is one row (``data_generation.n``) that PostgreSQL bumps, in the committing
transaction itself, whenever a row of the service's data changes: a deferred constraint
trigger on each of its tables (migrations ``plan0010``, ``appl0007``) runs once per
transaction at commit. So it is exact, whoever writes — another replica, ``rac jobs run``,
a migration, raw SQL — and costs a reader one small statement:

- the generation is read *before* the list, in a transaction of its own: a reply is kept
  under a generation no newer than the data it shows, never the reverse (a change committed
  in between only makes the next reader miss);
- a hit needs the generation unchanged, i.e. no commit has changed any row since the reply
  was read: what it returns is what the list would read now.

The outbox, processed events, job runs and background tasks carry no trigger: relaying an
event or claiming a task changes no list. The key holds the current minute (statuses and
« jours restants » follow the clock) and the whole actor (user, role, organisation): a reply
is never served to anyone but who it was read for. On SQLite (the embedded default, one
process) there is no trigger: every read goes to the database.
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table

from rac_shared.clock import clock

GENERATION_TABLE = "data_generation"
MAX_ENTRIES = 256  # replies per list and process (a page of 50 rows is about 25 KB)


def install_generation_table(metadata: MetaData) -> None:
    """Add ``data_generation`` (one row, bumped at each commit that changes data)."""
    Table(
        GENERATION_TABLE,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("n", BigInteger, nullable=False, default=0),
    )


GENERATION_SQL = f"SELECT n FROM {GENERATION_TABLE} WHERE id = 1"


def read_generation(session) -> int | None:
    """The database's current generation; None where it keeps none (SQLite). Read on a
    connection of the session's pool in autocommit: one round trip, no transaction to open
    and close around a single read. The driver's connection is switched to autocommit and
    back by hand (an attribute, no statement): SQLAlchemy's ``isolation_level`` option
    sets and resets the level through the driver on every read, which cost more than the
    read itself on a hit."""
    engine = session.get_bind()
    if engine.dialect.name != "postgresql":
        return None
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute(GENERATION_SQL)
                return cursor.fetchone()[0]
        finally:
            driver.autocommit = False
    except engine.dialect.loaded_dbapi.Error:
        # A connection lost or refused: dropped from the pool, and the read made again
        # through SQLAlchemy, whose error the platform maps (503 when the database is away).
        pooled.invalidate()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return connection.exec_driver_sql(GENERATION_SQL).scalar()
    finally:
        pooled.close()


class Serialised:
    """A reply already validated and serialised against its contract: ``@rpc`` sends it
    as it is (``rac_shared.rpc.Signature.dump_reply``)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


class KeptReply(dict):
    """A kept reply (a JSON object) with its JSON text, encoded once when it was kept: the
    service's responder sends the text as it is (``rac_shared.rpc.LightResponder``)."""

    __slots__ = ("json",)

    @classmethod
    def of(cls, reply: dict) -> KeptReply:
        kept = cls(reply)
        kept.json = json_text(reply)
        return kept


def json_text(value: Any) -> str:
    """JSON as the services send it over the bus: kombu's encoder (its types), UTF-8 text
    as it is (not escaped to ASCII: shorter for French, and passed on unchanged by the
    gateway's API)."""
    from kombu.utils.json import dumps

    return dumps(value, ensure_ascii=False)


class Replies:
    """Serialised replies by key, each with the generation it was read under; the least
    recently used out first."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[int, Any]] = OrderedDict()

    def get(self, key: str, generation: int) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != generation:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: str, generation: int, value: Any) -> None:
        self._entries[key] = (generation, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def _key(values: dict) -> str:
    def plain(value):
        return value.model_dump(mode="json") if isinstance(value, BaseModel) else value

    minute = clock.now().replace(second=0, microsecond=0).isoformat()
    arguments = {name: plain(value) for name, value in values.items()}
    return json.dumps([minute, arguments], sort_keys=True, default=str)


def cached_reply(method):
    """Under ``@rpc``: the method's serialised reply, kept per arguments (actor included)
    while the service's database keeps its generation. The method reads only its own
    database (no other service's RPC): that is what the generation vouches for."""
    from rac_shared.rpc import Signature

    signature = Signature(method)
    replies = Replies()

    @functools.wraps(method)
    def read(self, **values):
        generation = read_generation(self.db)
        if generation is None:
            return method(self, **values)
        key = _key(values)
        reply = replies.get(key, generation)
        if reply is None:
            reply = signature.dump_reply(method(self, **values))
            if isinstance(reply, dict):
                reply = KeptReply.of(reply)
            replies.put(key, generation, reply)
        return Serialised(reply)

    read.replies = replies
    return read
