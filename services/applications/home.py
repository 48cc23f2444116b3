"""The home page's part of the applications service: each actor's next actions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, Role
from rac_shared.clock import clock
from rac_shared.formatting import long_date
from services.applications import access
from services.applications.admissibility import signing_capacity
from services.applications.calls import concerns, deadline_passed
from services.applications.dossiers import attachments_of_kind, submission_problems
from services.applications.models import (
    APP_COMPLEMENTS,
    APP_DRAFT,
    APP_SUBMITTED,
    CALL_PUBLISHED,
    COMPLEMENT_ANSWERED,
    COMPLEMENT_PENDING,
    Application,
    Call,
    ComplementRequest,
)


def home_summary(session: Session, actor: Actor) -> list[dict]:
    """Next actions, then (last, never urgent) the way into the calls for interest."""
    if not (actor.is_ministry or actor.is_institution):
        return []
    actions = _next_actions(session, actor)
    label = (
        "Gérer les appels d'intérêt"
        if actor.role == Role.MINISTRY_ADMIN
        else "Consulter les appels d'intérêt"
    )
    actions.append({"label": label, "url": "/appels", "count": None, "urgent": False})
    return actions


def _next_actions(session: Session, actor: Actor) -> list[dict]:
    actions: list[dict] = []
    today = clock.today()
    if actor.is_institution:
        calls = session.scalars(select(Call).where(Call.status == CALL_PUBLISHED)).all()
        # Only the applications to the calls open now (an institution has one per call,
        # over all the years: never load them all for a home page).
        mine = {
            a.call_id: a
            for a in session.scalars(
                select(Application).where(
                    Application.organisation_id == actor.organisation_id,
                    Application.call_id.in_([c.id for c in calls]),
                )
            )
        }
        for call in calls:
            if deadline_passed(call) or not concerns(call, actor.organisation_kind.value):
                continue
            days_left = (call.deadline_date - today).days
            urgent = days_left <= 7
            application = mine.get(call.id)
            deadline = long_date(call.deadline_date)
            if application is None:
                actions.append(
                    {
                        "label": f"Présenter une demande de reconnaissance : {call.title} "
                        f"(date limite : {deadline})",
                        "url": f"/appels/{call.id}",
                        "count": None,
                        "urgent": urgent,
                    }
                )
            elif application.status == APP_DRAFT:
                try:
                    capacity = signing_capacity(
                        application.organisation_kind,
                        actor.role.value,
                        attachments_of_kind(application, "designation") > 0,
                    )
                except ValueError:
                    capacity = None
                signed = any(s.user_id == actor.user_id for s in application.signatures)
                if (
                    capacity
                    and not signed
                    and not submission_problems_without_signatures(application)
                ):
                    label = "Signer la demande de reconnaissance"
                else:
                    label = "Compléter et déposer la demande de reconnaissance"
                actions.append(
                    {
                        "label": f"{label} : {call.title} (date limite : {deadline})",
                        "url": f"/demandes/{application.id}",
                        "count": None,
                        "urgent": urgent,
                    }
                )
        for application, request in session.execute(
            select(Application, ComplementRequest)
            .join(ComplementRequest, ComplementRequest.application_id == Application.id)
            .where(
                Application.organisation_id == actor.organisation_id,
                Application.status == APP_COMPLEMENTS,
                ComplementRequest.status == COMPLEMENT_PENDING,
                ComplementRequest.due_date >= today,
            )
            .order_by(ComplementRequest.due_date)
        ):
            actions.append(
                {
                    "label": "Répondre à la demande de compléments du Ministère : "
                    f"{application.call.title} (au plus tard le {long_date(request.due_date)})",
                    "url": f"/demandes/{application.id}#complements",
                    "count": None,
                    "urgent": (request.due_date - today).days <= 7,
                }
            )
        return actions
    if actor.role == Role.MINISTRY_ADMIN:
        drafts = session.scalar(
            select(func.count()).select_from(Call).where(Call.status == "draft")
        )
        if drafts:
            actions.append(
                {
                    "label": "Appels d'intérêt en préparation à publier",
                    "url": "/appels",
                    "count": drafts,
                    "urgent": False,
                }
            )
    if access.is_staff(actor):
        for call in session.scalars(select(Call).where(Call.status != "draft")):
            submitted = (
                select(func.count())
                .select_from(Application)
                .where(Application.call_id == call.id, Application.status == APP_SUBMITTED)
            )
            no_paper = session.scalar(submitted.where(Application.paper_received_on.is_(None)))
            undecided = session.scalar(submitted.where(Application.admissibility.is_(None)))
            if no_paper:
                actions.append(
                    {
                        "label": f"Demandes déposées dont la copie papier n'est pas reçue : "
                        f"{call.title}",
                        "url": f"/appels/{call.id}/demandes?status=submitted",
                        "count": no_paper,
                        "urgent": False,
                    }
                )
            answered = session.scalar(
                select(func.count())
                .select_from(Application)
                .join(ComplementRequest, ComplementRequest.application_id == Application.id)
                .where(
                    Application.call_id == call.id,
                    Application.status == APP_COMPLEMENTS,
                    ComplementRequest.status == COMPLEMENT_ANSWERED,
                )
            )
            if answered:
                actions.append(
                    {
                        "label": "Réponses à des demandes de compléments, analyse à reprendre : "
                        f"{call.title}",
                        "url": f"/appels/{call.id}/demandes?status=complements",
                        "count": answered,
                        "urgent": True,
                    }
                )
            if undecided:
                actions.append(
                    {
                        "label": f"Demandes dont la recevabilité est à décider : {call.title}",
                        "url": f"/appels/{call.id}/demandes?admissibility=undecided",
                        "count": undecided,
                        "urgent": today > call.deadline_date,
                    }
                )
    return actions


def submission_problems_without_signatures(application: Application) -> dict:
    problems = submission_problems(application)
    problems.pop("signatures", None)
    return problems
