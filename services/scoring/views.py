"""Plain JSON-able views of the evaluation, shaped for the actor asking.

Numbers travel as strings (``"12.50"``) with a French display next to them (``"12,5"``).
Who sees what:

- an evaluator: their own assignments and scores, never another evaluator's;
- the admin and the analysts: every evaluation; each evaluator's scores and comments only
  once the application is consolidated (before, the progress only);
- an institution: its own applications « en évaluation » until the minister's decision,
  then the consolidated result and the letter, never an evaluator's identity or comment.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import ROLE_LABELS, Actor, Role
from rac_shared.clock import MONTREAL
from rac_shared.contracts.scoring import (
    AssignmentStatus,
    Decision,
    EducationOrder,
    EvaluationStatus,
)
from services.scoring import access, grading
from services.scoring import conflicts as conflict_rules
from services.scoring.conflicts import in_conflict, link_view, links_of
from services.scoring.designation import (
    MANDATE_PARTS,
    designated_in,
    latest_recommendations,
    ranking,
)
from services.scoring.evaluations import my_assignment
from services.scoring.models import (
    ASSIGNED,
    DESIGNATED,
    DRAFT,
    EVAL_CONSOLIDATED,
    EVAL_DECIDED,
    EVAL_OPEN,
    SOURCE_ARCHIVE,
    SUBMITTED,
    Assignment,
    Cerac,
    Committee,
    Conflict,
    Evaluation,
    LogEntry,
    Member,
)
from services.scoring.records import grid_of, key_of, load_committee, to_assign

STATUS_LABELS = EvaluationStatus.labels()
ASSIGNMENT_LABELS = AssignmentStatus.labels()
DECISION_LABELS = Decision.labels()
ORDERS = tuple(EducationOrder)


def num(value: Decimal | None) -> str | None:
    return None if value is None else str(grading.round_score(value))


def iso(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "hour"):
        if value.tzinfo is None:  # SQLite hands timestamps back naive; they are UTC
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value.astimezone(MONTREAL).isoformat()
    return value.isoformat()


def criterion_view(criterion: grading.GridCriterion) -> dict:
    return {
        "id": criterion.id,
        "group": criterion.group,
        "group_label": grading.GROUP_LABELS.get(criterion.group, criterion.group),
        "label": criterion.label,
        "weight": criterion.weight,
        "threshold": criterion.threshold,
    }


def _orders(committee: Committee) -> list[str]:
    present = set(committee.education_orders) | {e.education_order for e in committee.evaluations}
    return [o for o in ORDERS if o in present]


def effective_threshold(committee: Committee) -> Decimal:
    if committee.overall_threshold is not None:
        return committee.overall_threshold
    return grading.default_overall_threshold(grid_of(committee))


# -- evaluators ----------------------------------------------------------------------------


def _progress(assignment: Assignment, criteria_count: int) -> int:
    return sum(1 for s in assignment.scores if s.score is not None and s.comment)


def workspace(session: Session, actor: Actor) -> dict:
    """The evaluator's assigned applications with their progress, and the institutions
    whose applications their committees evaluate (to declare a conflict of interest)."""
    access.ensure_evaluator(actor)
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.evaluator_user_id == actor.user_id)
        .order_by(Assignment.id)
    ).all()
    rows = []
    for assignment in assignments:
        evaluation = assignment.evaluation
        if in_conflict(session, evaluation.committee_id, actor.user_id, key_of(evaluation)):
            continue
        count = len(evaluation.committee.criteria)
        rows.append(
            {
                "evaluation_id": evaluation.id,
                "call_id": evaluation.call_id,
                "call_title": evaluation.committee.call_title,
                "organisation_name": evaluation.organisation_name,
                "reference": evaluation.reference,
                "education_order": evaluation.education_order,
                "status": assignment.status,
                "status_label": ASSIGNMENT_LABELS[assignment.status],
                "scored": _progress(assignment, count),
                "criteria_count": count,
                "saved_at": iso(assignment.saved_at),
                "submitted_at": iso(assignment.submitted_at),
                "decided": evaluation.status == EVAL_DECIDED,
            }
        )
    # Work to do first (not submitted, on an evaluation still open), each group in order.
    rows.sort(key=lambda row: row["status"] == "submitted" or row["decided"])
    memberships = session.scalars(select(Member).where(Member.user_id == actor.user_id)).all()
    committees = []
    for membership in memberships:
        committee = membership.committee
        seen: dict[str, dict] = {}
        for evaluation in committee.evaluations:
            if evaluation.source == SOURCE_ARCHIVE or evaluation.status == EVAL_DECIDED:
                continue
            key = key_of(evaluation)
            seen.setdefault(
                key,
                {
                    "key": key,
                    "name": evaluation.organisation_name,
                    "conflict": in_conflict(session, committee.id, actor.user_id, key),
                },
            )
        committees.append(
            {
                "call_id": committee.call_id,
                "call_title": committee.call_title,
                "institutions": sorted(seen.values(), key=lambda i: i["name"].casefold()),
            }
        )
    conflicts = session.scalars(
        select(Conflict).where(Conflict.evaluator_user_id == actor.user_id).order_by(Conflict.id)
    ).all()
    links = [link_view(k) for k in links_of(session, [actor.user_id])]
    return {
        "assignments": rows,
        "progress": {
            "total": len(rows),
            "submitted": sum(1 for r in rows if r["status"] == SUBMITTED),
            "draft": sum(1 for r in rows if r["status"] == DRAFT),
            "todo": sum(1 for r in rows if r["status"] == ASSIGNED),
        },
        "committees": committees,
        "conflicts": [
            {
                "organisation_name": c.organisation_name,
                "reason": c.reason,
                "self_declared": c.self_declared,
                "at": iso(c.at),
            }
            for c in conflicts
        ],
        "links": links,
    }


def assignment_view(session: Session, actor: Actor, evaluation_id: int) -> dict:
    """The scoring form of one assigned application: the grid and the actor's own scores."""
    assignment = my_assignment(session, actor, evaluation_id)
    evaluation = assignment.evaluation
    committee = evaluation.committee
    mine = {s.criterion_id: s for s in assignment.scores}
    criteria = []
    for criterion in grid_of(committee):
        row = criterion_view(criterion)
        score = mine.get(criterion.id)
        row["score"] = num(score.score) if score and score.score is not None else None
        row["score_display"] = (
            grading.points(score.score) if score and score.score is not None else ""
        )
        row["comment"] = score.comment if score else ""
        criteria.append(row)
    locked = assignment.status == SUBMITTED or evaluation.status == EVAL_DECIDED
    return {
        "evaluation_id": evaluation.id,
        "application_id": evaluation.application_id,
        "content_available": evaluation.application_id is not None,
        "call_id": evaluation.call_id,
        "call_title": committee.call_title,
        "organisation_name": evaluation.organisation_name,
        "organisation_key": key_of(evaluation),
        "reference": evaluation.reference,
        "education_order": evaluation.education_order,
        "status": assignment.status,
        "status_label": ASSIGNMENT_LABELS[assignment.status],
        "locked": locked,
        "can_edit": not locked,
        "saved_at": iso(assignment.saved_at),
        "submitted_at": iso(assignment.submitted_at),
        "reopened_count": assignment.reopened_count,
        "criteria": criteria,
        "scored": _progress(assignment, len(criteria)),
        "total_entered": num(
            sum((s.score for s in assignment.scores if s.score is not None), Decimal(0))
        ),
    }


