"""The ministry's network figures kept by the applications service: applications per call
(published or closed calls, even without applications) and status. Counted by the
database (GROUP BY), never by loading the applications."""

from __future__ import annotations

import logging

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.applications.models import (
    ADMISSIBLE,
    APP_COMPLEMENTS,
    APP_DRAFT,
    APP_SUBMITTED,
    APP_WITHDRAWN,
    CALL_DRAFT,
    NOT_ADMISSIBLE,
    Application,
    Call,
)

# One status per application as the ministry follows it: the admissibility decision, once
# taken, replaces "déposée".
STATUSES = {
    APP_DRAFT: "En préparation",
    APP_SUBMITTED: "Déposée (recevabilité à décider)",
    APP_COMPLEMENTS: "Compléments demandés",
    ADMISSIBLE: "Recevable",
    NOT_ADMISSIBLE: "Non recevable",
    APP_WITHDRAWN: "Retirée",
}


log = logging.getLogger(__name__)


def network_figures(session: Session) -> dict:
    status = case(
        (
            (Application.status == APP_SUBMITTED) & Application.admissibility.is_not(None),
            Application.admissibility,
        ),
        else_=Application.status,
    ).label("status")
    rows = session.execute(
        select(Call.id, Call.title, status, func.count(Application.id))
        .outerjoin(Application, Application.call_id == Call.id)
        .where(Call.status != CALL_DRAFT)
        .group_by(Call.id, Call.title, status)
        .order_by(Call.id)
    ).all()
    calls: dict[int, dict] = {}
    for call_id, title, key, count in rows:
        call = calls.setdefault(
            call_id,
            {"call_id": call_id, "call_title": title, "counts": dict.fromkeys(STATUSES, 0)},
        )
        if key is not None:  # a published call without any application yet
            call["counts"][key] = call["counts"].get(key, 0) + int(count)
    per_call = []
    for call in calls.values():
        call["total"] = sum(call["counts"].values())
        per_call.append(call)
    return {
        "statuses": [{"key": k, "label": v} for k, v in STATUSES.items()],
        "applications_per_call": per_call,
        "total": sum(c["total"] for c in per_call),
    }
