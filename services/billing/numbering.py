"""Gapless numbers of invoices and credit notes, per institution and fiscal year (1 July –
30 June): one counter row per (institution, year, kind), locked and moved by one
``UPDATE … RETURNING`` for a whole batch.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing.models import (
    COUNTER_CREDIT,
    COUNTER_INVOICE,
    InvoiceCounter,
)

FISCAL_YEAR_FIRST_MONTH = 7  # 1 July – 30 June


def fiscal_year(day: date) -> int:
    """The fiscal year (1 July – 30 June) of ``day``, named by the year it starts in."""
    return day.year if day.month >= FISCAL_YEAR_FIRST_MONTH else day.year - 1


def document_number(code: str, year: int, sequence: int, kind: str = COUNTER_INVOICE) -> str:
    """``CLV-2026-0001`` for invoices, ``CLV-NC-2026-0001`` for credit notes."""
    middle = "NC-" if kind == COUNTER_CREDIT else ""
    return f"{code}-{middle}{year}-{sequence:04d}"


def lock_counters(session: Session, keys) -> dict[tuple, InvoiceCounter]:
    """Lock (creating if needed) the counter rows of ``keys`` in one global order, so that
    two transactions needing several counters can never deadlock."""
    counters: dict[tuple, InvoiceCounter] = {}
    for key in sorted(set(keys)):
        institution_id, year, kind = key
        query = (
            select(InvoiceCounter)
            .where(
                InvoiceCounter.institution_id == institution_id,
                InvoiceCounter.fiscal_year == year,
                InvoiceCounter.kind == kind,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        counter = session.scalar(query)
        if counter is None:
            try:
                with session.begin_nested():
                    session.add(
                        InvoiceCounter(
                            institution_id=institution_id,
                            fiscal_year=year,
                            kind=kind,
                            last_number=0,
                        )
                    )
            except IntegrityError:
                pass  # created meanwhile by another transaction
            counter = session.scalar(query)
        counters[key] = counter
    return counters


def take_number(counter: InvoiceCounter) -> int:
    counter.last_number += 1
    return counter.last_number


def reserve_numbers(session: Session, needs: dict[tuple, int]) -> dict[tuple, int]:
    """Take ``needs[key]`` consecutive numbers from each counter ``(institution_id, year,
    kind)`` with one ``UPDATE … RETURNING`` each (keys in the global order of
    ``lock_counters``: no deadlock), creating missing counters. Returns the last number taken
    per key: the range is ``last - n + 1 .. last``.

    The counter rows stay locked until the transaction ends and a rollback returns the whole
    range: numbers stay gapless as long as every number taken is used in this transaction.
    """
    table = InvoiceCounter.__table__
    last: dict[tuple, int] = {}
    for key in sorted(needs):
        institution_id, year, kind = key
        take = (
            update(table)
            .where(
                table.c.institution_id == institution_id,
                table.c.fiscal_year == year,
                table.c.kind == kind,
            )
            .values(last_number=table.c.last_number + needs[key])
            .returning(table.c.last_number)
        )
        value = session.execute(take).scalar_one_or_none()
        if value is None:
            try:
                with session.begin_nested():
                    session.execute(
                        insert(table).values(
                            institution_id=institution_id,
                            fiscal_year=year,
                            kind=kind,
                            last_number=0,
                        )
                    )
            except IntegrityError:
                pass  # created meanwhile by another transaction
            value = session.execute(take).scalar_one()
        last[key] = value
    return last


def number_rows(rows: list[dict], last: dict[tuple, int], counts: dict[int, int]) -> None:
    """Give each row its number from the ranges taken (rows in numbering order)."""
    sequence = {key[0]: value - counts[key[0]] for key, value in last.items()}
    for row in rows:
        sequence[row["institution_id"]] += 1
        row["sequence"] = sequence[row["institution_id"]]
        row["number"] = document_number(
            row["parties"]["institution"]["code"], row["fiscal_year"], row["sequence"]
        )