# -- the committee (admin and analysts) --------------------------------------------------------


def _cells(evaluation: Evaluation, grid, show_scores: bool) -> list[dict]:
    results = {r.criterion_id: r for r in evaluation.results}
    consensus = {c.criterion_id: c for c in evaluation.consensus}
    assignments = sorted(evaluation.assignments, key=lambda a: a.id)
    cells = []
    for criterion in grid:
        result = results.get(criterion.id)
        agreed = consensus.get(criterion.id)
        cell = {
            "criterion_id": criterion.id,
            "scores": None,
            "mean": num(result.mean) if result else None,
            "mean_display": grading.points(result.mean) if result else "—",
            "consensus": num(result.consensus) if result and result.consensus is not None else None,
            "consensus_justification": agreed.justification if agreed else None,
            "score": num(result.score) if result else None,
            "score_display": grading.points(result.score) if result else "—",
            "met": result.met if result else None,
            "spread": num(result.spread) if result else None,
            "flagged": result.flagged if result else None,
        }
        if show_scores:
            cell["scores"] = []
            for assignment in assignments:
                score = next((s for s in assignment.scores if s.criterion_id == criterion.id), None)
                cell["scores"].append(
                    {
                        "evaluator_user_id": assignment.evaluator_user_id,
                        "evaluator_name": assignment.evaluator_name,
                        "score": num(score.score) if score and score.score is not None else None,
                        "score_display": grading.points(score.score) if score else "—",
                        "comment": score.comment if score else "",
                    }
                )
        cells.append(cell)
    return cells


