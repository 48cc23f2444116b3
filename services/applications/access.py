"""Who may do what in the applications area (enforced here, mirrored by the gateway routes).

- ministry_admin: manages calls (create, edit while draft, publish, close, amend); sees the
  table of applications and every application once deposited; records paper receipts and
  admissibility like an analyst.
- ministry_analyst: reads calls; sees the table, every deposited application and its
  attachments; records the paper copy's receipt; reviews admissibility rule by rule and
  decides.
- ministry_evaluator: reads calls (with their grid) and only the applications declared
  « recevable », which are the ones to evaluate; no table, no admissibility, no drafts.
- institution users (cégep, school service centre): read published calls; open, fill and
  submit their own institution's application; sign if their role allows it. Another
  institution's application or attachment is "not found".
- employers: nothing in this area (forbidden).

The ministry never sees an application's content while it is a draft that was never
deposited: the table lists it (status only), its detail stays the institution's.

``load`` applies these rules to one application (tenant scoping): every function that
reads or changes an application goes through it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, Role
from rac_shared.errors import forbidden, not_found
from services.applications.models import ADMISSIBLE, Application

STAFF_ROLES = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})


def ensure_in_area(actor: Actor) -> None:
    if not (actor.is_ministry or actor.is_institution):
        raise forbidden(
            "Les appels d'intérêt et les demandes de reconnaissance sont réservés au Ministère "
            "et aux établissements d'enseignement."
        )


def ensure_admin(actor: Actor) -> None:
    ensure_in_area(actor)
    if actor.role != Role.MINISTRY_ADMIN:
        raise forbidden("Seule l'administration du Ministère peut gérer les appels d'intérêt.")


def ensure_staff(actor: Actor) -> None:
    ensure_in_area(actor)
    if actor.role not in STAFF_ROLES:
        raise forbidden(
            "Cette opération est réservée aux analystes et à l'administration du Ministère."
        )


def ensure_institution(actor: Actor) -> None:
    ensure_in_area(actor)
    if not actor.is_institution:
        raise forbidden("Seul un établissement d'enseignement peut présenter une demande.")


def is_staff(actor: Actor) -> bool:
    return actor.role in STAFF_ROLES


# -- loading with tenant scoping ---------------------------------------------------------


def load(session: Session, actor: Actor, application_id: int, for_update: bool = False):
    """The application if ``actor`` may read it; another tenant's is "not found"."""
    ensure_in_area(actor)
    query = select(Application).where(Application.id == application_id)
    if for_update:
        query = query.with_for_update()
    application = session.scalar(query)
    if application is None or not can_read(actor, application):
        raise not_found("Demande introuvable.")
    return application


def can_read(actor: Actor, application: Application) -> bool:
    if actor.is_institution:
        return application.organisation_id == actor.organisation_id
    if is_staff(actor):
        return application.submitted_at is not None
    if actor.role == Role.MINISTRY_EVALUATOR:
        return application.admissibility == ADMISSIBLE
    return False


def application_of(session: Session, actor: Actor, call_id: int) -> Application | None:
    """The actor's institution's application on a call, if any."""
    if not actor.is_institution:
        return None
    return session.scalar(
        select(Application).where(
            Application.call_id == call_id, Application.organisation_id == actor.organisation_id
        )
    )
