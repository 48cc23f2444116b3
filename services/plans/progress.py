"""Following an accepted plan: each candidate-worker's step and competency results.

The institution records and reads progress by name. The employer reads aggregates only
(how many candidate-workers at each step, competencies recognised in total): a named
candidate's results are personal information (Loi 25) and never leave this module for an
employer, and its small counts are withheld (``rac_shared.privacy``: the platform's rule).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.plans import PROGRESS_STAGES, Result, Stage
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.events import PlanCandidateAbandoned, PlanMilestoneReached
from rac_shared.outbox import record_event
from rac_shared.privacy import suppress_small_cells
from rac_shared.settings import get_settings
from services.plans import access
from services.plans.lifecycle import claim_key, ratio
from services.plans.models import ACCEPTED, COMPLETED, CompetencyResult, Plan, PlanCandidate

STEP_INDEX = {step.value: i for i, step in enumerate(PROGRESS_STAGES)}
DONE_RESULTS = (Result.RECOGNISED.value, Result.MISSING_TRAINING.value)


def in_force_content(plan: Plan) -> dict | None:
    if plan.accepted_version is None:
        return None
    return plan.version(plan.accepted_version).content


def _candidate(plan: Plan, candidate_id: int) -> PlanCandidate:
    content = in_force_content(plan)
    ids = {c["id"] for c in (content or {}).get("candidates", [])}
    for candidate in plan.candidates:
        if candidate.id == candidate_id and candidate.id in ids:
            return candidate
    raise not_found("Ce candidat-travailleur ne fait pas partie du plan en vigueur.")


def _recording(session: Session, actor: Actor, plan_id: int) -> Plan:
    plan = access.load_for_institution(session, actor, plan_id, for_update=True)
    if plan.status != ACCEPTED:
        raise conflict("Le suivi se fait sur un plan accepté et en cours.")
    return plan


def set_step(session: Session, actor: Actor, plan_id: int, candidate_id: int, step: str):
    plan = _recording(session, actor, plan_id)
    candidate = _candidate(plan, candidate_id)
    if candidate.step == Stage.ABANDONED:
        raise conflict("Ce candidat-travailleur a abandonné la démarche.")
    candidate.step = Stage(step).value
    candidate.updated_at = clock.now()
    session.flush()
    _milestones(session, plan)
    return plan


def set_result(
    session: Session, actor: Actor, plan_id: int, candidate_id: int, code: str, result: str
):
    plan = _recording(session, actor, plan_id)
    candidate = _candidate(plan, candidate_id)
    codes = {c["code"] for c in in_force_content(plan)["competencies"]}
    if code not in codes:
        raise invalid(
            "Cette compétence ne fait pas partie du plan.", {"competency_code": "Inconnue."}
        )
    result = Result(result).value
    row = next((r for r in candidate.results if r.competency_code == code), None)
    if row is None:
        row = CompetencyResult(competency_code=code, result=result, updated_at=clock.now())
        candidate.results.append(row)
    row.result = result
    row.updated_at = clock.now()
    session.flush()
    return plan


def abandon(session: Session, actor: Actor, plan_id: int, candidate_id: int, on: date):
    plan = _recording(session, actor, plan_id)
    candidate = _candidate(plan, candidate_id)
    if candidate.step == Stage.ABANDONED:
        raise conflict("Ce candidat-travailleur a déjà abandonné la démarche.")
    if on > clock.today():
        raise invalid("La date d'abandon ne peut être dans le futur.", {"abandoned_on": "Future."})
    after_interview = STEP_INDEX.get(candidate.step, 0) >= STEP_INDEX["validation_interview"]
    total = len(in_force_content(plan)["competencies"])
    done = sum(1 for r in candidate.results if r.result in DONE_RESULTS)
    candidate.step = Stage.ABANDONED.value
    candidate.abandoned_on = on
    candidate.updated_at = clock.now()
    record_event(
        session,
        PlanCandidateAbandoned(
            plan_id=plan.id,
            version=plan.accepted_version,
            institution_id=plan.institution_id,
            employer_id=plan.employer_id,
            candidate_id=candidate.id,
            abandoned_on=on,
            after_validation_interview=after_interview,
            work_done_ratio=ratio(done, total),
        ),
    )
    session.flush()
    _milestones(session, plan)
    return plan


def _milestones(session: Session, plan: Plan) -> None:
    """``plan.milestone_reached`` once per plan: the first candidate-worker at the welcome
    meeting; every remaining candidate-worker past their evaluations."""
    content = in_force_content(plan)
    ids = {c["id"] for c in content["candidates"]}
    active = [c for c in plan.candidates if c.id in ids and c.step != Stage.ABANDONED]
    reached = []
    if any(STEP_INDEX[c.step] >= STEP_INDEX["welcome_meeting"] for c in active):
        reached.append("welcome_meeting")
    if active and all(STEP_INDEX[c.step] > STEP_INDEX["evaluations"] for c in active):
        reached.append("end_of_evaluations")
    for milestone in reached:
        if claim_key(session, f"plan:{plan.id}:milestone:{milestone}"):
            record_event(
                session,
                PlanMilestoneReached(
                    plan_id=plan.id,
                    version=plan.accepted_version,
                    institution_id=plan.institution_id,
                    employer_id=plan.employer_id,
                    milestone=milestone,
                    reached_on=clock.today(),
                ),
            )


# -- views --------------------------------------------------------------------------------


def _aggregate(rows: list, competency_count: int, withhold: bool) -> dict:
    """Counts by step and by result; for whoever does not see the names (``withhold``),
    the small ones withheld (None), each partition on its own known total: the plan's
    candidate-workers for the steps, its competencies times them for the results."""
    threshold = get_settings().small_cell_threshold if withhold else 0
    steps = [sum(1 for _, c, _ in rows if c.step == step) for step in Stage]
    total = competency_count * len(rows)
    recognised = sum(1 for _, _, rs in rows for r in rs.values() if r == Result.RECOGNISED)
    missing = sum(1 for _, _, rs in rows for r in rs.values() if r == Result.MISSING_TRAINING)
    # The results not yet known are not shown, but are derivable: a cell of the partition.
    results = [recognised, missing, total - recognised - missing]
    if withhold:
        steps = suppress_small_cells(steps, threshold)
        results = suppress_small_cells(results, threshold)
    return {
        "candidate_count": len(rows),
        "steps": [
            {"step": step.value, "label": step.label, "count": count}
            for step, count in zip(Stage, steps, strict=True)
        ],
        "competencies_total": total,
        "competencies_recognised": results[0],
        "competencies_missing_training": results[1],
        "withheld_below": threshold if withhold else None,
    }


def progress_view(plan: Plan, actor: Actor) -> dict:
    """By name for the institution; aggregates only for the employer."""
    content = in_force_content(plan)
    if content is None:
        return {"available": False, "aggregate": None, "candidates": None}
    competencies = content["competencies"]
    by_id = {c.id: c for c in plan.candidates}
    rows = []
    for item in content["candidates"]:
        candidate = by_id.get(item["id"])
        if candidate is None:
            continue
        results = {r.competency_code: r.result for r in candidate.results}
        rows.append((item, candidate, results))
    aggregate = _aggregate(rows, len(competencies), withhold=not actor.is_institution)
    if not actor.is_institution:
        return {"available": True, "aggregate": aggregate, "candidates": None}
    return {
        "available": True,
        "aggregate": aggregate,
        "candidates": [
            {
                "id": candidate.id,
                "full_name": item["full_name"],
                "job_title": item["job_title"],
                "step": candidate.step,
                "step_label": Stage.label_of(candidate.step),
                "abandoned_on": candidate.abandoned_on,
                "results": [
                    {
                        "code": c["code"],
                        "statement": c["statement"],
                        "result": results.get(c["code"]),
                        "label": Result.label_of(results.get(c["code"]), "—"),
                    }
                    for c in competencies
                ],
            }
            for item, candidate, results in rows
        ],
        "editable": plan.status == ACCEPTED,
        "completed": plan.status == COMPLETED,
    }
