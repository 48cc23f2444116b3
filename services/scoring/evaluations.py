"""Evaluators' scores (drafts, submission, reopening by the admin), consolidation once every
assigned evaluation is in, and the committee's consensus scores.

Plain functions over a SQLAlchemy session; the arithmetic is in ``grading``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.events import EvaluationSubmitted
from rac_shared.outbox import record_event
from services.scoring import access, grading
from services.scoring.conflicts import in_conflict
from services.scoring.models import (
    DRAFT,
    EVAL_CONSOLIDATED,
    EVAL_OPEN,
    SUBMITTED,
    Assignment,
    Consensus,
    CriterionResult,
    Evaluation,
    Score,
)
from services.scoring.records import (
    ensure_undecided,
    grid_of,
    key_of,
    load_evaluation,
    log,
    unconsolidate,
)

NOT_ASSIGNED = "Cette demande ne vous est pas confiée : vous ne pouvez ni la consulter ni la noter."


def my_assignment(session: Session, actor: Actor, evaluation_id: int) -> Assignment:
    """The actor's own assignment on an evaluation; "not found" when the application is not
    assigned to them or they are in conflict with its institution."""
    access.ensure_evaluator(actor)
    assignment = session.scalar(
        select(Assignment).where(
            Assignment.evaluation_id == evaluation_id,
            Assignment.evaluator_user_id == actor.user_id,
        )
    )
    if assignment is None:
        raise not_found(NOT_ASSIGNED)
    evaluation = assignment.evaluation
    if in_conflict(session, evaluation.committee_id, actor.user_id, key_of(evaluation)):
        raise not_found(NOT_ASSIGNED)
    return assignment


def ensure_may_read_application(session: Session, actor: Actor, application_id: int) -> None:
    """Evaluators read an application only through an assignment free of conflict."""
    evaluation = session.scalar(
        select(Evaluation).where(Evaluation.application_id == application_id)
    )
    if evaluation is None:
        raise not_found(NOT_ASSIGNED)
    my_assignment(session, actor, evaluation.id)


def save_scores(
    session: Session,
    actor: Actor,
    evaluation_id: int,
    entries: Mapping[int, tuple[object, str]],
    submit: bool,
) -> Assignment:
    """Save the actor's scores as a draft, or submit them (every criterion scored with a
    comment). A submitted evaluation is locked until the admin reopens it."""
    my_assignment(session, actor, evaluation_id)  # not found before anything else
    evaluation = load_evaluation(session, evaluation_id, for_update=True)
    assignment = next(a for a in evaluation.assignments if a.evaluator_user_id == actor.user_id)
    ensure_undecided(evaluation)
    if assignment.status == SUBMITTED:
        raise conflict(
            "Votre évaluation de cette demande est soumise : elle est verrouillée. Seule "
            "l'administration du Ministère peut la rouvrir."
        )
    grid = grid_of(evaluation.committee)
    saved = {s.criterion_id: s for s in assignment.scores}
    merged: dict[int, tuple[object, str]] = {cid: (s.score, s.comment) for cid, s in saved.items()}
    merged.update({int(k): v for k, v in entries.items()})
    parsed = grading.check_scores(grid, merged, complete=submit)
    for criterion_id, (value, comment) in parsed.items():
        row = saved.get(criterion_id)
        if row is None and value is None and not comment:
            continue  # nothing typed for this criterion yet
        if row is None:
            row = Score(criterion_id=criterion_id, score=None, comment="")
            assignment.scores.append(row)
        row.score = value
        row.comment = comment
    now = clock.now()
    assignment.saved_at = now
    if not submit:
        assignment.status = DRAFT
        return assignment
    assignment.status = SUBMITTED
    assignment.submitted_at = now
    log(
        session,
        evaluation.committee_id,
        evaluation.id,
        "submitted",
        f"Évaluation soumise par {assignment.evaluator_name}.",
        actor,
    )
    session.flush()
    submitted = sum(1 for a in evaluation.assignments if a.status == SUBMITTED)
    record_event(
        session,
        EvaluationSubmitted(
            evaluation_id=evaluation.id,
            call_id=evaluation.call_id,
            evaluator_user_id=actor.user_id,
            submitted_at=now,
            submitted_count=submitted,
            assigned_count=len(evaluation.assignments),
        ),
    )
    consolidate_if_complete(session, evaluation)
    return assignment


def reopen(
    session: Session, actor: Actor, evaluation_id: int, evaluator_user_id: int, reason: str
) -> Assignment:
    """The admin reopens an evaluator's submitted evaluation (logged with the reason)."""
    access.ensure_admin(actor)
    evaluation = load_evaluation(session, evaluation_id, for_update=True)
    ensure_undecided(evaluation)
    assignment = next(
        (a for a in evaluation.assignments if a.evaluator_user_id == evaluator_user_id), None
    )
    if assignment is None:
        raise not_found("Cette personne n'évalue pas cette demande.")
    if assignment.status != SUBMITTED:
        raise conflict(f"L'évaluation de {assignment.evaluator_name} n'est pas soumise.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise invalid(
            "Indiquez pourquoi l'évaluation est rouverte (10 caractères au moins).",
            {"reason": "Motif obligatoire."},
        )
    assignment.status = DRAFT
    assignment.submitted_at = None
    assignment.reopened_count += 1
    unconsolidate(session, evaluation, "Évaluation rouverte : consolidation annulée.", actor)
    log(
        session,
        evaluation.committee_id,
        evaluation.id,
        "reopened",
        f"Évaluation de {assignment.evaluator_name} rouverte : {reason[:2000]}",
        actor,
    )
    return assignment


