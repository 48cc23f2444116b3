"""A table as people take it away from a list: CSV for a French spreadsheet (UTF-8 with a
byte-order mark, ``;`` between fields, decimal comma) or XLSX (openpyxl: dates as dates,
amounts as numbers with two decimals), the same header and rows in both."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

Cell = str | int | Decimal | date | None
MONEY_FORMAT = '# ##0.00 "$"'


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula (« =HYPERLINK(…) » typed in a name)."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return safe_text(value)
    return str(value)


def _xlsx_cell(value: Cell):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return safe_text(value)
    return value


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return "\ufeff" + buffer.getvalue()


def xlsx_bytes(title: str, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    """One sheet named ``title`` (Excel allows 31 characters), the header in bold and frozen."""
    from openpyxl import Workbook  # loaded by the first export, not by every process
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = cell.font.copy(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(value, Decimal):
                cell.number_format = MONEY_FORMAT
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
    for index, name in enumerate(header, start=1):
        widest = max([len(name)] + [len(_csv_cell(r[index - 1])) for r in rows])
        sheet.column_dimensions[get_column_letter(index)].width = min(widest + 2, 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