def _evaluation_row(
    evaluation: Evaluation, committee: Committee, grid, detected: dict[tuple[int, int], str]
) -> dict:
    visible = evaluation.status != EVAL_OPEN  # each evaluator's scores, once consolidated
    assigned_ids = {a.evaluator_user_id for a in evaluation.assignments}
    key = key_of(evaluation)
    assignable = [
        {"user_id": m.user_id, "full_name": m.full_name}
        for m in committee.members
        if m.user_id not in assigned_ids and (m.user_id, evaluation.id) not in detected
    ]
    submitted = sum(1 for a in evaluation.assignments if a.status == SUBMITTED)
    return {
        "id": evaluation.id,
        "application_id": evaluation.application_id,
        "source": evaluation.source,
        "organisation_name": evaluation.organisation_name,
        "organisation_key": key,
        "reference": evaluation.reference,
        "education_order": evaluation.education_order,
        "status": evaluation.status,
        "status_label": STATUS_LABELS[evaluation.status],
        "opened_at": iso(evaluation.opened_at),
        "assignments": [
            {
                "user_id": a.evaluator_user_id,
                "evaluator_name": a.evaluator_name,
                "status": a.status,
                "status_label": ASSIGNMENT_LABELS[a.status],
                "submitted_at": iso(a.submitted_at),
                "reopened_count": a.reopened_count,
            }
            for a in sorted(evaluation.assignments, key=lambda a: a.id)
        ],
        "assigned_count": len(evaluation.assignments),
        "submitted_count": submitted,
        "missing_evaluators": max(committee.min_evaluators - len(evaluation.assignments), 0),
        "assignable": assignable,
        "scores_visible": visible,
        "cells": _cells(evaluation, grid, visible),
        "total": num(evaluation.total),
        "total_display": grading.points(evaluation.total),
        "pertinence_total": num(evaluation.pertinence_total),
        "overall_threshold": num(evaluation.overall_threshold),
        "meets_every_criterion": evaluation.meets_every_criterion,
        "qualified": evaluation.qualified,
        "flagged": evaluation.flagged,
        "decision": evaluation.decision,
        "decision_label": DECISION_LABELS.get(evaluation.decision or ""),
        "decision_date": iso(evaluation.decision_date),
        "decided_by": evaluation.decided_by_name,
        "decision_justification": evaluation.decision_justification,
    }


def _ranking_view(committee: Committee) -> dict:
    by_id = {e.id: e for e in committee.evaluations}
    placed = ranking(committee)
    result = {}
    for order in _orders(committee):
        rows = []
        for place in placed.get(order, []):
            evaluation = by_id[place.key]
            rows.append(
                {
                    "evaluation_id": evaluation.id,
                    "organisation_name": evaluation.organisation_name,
                    "reference": evaluation.reference,
                    "rank": place.rank,
                    "total": num(evaluation.total),
                    "total_display": grading.points(evaluation.total),
                    "pertinence_total": num(evaluation.pertinence_total),
                    "pertinence_display": grading.points(evaluation.pertinence_total),
                    "tie": place.tie,
                    "broken_by_pertinence": place.broken_by_pertinence,
                    "proposed": place.proposed,
                    "tie_at_cut": place.tie_at_cut,
                    "decision": evaluation.decision,
                    "decision_label": DECISION_LABELS.get(evaluation.decision or ""),
                }
            )
        failed = [
            {
                "evaluation_id": e.id,
                "organisation_name": e.organisation_name,
                "reference": e.reference,
                "total_display": grading.points(e.total),
                "reasons": _failure_reasons(e),
                "decision": e.decision,
                "decision_label": DECISION_LABELS.get(e.decision or ""),
            }
            for e in committee.evaluations
            if e.education_order == order and e.status != EVAL_OPEN and not e.qualified
        ]
        pending = [
            {"evaluation_id": e.id, "organisation_name": e.organisation_name}
            for e in committee.evaluations
            if e.education_order == order and e.status == EVAL_OPEN
        ]
        designated = designated_in(committee, order)
        result[order] = {
            "ranked": rows,
            "not_qualified": failed,
            "pending": pending,
            "designated": [e.organisation_name for e in designated],
            "designated_count": len(designated),
            "remaining": max(grading.MAX_PER_ORDER - len(designated), 0),
        }
    return result


