"""The scoring service's records as every module loads them: a committee, an evaluation,
a member, the grid's snapshot, how an institution is keyed, and the committee's log.

Plain functions over a SQLAlchemy session; the modules that change records
(``committees``, ``evaluations``, ``designation``) all build on these, and import nothing
from one another through here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.errors import conflict, not_found
from services.scoring.grading import GridCriterion
from services.scoring.models import (
    EVAL_CONSOLIDATED,
    EVAL_DECIDED,
    EVAL_OPEN,
    SOURCE_ARCHIVE,
    Committee,
    Evaluation,
    LogEntry,
    Member,
)

# -- loading and logging -------------------------------------------------------------------


def grid_of(committee: Committee) -> list[GridCriterion]:
    return [
        GridCriterion(c.criterion_id, c.group, c.label, c.weight, c.threshold, c.position)
        for c in sorted(committee.criteria, key=lambda c: (c.position, c.id))
    ]


def org_key(organisation_id: int | None, name: str) -> str:
    """How a conflict names an institution: its directory id, or its name when the record
    was kept outside the platform."""
    return str(organisation_id) if organisation_id is not None else f"nom:{name}"


def key_of(evaluation: Evaluation) -> str:
    return org_key(evaluation.organisation_id, evaluation.organisation_name)


def log(
    session: Session,
    committee_id: int,
    evaluation_id: int | None,
    action: str,
    text: str,
    actor: Actor | None = None,
) -> None:
    session.add(
        LogEntry(
            committee_id=committee_id,
            evaluation_id=evaluation_id,
            action=action,
            text=text,
            by_user_id=actor.user_id if actor else None,
            by_name=actor.full_name if actor else "Plateforme",
            at=clock.now(),
        )
    )


def find_committee(session: Session, call_id: int, for_update: bool = False):
    query = select(Committee).where(Committee.call_id == call_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def load_committee(session: Session, call_id: int, for_update: bool = False) -> Committee:
    committee = find_committee(session, call_id, for_update)
    if committee is None:
        raise not_found(
            "Aucun comité d'évaluation pour cet appel : aucune demande n'y a encore été "
            "déclarée recevable."
        )
    return committee


def load_evaluation(session: Session, evaluation_id: int, for_update: bool = False) -> Evaluation:
    query = select(Evaluation).where(Evaluation.id == evaluation_id)
    if for_update:
        query = query.with_for_update()
    evaluation = session.scalar(query)
    if evaluation is None:
        raise not_found("Évaluation introuvable.")
    return evaluation


def member_of(committee: Committee, user_id: int) -> Member | None:
    return next((m for m in committee.members if m.user_id == user_id), None)


def unconsolidate(session: Session, evaluation: Evaluation, why: str, actor: Actor | None) -> None:
    """Back to « en cours »: the consolidated results no longer hold."""
    if evaluation.status != EVAL_CONSOLIDATED:
        return
    evaluation.results.clear()  # delete-orphan: the rows go
    session.flush()  # before any new result of the same criteria is inserted
    evaluation.status = EVAL_OPEN
    evaluation.consolidated_at = None
    evaluation.total = evaluation.pertinence_total = None
    evaluation.meets_every_criterion = evaluation.qualified = evaluation.flagged = None
    log(session, evaluation.committee_id, evaluation.id, "unconsolidated", why, actor)


def ensure_undecided(evaluation: Evaluation) -> None:
    if evaluation.status == EVAL_DECIDED:
        raise conflict(
            "La décision de la ou du ministre est consignée pour cette demande : son "
            "évaluation ne peut plus changer."
        )
    if evaluation.source == SOURCE_ARCHIVE:
        raise conflict("Ce dossier est conservé aux archives : il ne peut plus changer.")


def to_assign(committee: Committee) -> list[Evaluation]:
    """The evaluations a bulk assignment serves: neither decided nor kept in the archives."""
    return [
        e for e in committee.evaluations if e.status != EVAL_DECIDED and e.source != SOURCE_ARCHIVE
    ]
