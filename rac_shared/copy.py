"""Bulk writes on PostgreSQL: rows through ``COPY … FROM STDIN`` on the session's own
connection, or one multi-row ``INSERT`` where ``COPY`` cannot run.

A shared adapter: a service's bulk path (billing's invoicing run) encodes its rows before it
takes a lock, then writes them in one statement. Columns typed ``JSON`` in the session's
metadata (``session.info["metadata"]``, as ``SessionFactory`` sets it) are encoded as JSON.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

from sqlalchemy import JSON
from sqlalchemy.orm import Session


class PostgresqlWriter:
    """PostgreSQL's side of the bulk path, through the session's own connection: the
    installments marked invoiced with invoice ids drawn from the sequence (so that
    everything but the numbers is written or encoded before the counter is locked), and rows
    written with ``COPY … FROM STDIN`` (much less work, in Python and in the server, than a
    multi-row INSERT of the same rows).

    psycopg2 refuses ``COPY`` while a coroutine wait callback is installed (eventlet's
    patch, in the nameko services: the « facturer » button); there the rows go through one
    multi-row ``INSERT`` (``execute_values``) instead."""

    def __init__(self, session: Session):
        from psycopg2 import extensions

        self.cursor = session.connection().connection.cursor()
        self.use_copy = extensions.get_wait_callback() is None
        self.tables = session.info["metadata"].tables

    def encode(
        self, table: str, rows: list[dict], late: tuple[str, ...] = (), raw: tuple[str, ...] = ()
    ) -> tuple:
        """The rows ready to write, all but the ``late`` columns (given to ``write``); the
        ``raw`` columns hold JSON text already."""
        names = [name for name in rows[0] if name not in late]
        json_names = {
            name
            for name in names
            if name not in raw and isinstance(self.tables[table].c[name].type, JSON)
        }
        if self.use_copy:
            columns = [
                copy_column([row[name] for row in rows], name in json_names) for name in names
            ]
            data = ["\t".join(fields) for fields in zip(*columns, strict=True)]
        else:
            data = [
                tuple(json.dumps(row[name]) if name in json_names else row[name] for name in names)
                for row in rows
            ]
        return table, [*names, *late], data

    def write(
        self,
        encoded: tuple,
        late_values: list[tuple] | None = None,
        tails: list[str] | None = None,
    ) -> None:
        """Write encoded rows, with their ``late_values``, or with ``tails`` appended to
        their last column (the end of a JSON text begun at ``encode``)."""
        table, names, data = encoded
        if tails:
            assert not late_values, "tails complete the last column: no late columns then"
            if self.use_copy:
                data = [line + copy_escape(tail) for line, tail in zip(data, tails, strict=True)]
            else:
                data = [(*row[:-1], row[-1] + tail) for row, tail in zip(data, tails, strict=True)]
        if not self.use_copy:
            from psycopg2.extras import execute_values

            if late_values:
                data = [(*row, *late) for row, late in zip(data, late_values, strict=True)]
            execute_values(
                self.cursor,
                f"INSERT INTO {table} ({', '.join(names)}) VALUES %s",
                data,
                page_size=len(data),
            )
            return
        if late_values:
            data = [
                "\t".join([line, *(copy_escape(str(value)) for value in late)])
                for line, late in zip(data, late_values, strict=True)
            ]
        text = "\n".join(data) + "\n"
        self.cursor.copy_expert(f"COPY {table} ({', '.join(names)}) FROM STDIN", io.StringIO(text))


def copy_column(values: list, is_json: bool) -> list[str]:
    """One column's fields in ``COPY``'s text format. A value the rows share (the parties,
    the taxes, a date) is encoded once."""
    sample = next((value for value in values if value is not None), None)
    if not is_json and isinstance(sample, int | Decimal) and not isinstance(sample, bool):
        return ["\\N" if value is None else str(value) for value in values]
    memo: dict[int, str] = {}
    fields = []
    for value in values:
        if value is None:
            fields.append("\\N")
            continue
        field = memo.get(id(value))
        if field is None:
            field = memo[id(value)] = copy_escape(json.dumps(value) if is_json else str(value))
        fields.append(field)
    return fields


def copy_escape(text: str) -> str:
    """A field of ``COPY``'s text format: backslash, newline, carriage return and tab
    escaped."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text
