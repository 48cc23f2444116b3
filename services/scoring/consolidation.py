"""Consolidation of an evaluation once every assigned evaluator's sheet is in: the
consolidated scores per criterion, the total, the thresholds and the spread flags (the
arithmetic is ``grading``'s), recomputed when the consensus or the committee's parameters
change. Below ``committees`` and ``evaluations``, which both call it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rac_shared.clock import clock
from services.scoring import grading
from services.scoring.grading import GridCriterion
from services.scoring.journal import log
from services.scoring.models import (
    EVAL_CONSOLIDATED,
    EVAL_OPEN,
    SUBMITTED,
    Committee,
    CriterionResult,
    Evaluation,
)


def grid_of(committee: Committee) -> list[GridCriterion]:
    return [
        GridCriterion(c.criterion_id, c.group, c.label, c.weight, c.threshold, c.position)
        for c in sorted(committee.criteria, key=lambda c: (c.position, c.id))
    ]


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
