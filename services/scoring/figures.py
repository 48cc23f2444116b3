"""The ministry's network figures kept by the scoring service: designated CERACs per
education order (at most three per order, seed 000). Counted by the database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.scoring.grading import MAX_PER_ORDER
from services.scoring.models import Cerac

ORDERS = {"secondaire": "Ordre secondaire", "collégial": "Ordre collégial"}


def network_figures(session: Session) -> dict:
    counts = dict(
        session.execute(
            select(Cerac.education_order, func.count()).group_by(Cerac.education_order)
        ).all()
    )
    orders = [
        {"education_order": key, "label": label, "count": int(counts.pop(key, 0))}
        for key, label in ORDERS.items()
    ]
    orders += [  # an order the platform does not know yet still shows
        {"education_order": key, "label": f"Ordre {key}", "count": int(n)}
        for key, n in sorted(counts.items())
    ]
    return {
        "ceracs_per_order": orders,
        "max_per_order": MAX_PER_ORDER,
        "total": sum(o["count"] for o in orders),
    }
