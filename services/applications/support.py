"""Support requests: any institution asks a CERAC for support (object, program, message)
and the CERAC answers. A CERAC has no territory and no sector: every institution may write
to every CERAC, except to itself. The counts go into the CERAC's yearly report (indicators
of the "increase the offer" part, see ``reporting.refresh_prefilled``).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.network import SupportStatus
from rac_shared.errors import conflict, forbidden, invalid, not_found
from rac_shared.events import CeracSupportAnswered, CeracSupportRequested
from rac_shared.outbox import record_event
from services.applications import ceracs
from services.applications.models import (
    SUPPORT_ANSWERED,
    SUPPORT_OPEN,
    CeracRecord,
    SupportRequest,
)

STATUS_LABELS = SupportStatus.labels()


def request_support(
    session: Session, actor: Actor, cerac_id: int, data, requester_name: str
) -> SupportRequest:
    """``data``: ``SupportRequestIn``. ``requester_name`` comes from the directory."""
    if not actor.is_institution:
        raise forbidden("Seul un établissement d'enseignement peut demander l'appui d'un CERAC.")
    cerac = ceracs.get(session, actor, cerac_id)
    if cerac.organisation_id == actor.organisation_id:
        raise invalid("Un CERAC ne peut pas se demander un appui à lui-même.")
    request = SupportRequest(
        cerac_id=cerac.id,
        requester_organisation_id=actor.organisation_id,
        requester_organisation_name=requester_name,
        requested_by_user_id=actor.user_id,
        requested_by_name=actor.full_name,
        object=data.object,
        program=data.program,
        message=data.message,
        status=SUPPORT_OPEN,
        created_at=clock.now(),
    )
    session.add(request)
    session.flush()
    if cerac.organisation_id is not None:
        record_event(
            session,
            CeracSupportRequested(
                request_id=request.id,
                cerac_id=cerac.id,
                cerac_organisation_id=cerac.organisation_id,
                cerac_organisation_name=cerac.organisation_name,
                requester_organisation_id=actor.organisation_id,
                requester_organisation_name=requester_name,
                object=request.object,
                program=request.program,
                requested_by_user_id=actor.user_id,
            ),
        )
    return request


def incoming(session: Session, actor: Actor, request_id: int) -> SupportRequest:
    """A request addressed to the actor's CERAC; anything else is "not found"."""
    request = session.get(SupportRequest, int(request_id))
    if (
        request is None
        or not actor.is_institution
        or request.cerac.organisation_id != actor.organisation_id
    ):
        raise not_found("Demande d'appui introuvable.")
    return request


def answer(session: Session, actor: Actor, request_id: int, data) -> SupportRequest:
    """The CERAC's users answer a request addressed to their CERAC (once)."""
    request = incoming(session, actor, request_id)
    if request.status == SUPPORT_ANSWERED:
        raise conflict("Cette demande d'appui a déjà reçu une réponse.")
    request.answer = data.answer
    request.status = SUPPORT_ANSWERED
    request.answered_at = clock.now()
    request.answered_by_user_id = actor.user_id
    request.answered_by_name = actor.full_name
    session.flush()
    record_event(
        session,
        CeracSupportAnswered(
            request_id=request.id,
            cerac_id=request.cerac_id,
            cerac_organisation_id=request.cerac.organisation_id,
            cerac_organisation_name=request.cerac.organisation_name,
            requester_organisation_id=request.requester_organisation_id,
            requester_organisation_name=request.requester_organisation_name,
            object=request.object,
            answered_by_user_id=actor.user_id,
            requested_by_user_id=request.requested_by_user_id,
        ),
    )
    return request


def requests_of(session: Session, actor: Actor) -> dict:
    """The institution's sent requests and, for a CERAC, the requests it received."""
    if not actor.is_institution:
        raise forbidden("Les demandes d'appui sont celles des établissements d'enseignement.")
    mine = select(CeracRecord.id).where(CeracRecord.organisation_id == actor.organisation_id)
    rows = session.scalars(
        select(SupportRequest)
        .where(
            or_(
                SupportRequest.requester_organisation_id == actor.organisation_id,
                SupportRequest.cerac_id.in_(mine),
            )
        )
        .order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())
    ).all()
    received = [r for r in rows if r.cerac.organisation_id == actor.organisation_id]
    sent = [r for r in rows if r.requester_organisation_id == actor.organisation_id]
    return {
        "is_cerac": bool(ceracs.ceracs_of_organisation(session, actor.organisation_id)),
        "received": [request_view(r) for r in received],
        "sent": [request_view(r) for r in sent],
    }


def request_view(request: SupportRequest) -> dict:
    return {
        "id": request.id,
        "cerac_id": request.cerac_id,
        "cerac_name": request.cerac.organisation_name,
        "requester_organisation_id": request.requester_organisation_id,
        "requester_name": request.requester_organisation_name,
        "requested_by": request.requested_by_name,
        "object": request.object,
        "program": request.program,
        "message": request.message,
        "status": request.status,
        "status_label": STATUS_LABELS[request.status],
        "created_at": request.created_at.isoformat(),
        "answer": request.answer,
        "answered_at": request.answered_at.isoformat() if request.answered_at else None,
        "answered_by": request.answered_by_name,
    }
