"""The applications service's dates as calendar events (``rac_shared.contracts.calendar``):
each open call's deposit deadline (the end of its day, America/Montreal, the moment the
deadline rule compares a submission with) and the CERACs' reports still to submit (a draft,
or one sent back for changes).

Institutions and the ministry see the open calls; a CERAC's staff its own reports still to
submit or to correct, the ministry's analysts and administrators every report awaited. A
call asked for by id is that call alone, as its page shows it (a draft to the ministry only).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import end_of_day
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery
from rac_shared.formatting import long_datetime
from rac_shared.french import named
from services.applications import calls
from services.applications.models import (
    CALL_PUBLISHED,
    REPORT_CHANGES_REQUESTED,
    REPORT_DRAFT,
    REPORT_YEARLY,
    Call,
    CeracRecord,
    CeracReport,
)
from services.applications.reporting import STAFF_ROLES

UID_DOMAIN = "demandes.rac.quebec"


def calendar_events(session: Session, actor: Actor, query: CalendarQuery) -> list[CalendarEvent]:
    if query.call_id is not None:
        return [deadline_event(calls.get_call(session, actor, query.call_id))]
    if query.plan_id is not None or not (actor.is_ministry or actor.is_institution):
        return []
    events = [
        deadline_event(call)
        for call in session.scalars(select(Call).where(Call.status == CALL_PUBLISHED))
    ]
    return events + _reports_due(session, actor)


def deadline_event(call: Call) -> CalendarEvent:
    deadline = end_of_day(call.deadline_date)
    return CalendarEvent(
        uid=f"appel-{call.id}-depot@{UID_DOMAIN}",
        title=f"Date limite de dépôt des demandes : {call.title}",
        start=call.deadline_date,
        at=deadline,
        description=(
            "Les demandes de reconnaissance à titre de CERAC doivent être déposées au plus "
            f"tard le {long_datetime(deadline)} (heure du Québec)."
        ),
        path=f"/appels/{call.id}",
    )


def _reports_due(session: Session, actor: Actor) -> list[CalendarEvent]:
    if actor.role not in STAFF_ROLES and not actor.is_institution:
        return []
    query = (
        select(CeracReport)
        .join(CeracRecord, CeracRecord.id == CeracReport.cerac_id)
        .where(CeracReport.status.in_((REPORT_DRAFT, REPORT_CHANGES_REQUESTED)))
        .order_by(CeracReport.due_date, CeracReport.id)
    )
    if actor.role not in STAFF_ROLES:
        query = query.where(CeracRecord.organisation_id == actor.organisation_id)
    events = []
    for report in session.scalars(query):
        what = (
            f"Rapport annuel {report.period_label}"
            if report.kind == REPORT_YEARLY
            else f"Rapport du mandat particulier « {report.period_label} »"
        )
        cerac = named(report.cerac.organisation_name)
        events.append(
            CalendarEvent(
                uid=f"rapport-{report.id}@{UID_DOMAIN}",
                title=f"{what} {cerac.du} à déposer",
                start=report.due_date,
                description=(f"{what} {cerac.du}, attendu au Ministère au plus tard à cette date."),
                path=f"/redditions/{report.id}",
            )
        )
    return events
