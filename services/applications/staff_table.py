"""The ministry's table of a call's applications: counts per status and decision, the
regions to filter by, and a page of its applications filtered and sorted in SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.contracts.applications import TableQuery, TableSort
from rac_shared.french import sort_key
from rac_shared.listing import Key, nulls_last, paginate
from services.applications import access
from services.applications.calls import get_call
from services.applications.dossiers import STATUS_LABELS
from services.applications.models import (
    ADMISSIBLE,
    APP_DRAFT,
    DEPOSITED,
    NOT_ADMISSIBLE,
    Application,
)

# -- the ministry's table ----------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _table_keys(sort: str) -> list[Key]:
    """The table's orders: empty values last in either direction, then the institution's
    name as a French reader sorts it, then the id."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    by_name = [Key(Application.organisation_sort, descending), Key(Application.id, descending)]
    if key == "organisation":
        return by_name
    if key == TableSort.TO_DECIDE:
        # Work to do first: deposited and not decided, then decided, drafts, withdrawn; the
        # oldest deposit first.
        rank = case(
            (and_(Application.status.in_(DEPOSITED), Application.admissibility.is_(None)), 0),
            (Application.status.in_(DEPOSITED), 1),
            (Application.status == APP_DRAFT, 2),
            else_=3,
        )
        return [
            Key(rank),
            *nulls_last(Application.submitted_at, EPOCH),
            Key(Application.organisation_sort),
            Key(Application.id),
        ]
    column, fill = {
        "region": (func.lower(Application.region), ""),
        "order": (Application.education_order, ""),
        "status": (Application.status, ""),
        "submitted_at": (Application.submitted_at, EPOCH),
        "reference": (Application.reference, ""),
    }[key]
    return [
        *nulls_last(column, fill, descending),
        Key(Application.organisation_sort),
        Key(Application.id),
    ]


def _filtered(call_id: int, query: TableQuery):
    base = select(Application).where(Application.call_id == call_id)
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
    return base


def applications_page(session: Session, actor: Actor, call_id: int, query: TableQuery) -> dict:
    """A page of a call's applications (``paginate``'s, its rows the applications), filtered
    and sorted in SQL: three statements (the call, the count, the page) whatever the page's
    size."""
    access.ensure_staff(actor)
    call = get_call(session, actor, call_id)
    return paginate(
        session,
        _filtered(call.id, query),
        query,
        name=f"applications:{call.id}",
        scope=actor.organisation_id,
        keys=_table_keys(query.sort),
    )


def table(session: Session, actor: Actor, call_id: int, query: TableQuery) -> dict:
    """The ministry's table of a call: counts per status and decision, the regions to
    filter by, and a page of its applications."""
    access.ensure_staff(actor)
    call = get_call(session, actor, call_id)
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
    regions = sorted(
        (
            r
            for r in session.scalars(
                select(Application.region).where(Application.call_id == call.id).distinct()
            )
            if r
        ),
        key=sort_key,
    )
    return {
        "call": call,
        "listing": applications_page(session, actor, call_id, query),
        "counts": counts,
        "total": sum(counts.values()),
        "decisions": decisions,
        "regions": regions,
    }
