"""The shared list machinery: signed cursors, keyset pages in any mix of directions, the sort
whitelist of a list's query, and exported cells a spreadsheet cannot run."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, create_engine, insert, select

from rac_shared import tabular
from rac_shared.contracts.base import parse
from rac_shared.contracts.billing import InvoiceQuery, InvoiceSort
from rac_shared.contracts.listing import MAX_LIMIT
from rac_shared.contracts.plans import PlanQuery, PlanSort
from rac_shared.errors import DomainError
from rac_shared.french import sort_key
from rac_shared.listing import (
    ELSEWHERE,
    FORGED,
    Key,
    decode_cursor,
    encode_cursor,
    fingerprint,
    paginate,
    paginate_rows,
)


def test_a_cursor_carries_its_keys_back_with_their_types():
    tied = fingerprint("plans", 2, {"status": None, "sort": "a-faire"})
    values = [1, "Cégep", date(2026, 9, 1), datetime(2026, 9, 1, 13, 5, tzinfo=UTC),
              Decimal("2611.47"), True, None]  # fmt: skip
    cursor = encode_cursor(tied, values)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert decode_cursor(cursor, tied, len(values)) == values


@pytest.mark.parametrize(
    "forge",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # signature changed
        lambda c: "x" + c,  # payload changed
        lambda c: c.split(".")[0],  # no signature
        lambda c: "nimporte.quoi",
        lambda c: "",
    ],
)
def test_a_forged_cursor_is_a_french_400(forge):
    tied = fingerprint("invoices", 2, {})
    cursor = encode_cursor(tied, [0, "2026-09-01", 7])
    with pytest.raises(DomainError) as refused:
        decode_cursor(forge(cursor), tied, 3)
    assert refused.value.code == "bad_request" and refused.value.http_status == 400
    assert refused.value.message == FORGED and "première page" in FORGED


def test_another_tenants_or_another_filters_cursor_is_refused_not_followed():
    mine = fingerprint("invoices", 2, {"status": "open"})
    cursor = encode_cursor(mine, [0, 7])
    for elsewhere in (
        fingerprint("invoices", 3, {"status": "open"}),  # another institution
        fingerprint("invoices", 2, {"status": "paid"}),  # other filters
        fingerprint("credit_notes", 2, {"status": "open"}),  # another list
    ):
        with pytest.raises(DomainError) as refused:
            decode_cursor(cursor, elsewhere, 2)
        assert refused.value.code == "bad_request" and refused.value.message == ELSEWHERE


def test_the_sort_is_a_whitelist_and_bad_paging_is_refused_in_french():
    assert PlanQuery().sort == PlanSort.TO_DO and PlanQuery(sort="").sort == PlanSort.TO_DO
    assert InvoiceQuery(sort="solde").sort == InvoiceSort.BALANCE
    for bad, message in (
        ({"sort": "id; DROP TABLE plans"}, "Cette valeur n'est pas permise."),
        ({"limit": 0}, "La valeur est trop petite."),
        ({"limit": MAX_LIMIT + 1}, "La valeur est trop grande."),
        ({"limit": "beaucoup"}, "Un nombre entier est attendu."),
        ({"cursor": "x" * 601}, "Ce texte est trop long."),
    ):
        with pytest.raises(DomainError) as refused:
            parse(PlanQuery, bad)
        assert refused.value.code == "invalid"
        assert refused.value.details == {next(iter(bad)): message}


@pytest.fixture
def rows():
    """Eight rows with ties on both keys: (group, day, id)."""
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("grp", String), Column("day", Date))  # fmt: skip
    table.metadata.create_all(engine)
    data = [(1, "b", 3), (2, "a", 1), (3, "b", 1), (4, "a", 3), (5, "a", 1), (6, "c", 2),
            (7, "b", 3), (8, "a", 2)]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(table), [
            {"id": i, "grp": g, "day": date(2026, 9, d)} for i, g, d in data
        ])  # fmt: skip
    return engine, table


@pytest.mark.parametrize("descending", [(False, False), (False, True), (True, False)])
def test_page_after_page_is_the_whole_order_once(rows, descending):
    from sqlalchemy.orm import Session

    engine, table = rows
    keys = [Key(table.c.grp, descending[0]), Key(table.c.day, descending[1]), Key(table.c.id)]
    statement = select(table.c.id)
    with Session(engine) as session:
        whole = [r.id for r in session.execute(statement.order_by(
            *[k.expression.desc() if k.descending else k.expression for k in keys]))]  # fmt: skip
        seen, cursor = [], None
        for _ in range(5):
            query = PlanQuery(limit=3, cursor=cursor)
            page = paginate(session, statement, query, name="t", scope=1, keys=keys)
            assert page["count"] == 8
            seen += [row[0] for row in page["rows"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == whole and len(set(seen)) == 8


def test_rows_read_in_python_page_the_same_way():
    listed = [{"id": i, "name": name} for i, name in enumerate(["École", "cégep", "Centre"])]
    key = lambda r: (sort_key(r["name"]), r["id"])  # noqa: E731  (cégep < Centre < École)
    first = paginate_rows(listed, PlanQuery(limit=2), name="n", scope=1, key=key)
    second = paginate_rows(
        listed, PlanQuery(limit=2, cursor=first["next_cursor"]), name="n", scope=1, key=key
    )
    assert [r["id"] for r in first["rows"] + second["rows"]] == [1, 2, 0]
    assert second["next_cursor"] is None and first["count"] == 3
    with pytest.raises(DomainError):
        paginate_rows(listed, PlanQuery(cursor=first["next_cursor"]), name="n", scope=2, key=key)


def test_exported_cells_cannot_inject_formulas():
    text = tabular.csv_text(
        ["Nom", "Solde"], [["=HYPERLINK(1)", Decimal("-5.00")], ["Cégep", None]]
    )
    assert text.startswith("\ufeffNom;Solde\r\n")
    assert text.splitlines()[1:] == ["'=HYPERLINK(1);-5,00", "Cégep;"]
    sheet = load_workbook(io.BytesIO(tabular.xlsx_bytes("T", ["Nom"], [["=1+1"]]))).active
    assert sheet["A2"].value == "'=1+1" and sheet["A2"].data_type == "s"