def _failure_reasons(evaluation: Evaluation) -> list[str]:
    reasons = []
    results = {r.criterion_id: r for r in evaluation.results}
    for criterion in grid_of(evaluation.committee):
        result = results.get(criterion.id)
        if result is not None and not result.met:
            reasons.append(
                f"« {criterion.label} » : {grading.points(result.score)} pour un seuil de "
                f"{criterion.threshold} sur {criterion.weight}"
            )
    if evaluation.total is not None and evaluation.total < (evaluation.overall_threshold or 0):
        reasons.append(
            f"Total de {grading.points(evaluation.total)} pour un seuil global de "
            f"{grading.points(evaluation.overall_threshold)} sur 100"
        )
    return reasons


def committee_view(session: Session, actor: Actor, call_id: int) -> dict:
    access.ensure_staff(actor)
    committee = load_committee(session, call_id)
    grid = grid_of(committee)
    recommendations = latest_recommendations(session, committee)
    by_id = {e.id: e for e in committee.evaluations}
    log_rows = session.scalars(
        select(LogEntry)
        .where(LogEntry.committee_id == committee.id)
        .order_by(LogEntry.id.desc())
        .limit(300)
    ).all()
    conflicts = session.scalars(
        select(Conflict).where(Conflict.committee_id == committee.id).order_by(Conflict.id)
    ).all()
    ceracs = session.scalars(
        select(Cerac).where(Cerac.call_id == committee.call_id).order_by(Cerac.id)
    ).all()
    detected = conflict_rules.detected(session, committee)
    return {
        "call_id": committee.call_id,
        "call_title": committee.call_title,
        "education_orders": _orders(committee),
        "experimentation_years": list(committee.experimentation_years),
        "parameters": {
            "min_evaluators": committee.min_evaluators,
            "spread_gap_percent": num(committee.spread_gap_percent),
            "spread_gap_display": grading.points(committee.spread_gap_percent),
            "overall_threshold": num(effective_threshold(committee)),
            "overall_threshold_display": grading.points(effective_threshold(committee)),
            "overall_threshold_is_default": committee.overall_threshold is None,
        },
        "criteria": [criterion_view(c) for c in grid],
        "grid_total": sum(c.weight for c in grid),
        "members": [
            {
                "user_id": m.user_id,
                "full_name": m.full_name,
                "role": m.role,
                "role_label": ROLE_LABELS.get(Role(m.role), m.role),
                "organisation_name": m.organisation_name,
            }
            for m in committee.members
        ],
        "detected_conflicts": detected_view(committee, detected),
        "links": [link_view(k) for k in links_of(session, [m.user_id for m in committee.members])],
        "conflicts": [
            {
                "evaluator_user_id": c.evaluator_user_id,
                "evaluator_name": c.evaluator_name,
                "organisation_name": c.organisation_name,
                "reason": c.reason,
                "self_declared": c.self_declared,
                "recorded_by": c.recorded_by_name,
                "at": iso(c.at),
            }
            for c in conflicts
        ],
        "institutions": sorted(
            {key_of(e): e.organisation_name for e in committee.evaluations}.items(),
            key=lambda item: item[1].casefold(),
        ),
        "evaluations": [
            _evaluation_row(e, committee, grid, detected) for e in committee.evaluations
        ],
        "ranking": _ranking_view(committee),
        "recommendations": {
            order: {
                "evaluation_ids": list(r.evaluation_ids),
                "names": [by_id[i].organisation_name for i in r.evaluation_ids if i in by_id],
                "comment": r.comment,
                "by": r.by_name,
                "at": iso(r.at),
            }
            for order, r in recommendations.items()
        },
        "ceracs": [
            {
                "id": c.id,
                "evaluation_id": c.evaluation_id,
                "organisation_name": c.organisation_name,
                "education_order": c.education_order,
                "mandate_parts": [MANDATE_PARTS[p] for p in c.mandate_parts],
                "experimentation_years": list(c.experimentation_years),
                "designated_on": iso(c.designated_on),
            }
            for c in ceracs
        ],
        "log": [
            {"action": e.action, "text": e.text, "by": e.by_name, "at": iso(e.at)} for e in log_rows
        ],
        "can_manage": access.is_admin(actor),
        "max_per_order": grading.MAX_PER_ORDER,
    }