# -- consolidation -------------------------------------------------------------------------


def compute(evaluation: Evaluation) -> grading.Consolidation:
    committee = evaluation.committee
    sheets = [
        {s.criterion_id: s.score for s in a.scores}
        for a in sorted(evaluation.assignments, key=lambda a: a.id)
    ]
    return grading.consolidate(
        grid_of(committee),
        sheets,
        {c.criterion_id: c.score for c in evaluation.consensus},
        committee.overall_threshold,
        committee.spread_gap_percent,
    )


def _write(evaluation: Evaluation, result: grading.Consolidation) -> None:
    rows = {r.criterion_id: r for r in evaluation.results}
    for outcome in result.criteria:
        row = rows.get(outcome.criterion.id)
        if row is None:
            row = CriterionResult(criterion_id=outcome.criterion.id)
            evaluation.results.append(row)
        row.mean = outcome.mean
        row.consensus = outcome.consensus
        row.score = outcome.score
        row.met = outcome.met
        row.spread = outcome.spread
        row.flagged = outcome.flagged
    evaluation.total = result.total
    evaluation.pertinence_total = result.pertinence_total
    evaluation.overall_threshold = result.overall_threshold
    evaluation.meets_every_criterion = result.meets_every_criterion
    evaluation.qualified = result.qualified
    evaluation.flagged = result.flagged


def ready(evaluation: Evaluation) -> bool:
    assignments = evaluation.assignments
    return len(assignments) >= evaluation.committee.min_evaluators and all(
        a.status == SUBMITTED for a in assignments
    )


def consolidate_if_complete(session: Session, evaluation: Evaluation) -> bool:
    """Consolidate once every assigned evaluation is in (and at least the committee's
    minimum of evaluators): the consolidated scores, the total, the thresholds, the flags."""
    if evaluation.status != EVAL_OPEN or not ready(evaluation):
        return False
    result = compute(evaluation)
    _write(evaluation, result)
    evaluation.status = EVAL_CONSOLIDATED
    evaluation.consolidated_at = clock.now()
    verdict = "tous les seuils sont atteints" if result.qualified else "seuil non atteint"
    log(
        session,
        evaluation.committee_id,
        evaluation.id,
        "consolidated",
        f"Évaluations consolidées ({len(evaluation.assignments)} évaluateurs) : total "
        f"{grading.points(result.total)} sur 100, {verdict}"
        + (", écart à discuter." if result.flagged else "."),
    )
    return True


def reconsolidate(session: Session, evaluation: Evaluation) -> None:
    """Recompute a consolidated evaluation (new consensus or committee parameters)."""
    if evaluation.status == EVAL_CONSOLIDATED:
        _write(evaluation, compute(evaluation))


def record_consensus(
    session: Session,
    actor: Actor,
    evaluation_id: int,
    criterion_id: int,
    raw_score: object,
    justification: str,
) -> Consensus:
    access.ensure_admin(actor)
    evaluation = load_evaluation(session, evaluation_id, for_update=True)
    ensure_undecided(evaluation)
    if evaluation.status != EVAL_CONSOLIDATED:
        raise conflict(
            "Une note de consensus se consigne une fois toutes les évaluations soumises et "
            "consolidées."
        )
    criterion = next((c for c in grid_of(evaluation.committee) if c.id == criterion_id), None)
    if criterion is None:
        raise not_found("Ce critère ne fait pas partie de la grille de l'appel.")
    value = grading.check_consensus(criterion, raw_score, justification)
    row = next((c for c in evaluation.consensus if c.criterion_id == criterion_id), None)
    if row is None:
        row = Consensus(criterion_id=criterion_id)
        evaluation.consensus.append(row)
    row.score = value
    row.justification = justification.strip()[:4000]
    row.by_user_id = actor.user_id
    row.by_name = actor.full_name
    row.at = clock.now()
    reconsolidate(session, evaluation)
    log(
        session,
        evaluation.committee_id,
        evaluation.id,
        "consensus",
        f"Note de consensus de {grading.points(value)} sur {criterion.weight} pour « "
        f"{criterion.label} » : {row.justification}",
        actor,
    )
    return row
