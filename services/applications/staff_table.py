"""The ministry's table of a call's applications (counts, filters, French sort order) and
its CSV export."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import aware
from rac_shared.contracts.applications import TableQuery
from services.applications import access
from services.applications.calls import get_call
from services.applications.dossiers import STATUS_LABELS
from services.applications.models import ADMISSIBLE, DEPOSITED, NOT_ADMISSIBLE, Application
from services.applications.review import DECISION_LABELS

SORT_ATTRIBUTES = {
    "organisation": "organisation_name",
    "region": "region",
    "order": "education_order",
    "status": "status",
    "submitted_at": "submitted_at",
    "reference": "reference",
}


def key_attribute(key: str) -> str:
    return SORT_ATTRIBUTES[key]


def _french_key(text: str) -> str:
    """Accent- and case-insensitive order, as a French reader expects (Cégep < Centre)."""
    decomposed = unicodedata.normalize("NFD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _sort_value(value):
    if isinstance(value, str):
        return (_french_key(value), value)
    if isinstance(value, datetime):
        return aware(value)
    return value


def table(session: Session, actor: Actor, call_id: int, query: TableQuery) -> dict:
    access.ensure_staff(actor)
    call = get_call(session, actor, call_id)
    base = select(Application).where(Application.call_id == call.id)
    counts = {status: 0 for status in STATUS_LABELS}
    for status, count in session.execute(
        select(Application.status, func.count())
        .where(Application.call_id == call.id)
        .group_by(Application.status)
    ):
        counts[status] = count
    decisions = {ADMISSIBLE: 0, NOT_ADMISSIBLE: 0, "undecided": 0}
    for decision, count in session.execute(
        select(Application.admissibility, func.count())
        .where(Application.call_id == call.id, Application.status.in_(DEPOSITED))
        .group_by(Application.admissibility)
    ):
        decisions[decision or "undecided"] += count
    if query.order:
        base = base.where(Application.education_order == query.order)
    if query.status:
        base = base.where(Application.status == query.status)
    if query.region:
        base = base.where(Application.region == query.region)
    if query.admissibility == "undecided":
        base = base.where(Application.status.in_(DEPOSITED), Application.admissibility.is_(None))
    elif query.admissibility:
        base = base.where(Application.admissibility == query.admissibility)
    key = query.sort.lstrip("-")
    rows = sorted(
        session.scalars(base.order_by(Application.id)),
        key=lambda a: _french_key(a.organisation_name),
    )
    present = [a for a in rows if getattr(a, key_attribute(key)) is not None]
    missing = [a for a in rows if getattr(a, key_attribute(key)) is None]
    present.sort(
        key=lambda a: _sort_value(getattr(a, key_attribute(key))),
        reverse=query.sort.startswith("-"),
    )
    rows = present + missing
    regions = sorted(
        r
        for r in session.scalars(
            select(Application.region).where(Application.call_id == call.id).distinct()
        )
        if r
    )
    return {
        "call": call,
        "rows": rows,
        "counts": counts,
        "total": sum(counts.values()),
        "decisions": decisions,
        "regions": regions,
    }


CSV_HEADER = [
    "Référence",
    "Établissement",
    "Type",
    "Ordre d'enseignement",
    "Région",
    "Statut",
    "Déposée le",
    "Copie papier reçue le",
    "Copie papier en retard",
    "Recevabilité",
]


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text  # no formula injection in a spreadsheet
    return text


def table_csv(result: dict) -> str:
    """The table as CSV for Excel fr-CA: UTF-8 with BOM, semicolons."""
    from rac_shared.actor import KIND_LABELS, OrganisationKind

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for app in result["rows"]:
        writer.writerow(
            [
                _csv_cell(v)
                for v in (
                    app.reference or "",
                    app.organisation_name,
                    KIND_LABELS.get(OrganisationKind(app.organisation_kind), app.organisation_kind),
                    app.education_order or "",
                    app.region or "",
                    STATUS_LABELS[app.status],
                    aware(app.submitted_at).astimezone(_montreal()).strftime("%Y-%m-%d %H:%M")
                    if app.submitted_at
                    else "",
                    app.paper_received_on.isoformat() if app.paper_received_on else "",
                    ("oui" if app.paper_late else "non") if app.paper_received_on else "",
                    DECISION_LABELS.get(app.admissibility or "", "À décider")
                    if app.status in DEPOSITED
                    else "",
                )
            ]
        )
    return "\ufeff" + buffer.getvalue()


def _montreal():
    from rac_shared.clock import MONTREAL

    return MONTREAL
