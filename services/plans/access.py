"""Who may do what with a plan (enforced here, mirrored by the gateway's routes).

- Institution users (cégep, school service centre): their own institution's plans only;
  they build, issue, revise, amend, cancel, record a paper acceptance and follow progress.
  Another institution's plan is « not found ».
- The employer's representative: the plans addressed to their organisation once issued
  (never a draft); reads them, downloads the PDF, accepts online, may cancel; sees only
  aggregate progress, never a named candidate-worker's results.
- The ministry: network figures only (counts, acceptance rate), never a plan's content.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.errors import forbidden, not_found
from services.plans.models import Plan

NOT_FOUND = "Plan de mise en œuvre introuvable."


def load(session: Session, actor: Actor, plan_id: int, for_update: bool = False) -> Plan:
    """The plan if ``actor`` may read it; another tenant's plan is not found."""
    if actor.is_ministry:
        raise forbidden(
            "Le Ministère consulte les indicateurs du réseau, jamais le contenu des plans."
        )
    query = select(Plan).where(Plan.id == plan_id)
    if for_update:
        query = query.with_for_update()
    plan = session.scalar(query)
    if plan is None:
        raise not_found(NOT_FOUND)
    if actor.is_institution and plan.institution_id == actor.organisation_id:
        return plan
    if actor.is_employer and plan.employer_id == actor.organisation_id and plan.ever_issued:
        return plan
    raise not_found(NOT_FOUND)


def load_for_institution(
    session: Session, actor: Actor, plan_id: int, for_update: bool = False
) -> Plan:
    plan = load(session, actor, plan_id, for_update)
    if not actor.is_institution:
        raise forbidden("Seul l'établissement qui a préparé le plan peut faire cette opération.")
    return plan


def load_for_employer(session: Session, actor: Actor, plan_id: int, for_update: bool = False):
    plan = load(session, actor, plan_id, for_update)
    if not actor.is_employer:
        raise forbidden("Seule l'organisation destinataire du plan peut faire cette opération.")
    return plan


def ensure_institution(actor: Actor) -> None:
    if not actor.is_institution:
        raise forbidden(
            "Seul un établissement d'enseignement (cégep ou centre de services scolaire) peut "
            "préparer un plan de mise en œuvre."
        )


def party_of(actor: Actor) -> str:
    return "institution" if actor.is_institution else "employer"
