"""The ministry's network figures kept by the billing service: amounts invoiced, credited
and paid per month across the network (institutions' invoices to employers).

Summed by the database (GROUP BY), never by loading invoices. Amounts travel as decimal
strings ("1234.50"); the gateway formats them in fr_CA.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from rac_shared.formatting import round_money
from services.billing.models import CreditNote, Invoice, Payment

MAX_MONTHS = 36
SERIES = {
    "invoiced": (Invoice.issued_on, Invoice.total),
    "credited": (CreditNote.issued_on, CreditNote.total),
    "paid": (Payment.paid_on, Payment.amount),
}
ZERO = Decimal("0.00")


log = logging.getLogger(__name__)


def network_figures(session: Session) -> dict:
    sums: dict[tuple[int, int], dict[str, Decimal]] = {}
    for key, (day, amount) in SERIES.items():
        year, month = extract("year", day), extract("month", day)
        rows = session.execute(
            select(year, month, func.coalesce(func.sum(amount), 0)).group_by(year, month)
        ).all()
        for y, m, total in rows:
            month_sums = sums.setdefault((int(y), int(m)), dict.fromkeys(SERIES, ZERO))
            month_sums[key] = round_money(Decimal(str(total)))
    months = []
    if sums:
        (y, m), last = min(sums), max(sums)
        while (y, m) <= last:
            values = sums.get((y, m), dict.fromkeys(SERIES, ZERO))
            months.append({"month": f"{y:04d}-{m:02d}", **{k: str(v) for k, v in values.items()}})
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    totals = {k: sum((sums[ym][k] for ym in sums), ZERO) for k in SERIES}
    outstanding = session.scalar(
        select(
            func.coalesce(func.sum(Invoice.total - Invoice.paid_total - Invoice.credited_total), 0)
        )
    )
    return {
        "per_month": months[-MAX_MONTHS:],
        "totals": {k: str(round_money(v)) for k, v in totals.items()},
        "outstanding": str(round_money(Decimal(str(outstanding)))),
    }