def detected_view(committee: Committee, detected: dict[tuple[int, int], str]) -> list[dict]:
    """The conflicts detected on the committee, by application then member."""
    names = {m.user_id: m.full_name for m in committee.members}
    by_id = {e.id: e for e in committee.evaluations}
    return [
        {
            "evaluator_user_id": user_id,
            "evaluator_name": names[user_id],
            "evaluation_id": evaluation_id,
            "reference": by_id[evaluation_id].reference,
            "organisation_name": by_id[evaluation_id].organisation_name,
            "reason": reason,
        }
        for (user_id, evaluation_id), reason in sorted(
            detected.items(), key=lambda item: (item[0][1], names[item[0][0]].casefold())
        )
    ]


def proposal_view(committee: Committee, proposal, detected: dict[tuple[int, int], str]) -> dict:
    """The bulk assignment's preview: who would evaluate what, each member's load before and
    after, and what prevents it when it cannot be done."""
    members = {m.user_id: m for m in committee.members}
    by_id = {e.id: e for e in committee.evaluations}
    return {
        "call_id": committee.call_id,
        "call_title": committee.call_title,
        "per_application": proposal.per_application,
        "feasible": proposal.feasible,
        "problems": list(proposal.problems),
        "assignments": [
            {
                "evaluation_id": evaluation_id,
                "reference": by_id[evaluation_id].reference,
                "organisation_name": by_id[evaluation_id].organisation_name,
                "evaluator_user_id": user_id,
                "evaluator_name": members[user_id].full_name,
            }
            for evaluation_id, user_id in proposal.pairs
        ],
        "loads": [
            {
                "user_id": m.user_id,
                "full_name": m.full_name,
                "organisation_name": m.organisation_name,
                "before": proposal.loads_before.get(m.user_id, 0),
                "after": proposal.loads.get(m.user_id, 0),
            }
            for m in committee.members
        ],
        "conflicts": detected_view(committee, detected),
        "open_evaluations": len(to_assign(committee)),
        "fingerprint": proposal.fingerprint,
    }


def committees_list(session: Session, actor: Actor) -> list[dict]:
    access.ensure_staff(actor)
    rows = []
    for committee in session.scalars(select(Committee).order_by(Committee.id.desc())):
        evaluations = committee.evaluations
        rows.append(
            {
                "call_id": committee.call_id,
                "call_title": committee.call_title,
                "evaluations": len(evaluations),
                "open": sum(1 for e in evaluations if e.status == EVAL_OPEN),
                "consolidated": sum(1 for e in evaluations if e.status == EVAL_CONSOLIDATED),
                "decided": sum(1 for e in evaluations if e.status == EVAL_DECIDED),
                "designated": sum(1 for e in evaluations if e.decision == DESIGNATED),
                "members": len(committee.members),
            }
        )
    return rows


# -- institutions --------------------------------------------------------------------------------


def institution_results(session: Session, actor: Actor) -> list[dict]:
    """The actor's institution's evaluated applications: « en évaluation » until the
    minister's decision, then the result (no evaluator, no individual score)."""
    access.ensure_institution(actor)
    evaluations = session.scalars(
        select(Evaluation)
        .where(Evaluation.organisation_id == actor.organisation_id)
        .order_by(Evaluation.id)
    ).all()
    return [result_view(e) for e in evaluations]


def result_view(evaluation: Evaluation) -> dict:
    decided = evaluation.status == EVAL_DECIDED
    view = {
        "evaluation_id": evaluation.id,
        "application_id": evaluation.application_id,
        "call_id": evaluation.call_id,
        "call_title": evaluation.committee.call_title,
        "reference": evaluation.reference,
        "education_order": evaluation.education_order,
        "decided": decided,
        "status_label": "Décision rendue" if decided else "En évaluation",
        "decision": None,
        "decision_label": None,
        "decision_date": None,
        "total": None,
        "total_display": None,
        "overall_threshold": None,
        "overall_threshold_display": None,
        "qualified": None,
        "criteria": [],
        "experimentation_years": [],
        "letter_available": False,
    }
    if not decided:
        return view
    results = {r.criterion_id: r for r in evaluation.results}
    view.update(
        {
            "decision": evaluation.decision,
            "decision_label": DECISION_LABELS[evaluation.decision],
            "decision_date": iso(evaluation.decision_date),
            "total": num(evaluation.total),
            "total_display": grading.points(evaluation.total),
            "overall_threshold": num(evaluation.overall_threshold),
            "overall_threshold_display": grading.points(evaluation.overall_threshold),
            "qualified": evaluation.qualified,
            "criteria": [
                {
                    **criterion_view(c),
                    "score": num(results[c.id].score),
                    "score_display": grading.points(results[c.id].score),
                    "met": results[c.id].met,
                }
                for c in grid_of(evaluation.committee)
                if c.id in results
            ],
            "experimentation_years": list(evaluation.committee.experimentation_years),
            "letter_available": True,
        }
    )
    return view


