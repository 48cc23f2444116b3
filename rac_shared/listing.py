"""Keyset pagination of a service's list (the shapes: ``rac_shared.contracts.listing``).

A list declares its sorts as ``Key`` tuples (SQL expressions that are never NULL, each
ascending or descending), the row's id last, so the order is total and stable. ``paginate``
reads one page (one ``SELECT … ORDER BY … LIMIT n+1`` after the last row's keys) and counts
the matching rows (one ``SELECT count(*)``): two statements whatever the page's size.

The cursor is opaque to its readers: the last row's keys, the sort, and a fingerprint of
the list, its filters and the tenant that asked, signed with the platform's secret
(HMAC-SHA256). A cursor that does not decode, whose signature is wrong or that belongs to
another list, sort, filter or tenant is refused with a French 400 (``bad_request``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql import ColumnElement, Select

from rac_shared.contracts.listing import ListQuery
from rac_shared.errors import DomainError

FORGED = "Le curseur de pagination est invalide : revenez à la première page de la liste."
ELSEWHERE = (
    "Ce curseur de pagination appartient à une autre liste ou à d'autres critères de "
    "recherche : revenez à la première page de la liste."
)


def bad_cursor(message: str = FORGED) -> DomainError:
    return DomainError(message, {"cursor": message}, "bad_request")


@dataclass(frozen=True)
class Key:
    """One key of a sort: an SQL expression that is never NULL (``coalesce`` it), and its
    direction."""

    expression: Any
    descending: bool = False


def nulls_last(expression, fill, descending: bool = False) -> list[Key]:
    """Keys ordering ``expression`` with its empty values last, in either direction
    (``fill`` stands for NULL, of the expression's type)."""
    return [
        Key(case((expression.is_(None), 1), else_=0)),
        Key(func.coalesce(expression, fill), descending),
    ]


# -- the cursor ---------------------------------------------------------------------------


def _secret() -> bytes:
    from rac_shared.settings import get_settings

    return get_settings().jwt_secret.encode()


def fingerprint(name: str, scope: object, filters: dict) -> str:
    """What a cursor is tied to: the list, the tenant that asked and its filters and sort."""
    text = json.dumps([name, scope, filters], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _tagged(value):
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if isinstance(value, float):
        return {"n": repr(value)}
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _untagged(value):
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if not isinstance(text, str):
            raise ValueError(tag)
        if tag == "t":
            return datetime.fromisoformat(text)
        if tag == "d":
            return date.fromisoformat(text)
        if tag == "n":
            return Decimal(text)
        raise ValueError(tag)
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    raise ValueError(value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(tied_to: str, values: Sequence) -> str:
    payload = _b64(json.dumps([tied_to, [_tagged(v) for v in values]]).encode())
    signature = _b64(hmac.new(_secret(), payload.encode(), hashlib.sha256).digest()[:18])
    return f"{payload}.{signature}"


def decode_cursor(cursor: str, tied_to: str, keys: int | None) -> list:
    """The keys of the row the cursor points after; ``bad_request`` when it is forged or
    belongs to another list, sort, filter or tenant."""
    payload, dot, signature = cursor.partition(".")
    if not dot:
        raise bad_cursor()
    expected = _b64(hmac.new(_secret(), payload.encode(), hashlib.sha256).digest()[:18])
    if not hmac.compare_digest(expected, signature):
        raise bad_cursor()
    try:
        owner, values = json.loads(_unb64(payload))
        values = [_untagged(v) for v in values]
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeDecodeError):
        raise bad_cursor() from None
    if owner != tied_to:
        raise bad_cursor(ELSEWHERE)
    if keys is not None and len(values) != keys:
        raise bad_cursor()
    return values


# -- the keyset ---------------------------------------------------------------------------


def after(keys: Sequence[Key], values: Sequence) -> ColumnElement:
    """Rows that come after ``values`` in the order of ``keys``:
    ``k1 > v1 OR (k1 = v1 AND k2 > v2) OR …`` (``<`` for a descending key)."""
    clauses = []
    for index, key in enumerate(keys):
        equal = [keys[i].expression == values[i] for i in range(index)]
        beyond = (
            key.expression < values[index] if key.descending else key.expression > values[index]
        )
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def order_by(keys: Sequence[Key]) -> list:
    return [k.expression.desc() if k.descending else k.expression.asc() for k in keys]


def paginate(
    session,
    statement: Select,
    query: ListQuery,
    *,
    name: str,
    scope: object,
    keys: Sequence[Key],
) -> dict:
    """One page of ``statement`` (a ``select(...)`` with the tenant's scope and the filters
    applied) in the order of ``keys``, whose last key is the row's id: ``{"rows": [...],
    "count": n, "limit": …, "sort": …, "next_cursor": …}``, each row the statement's
    columns. Two statements, whatever the page's size."""
    width = len(statement.column_descriptions)
    tied_to = fingerprint(name, scope, query.filters())
    count = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    page = statement.add_columns(*(k.expression for k in keys))
    if query.cursor:
        page = page.where(after(keys, decode_cursor(query.cursor, tied_to, len(keys))))
    rows = session.execute(page.order_by(*order_by(keys)).limit(query.limit + 1)).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = encode_cursor(tied_to, list(rows[-1][width:])) if more and rows else None
    return {
        "rows": [tuple(row[:width]) for row in rows],
        "count": count or 0,
        "limit": query.limit,
        "sort": str(getattr(query, "sort", "")),
        "next_cursor": next_cursor,
    }


def paginate_rows(rows: Sequence, query: ListQuery, *, name: str, scope: object, key) -> dict:
    """The same page and cursor over rows already read and filtered in Python (a short list
    whose filter is not SQL, e.g. the network's CERACs matched on folded text): ``key(row)``
    is the row's sort key, a tuple ending with its id, every part never None."""
    tied_to = fingerprint(name, scope, query.filters())
    ordered = sorted(rows, key=key)
    if query.cursor:
        last = tuple(decode_cursor(query.cursor, tied_to, None))
        try:
            ordered = [row for row in ordered if key(row) > last]
        except TypeError:  # signed by us, yet not this sort's keys
            raise bad_cursor() from None
    page = ordered[: query.limit]
    more = len(ordered) > query.limit
    return {
        "rows": page,
        "count": len(rows),
        "limit": query.limit,
        "sort": str(getattr(query, "sort", "")),
        "next_cursor": encode_cursor(tied_to, list(key(page[-1]))) if more and page else None,
    }


def reply(page: dict, items: list) -> dict:
    """The ``Page`` reply of ``paginate``'s page, its rows made into ``items``."""
    return {key: value for key, value in page.items() if key != "rows"} | {"items": items}


def every_page(fetch, query: ListQuery, batch: int = 200):
    """Every row of a list, page after page (bounded batches), for its exports: ``fetch``
    takes a query and returns a ``Page``."""
    query = query.model_copy(update={"limit": batch, "cursor": None})
    while True:
        page = fetch(query)
        yield from page.items
        if not page.next_cursor:
            return
        query = query.model_copy(update={"cursor": page.next_cursor})
