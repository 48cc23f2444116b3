"""The ministry's network figures kept by the plans service: offers issued, accepted and
lapsed per month, the acceptance rate, and candidate-workers per program.

Counted by the database (GROUP BY), never by loading plans; the ministry sees numbers,
never a plan's content. The existing indicators of ``views.network_figures`` (plans per
status) are kept in the same answer, so the plans page and its API read the same RPC.

Definitions (shown on the dashboard):
- an offer is an issued version of a plan (an amended plan issued again is a new offer,
  with its own 30-day acceptance deadline);
- accepted in a month: the written acceptance reached the institution that month;
- lapsed in a month: the offer became void (résolu de plein droit) that month;
- declined: the employer declined the offer (decided at once, before its deadline);
- acceptance rate: among the offers that were decided (accepted with their deadline
  passed, lapsed, or declined), the share accepted, i.e. accepted / (accepted + lapsed +
  declined). Offers withdrawn or replaced before their deadline count in none.
"""

from __future__ import annotations

from sqlalchemy import and_, case, extract, func, select
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from services.plans import views
from services.plans.models import Plan, PlanCandidate, PlanVersion

MAX_MONTHS = 36

SERIES = {"issued": PlanVersion.issued_on, "accepted": PlanVersion.received_on,
          "lapsed": PlanVersion.lapsed_on}  # fmt: skip


def _per_month(session: Session) -> list[dict]:
    counts: dict[tuple[int, int], dict[str, int]] = {}
    for key, column in SERIES.items():
        year, month = extract("year", column), extract("month", column)
        where = column.is_not(None)
        if key == "accepted":
            where = and_(where, PlanVersion.accepted_at.is_not(None))
        rows = session.execute(
            select(year, month, func.count()).where(where).group_by(year, month)
        ).all()
        for y, m, n in rows:
            counts.setdefault((int(y), int(m)), dict.fromkeys(SERIES, 0))[key] = int(n)
    if not counts:
        return []
    (y, m), last = min(counts), max(counts)
    months = []
    while (y, m) <= last:  # every month between the first and the last, zeros included
        months.append({"month": f"{y:04d}-{m:02d}", **counts.get((y, m), dict.fromkeys(SERIES, 0))})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months[-MAX_MONTHS:]


def _acceptance(session: Session) -> dict:
    now = clock.now()
    accepted, lapsed, declined = session.execute(
        select(
            func.count(
                case(
                    (
                        and_(
                            PlanVersion.accepted_at.is_not(None),
                            PlanVersion.acceptance_deadline <= now,
                        ),
                        1,
                    )  # fmt: skip
                )
            ),
            func.count(case((PlanVersion.lapsed_on.is_not(None), 1))),
            func.count(case((PlanVersion.declined_at.is_not(None), 1))),
        )
    ).one()
    decided = int(accepted) + int(lapsed) + int(declined)
    return {
        "accepted": int(accepted),
        "lapsed": int(lapsed),
        "declined": int(declined),
        "rate": round(int(accepted) * 100 / decided, 1) if decided else None,
    }


def _candidates_per_program(session: Session) -> list[dict]:
    rows = session.execute(
        select(
            Plan.program_code,
            Plan.program_title,
            func.count(PlanCandidate.id),
            func.count(case((PlanCandidate.abandoned_on.is_not(None), 1))),
            func.count(func.distinct(Plan.id)),
        )
        .join(PlanCandidate, PlanCandidate.plan_id == Plan.id)
        .where(Plan.accepted_version.is_not(None))
        .group_by(Plan.program_code, Plan.program_title)
        .order_by(func.count(PlanCandidate.id).desc(), Plan.program_code)
    ).all()
    return [
        {
            "program_code": code,
            "program_title": title,
            "candidates": int(n),
            "abandoned": int(abandoned),
            "plans": int(plans),
        }  # fmt: skip
        for code, title, n, abandoned, plans in rows
    ]


def network_figures(session: Session) -> dict:
    return {
        **views.network_figures(session),
        "per_month": _per_month(session),
        "acceptance": _acceptance(session),
        "candidates_per_program": _candidates_per_program(session),
    }