# -- home page -----------------------------------------------------------------------------------


def home_summary(session: Session, actor: Actor) -> list[dict]:
    actions = []
    if actor.role in access.EVALUATOR_ROLES:
        pending = [
            a
            for a in session.scalars(
                select(Assignment).where(
                    Assignment.evaluator_user_id == actor.user_id,
                    Assignment.status != SUBMITTED,
                )
            )
            if a.evaluation.status != EVAL_DECIDED
        ]
        if pending:
            actions.append(
                {
                    "label": "Évaluer les demandes de reconnaissance qui vous sont confiées",
                    "url": "/evaluations",
                    "count": len(pending),
                    "urgent": False,
                }
            )
        elif session.scalar(
            select(Assignment.id).where(Assignment.evaluator_user_id == actor.user_id).limit(1)
        ):
            actions.append(
                {
                    "label": "Consulter vos évaluations de demandes de reconnaissance",
                    "url": "/evaluations",
                    "count": None,
                    "urgent": False,
                }
            )
    if actor.role in access.STAFF_ROLES:
        committees = session.scalars(select(Committee).order_by(Committee.id)).all()
        evaluations = [e for c in committees for e in c.evaluations]
        undecided = [e for e in evaluations if e.status == EVAL_CONSOLIDATED]

        def url_for(items, suffix=""):
            calls = {e.call_id for e in items}
            return f"/comites/{calls.pop()}{suffix}" if len(calls) == 1 else "/comites"

        if access.is_admin(actor):
            understaffed = [
                e
                for e in evaluations
                if e.status == EVAL_OPEN and len(e.assignments) < e.committee.min_evaluators
            ]
            if understaffed:
                actions.append(
                    {
                        "label": "Affecter des évaluateurs aux demandes recevables",
                        "url": url_for(understaffed),
                        "count": len(understaffed),
                        "urgent": False,
                    }
                )
            flagged = [e for e in undecided if e.flagged]
            if flagged:
                actions.append(
                    {
                        "label": "Discuter des écarts signalés entre évaluateurs",
                        "url": url_for(flagged),
                        "count": len(flagged),
                        "urgent": False,
                    }
                )
            if undecided:
                actions.append(
                    {
                        "label": "Consigner la décision de la ou du ministre sur les demandes "
                        "évaluées",
                        "url": url_for(undecided, "/designation"),
                        "count": len(undecided),
                        "urgent": False,
                    }
                )
        elif undecided:
            actions.append(
                {
                    "label": "Consulter les résultats consolidés du comité d'évaluation",
                    "url": url_for(undecided),
                    "count": len(undecided),
                    "urgent": False,
                }
            )
        if committees:
            actions.append(
                {
                    "label": "Consulter les comités d'évaluation des demandes de reconnaissance",
                    "url": "/comites",
                    "count": len(committees),
                    "urgent": False,
                }
            )
    if actor.is_institution:
        evaluations = session.scalars(
            select(Evaluation).where(Evaluation.organisation_id == actor.organisation_id)
        ).all()
        decided = [e for e in evaluations if e.status == EVAL_DECIDED]
        if decided:
            actions.append(
                {
                    "label": "Consulter le résultat de l'évaluation de votre demande de "
                    "reconnaissance",
                    "url": "/resultats",
                    "count": len(decided),
                    "urgent": False,
                }
            )
        elif evaluations:
            actions.append(
                {
                    "label": "Suivre votre demande de reconnaissance : en évaluation",
                    "url": "/resultats",
                    "count": None,
                    "urgent": False,
                }
            )
    return actions
