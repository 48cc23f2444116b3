"""Evaluation committees: opening evaluations from the admissibility event, the committee's
parameters and members, conflicts of interest, and the assignment of evaluators.

Plain functions over a SQLAlchemy session (no nameko, no HTTP). Facts owned by other
services (the call's grid, the institution's education order) are passed in by the caller,
which fetched them by RPC.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.scoring import (
    EVALUATORS_MESSAGE,
    MAX_EVALUATORS,
    MIN_EVALUATORS,
    PER_APPLICATION_MESSAGE,
    SPREAD_MESSAGE,
    THRESHOLD_MESSAGE,
)
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.events import ApplicationAdmissibilityDecided, EvaluationOpened, EvaluatorAssigned
from rac_shared.french import named, plural
from rac_shared.outbox import record_event
from services.scoring import access, conflicts, evaluations, matching
from services.scoring.grading import DEFAULT_SPREAD_GAP_PERCENT
from services.scoring.models import (
    EVAL_CONSOLIDATED,
    EVAL_OPEN,
    Assignment,
    Committee,
    CommitteeCriterion,
    Conflict,
    CriterionResult,
    Evaluation,
    Member,
)
from services.scoring.records import (
    ensure_undecided,
    find_committee,
    key_of,
    load_committee,
    load_evaluation,
    log,
    member_of,
    to_assign,
    unconsolidate,
)

ORDER_OF_KIND = {"cegep": "collégial", "school_service_centre": "secondaire"}
MEMBER_ROLES = {r.value for r in access.EVALUATOR_ROLES}


# -- opening, from the admissibility event -------------------------------------------------


def _grid_rows(grid: dict) -> list[dict]:
    rows = list(grid.get("criteria") or [])
    if not rows:
        raise ValueError(f"the call {grid.get('call_id')} has no evaluation grid")
    return rows


def ensure_committee(session: Session, grid: dict) -> Committee:
    """The committee of the call, created with the grid's snapshot the first time."""
    existing = find_committee(session, int(grid["call_id"]))
    if existing is not None:
        return existing
    now = clock.now()
    committee = Committee(
        call_id=int(grid["call_id"]),
        call_title=grid["title"],
        education_orders=list(grid.get("education_orders") or []),
        experimentation_years=list(grid.get("experimentation_years") or []),
        min_evaluators=2,
        spread_gap_percent=DEFAULT_SPREAD_GAP_PERCENT,
        overall_threshold=None,
        created_at=now,
        updated_at=now,
        criteria=[
            CommitteeCriterion(
                criterion_id=int(row["id"]),
                group=row["group"],
                label=row["label"],
                weight=int(row["weight"]),
                threshold=int(row["threshold"]),
                position=position,
            )
            for position, row in enumerate(_grid_rows(grid), start=1)
        ],
    )
    try:
        with session.begin_nested():
            session.add(committee)
    except IntegrityError:  # another replica formed it at the same time
        return find_committee(session, int(grid["call_id"]))
    log(
        session,
        committee.id,
        None,
        "formed",
        "Comité d'évaluation formé avec la grille de "
        f"l'appel ({len(committee.criteria)} critères).",
    )
    return committee


def education_order_of(organisation: dict) -> str:
    order = organisation.get("education_order") or ORDER_OF_KIND.get(organisation.get("kind"))
    if order not in ORDER_OF_KIND.values():
        raise ValueError(f"organisation {organisation.get('id')} has no education order")
    return order


def open_evaluation(
    session: Session,
    payload: ApplicationAdmissibilityDecided,
    grid: dict | None,
    organisation: dict,
    event_id: str,
) -> Evaluation | None:
    """Open the evaluation of an admissible application (None if already open)."""
    if not payload.admissible:
        return None
    already = session.scalar(
        select(Evaluation).where(Evaluation.application_id == payload.application_id)
    )
    if already is not None:
        return None
    committee = find_committee(session, payload.call_id)
    if committee is None:
        if grid is None:
            raise ValueError(f"no grid for call {payload.call_id}")
        committee = ensure_committee(session, grid)
    now = clock.now()
    evaluation = Evaluation(
        committee_id=committee.id,
        call_id=payload.call_id,
        application_id=payload.application_id,
        organisation_id=payload.organisation_id,
        organisation_name=payload.organisation_name,
        reference=payload.reference,
        education_order=education_order_of(organisation),
        opened_at=now,
        opened_event_id=str(event_id),
        status=EVAL_OPEN,
    )
    session.add(evaluation)
    session.flush()
    log(
        session,
        committee.id,
        evaluation.id,
        "opened",
        f"Demande {payload.reference} déclarée recevable : évaluation ouverte.",
    )
    record_event(
        session,
        EvaluationOpened(
            evaluation_id=evaluation.id,
            application_id=payload.application_id,
            call_id=payload.call_id,
            organisation_id=payload.organisation_id,
            organisation_name=payload.organisation_name,
            reference=payload.reference,
            education_order=evaluation.education_order,
            opened_at=now,
        ),
    )
    return evaluation


# -- the committee: parameters and members ---------------------------------------------------


def set_parameters(
    session: Session,
    actor: Actor,
    call_id: int,
    min_evaluators: int,
    spread_gap_percent: Decimal,
    overall_threshold: Decimal | None,
) -> Committee:
    access.ensure_admin(actor)
    committee = load_committee(session, call_id, for_update=True)
    errors = {}
    if not MIN_EVALUATORS <= min_evaluators <= MAX_EVALUATORS:
        errors["min_evaluators"] = EVALUATORS_MESSAGE
    if not Decimal(0) < spread_gap_percent <= Decimal(100):
        errors["spread_gap_percent"] = SPREAD_MESSAGE
    if overall_threshold is not None and not Decimal(0) <= overall_threshold <= Decimal(100):
        errors["overall_threshold"] = THRESHOLD_MESSAGE
    if errors:
        raise invalid(next(iter(errors.values())), errors)
    if any(e.decision for e in committee.evaluations):
        raise conflict(
            "La ou le ministre a rendu des décisions sur les demandes de cet appel : les "
            "paramètres du comité ne peuvent plus changer."
        )
    before = (
        committee.min_evaluators,
        committee.spread_gap_percent,
        committee.overall_threshold,
    )
    committee.min_evaluators = min_evaluators
    committee.spread_gap_percent = spread_gap_percent
    committee.overall_threshold = overall_threshold
    committee.updated_at = clock.now()
    threshold = "somme des seuils" if overall_threshold is None else f"{overall_threshold} points"
    log(
        session,
        committee.id,
        None,
        "parameters",
        f"Paramètres : {min_evaluators} évaluateurs au moins par demande, écart toléré "
        f"{spread_gap_percent} % de la pondération, seuil global : {threshold} (avant : "
        f"{before[0]}, {before[1]} %, {before[2] or 'somme des seuils'}).",
        actor,
    )
    for evaluation in committee.evaluations:
        if evaluation.status == EVAL_CONSOLIDATED:
            evaluations.reconsolidate(session, evaluation)
    return committee


def add_member(session: Session, actor: Actor, call_id: int, user: dict) -> Member:
    """Seat an evaluator (of the ministry or of an institution of the network) or an analyst
    on the committee, with their organisation; ``user`` comes from the directory, by RPC."""
    access.ensure_admin(actor)
    committee = load_committee(session, call_id, for_update=True)
    if user.get("role") not in MEMBER_ROLES or not user.get("active", True):
        raise invalid(
            "Seules les évaluatrices et évaluateurs actifs (du Ministère ou d'un "
            "établissement du réseau) et les analystes du Ministère siègent au comité "
            "d'évaluation.",
            {"user_id": "Cette personne ne peut pas siéger au comité."},
        )
    if member_of(committee, int(user["id"])) is not None:
        raise conflict(f"{user['full_name']} fait déjà partie du comité d'évaluation.")
    member = Member(
        committee_id=committee.id,
        user_id=int(user["id"]),
        full_name=user["full_name"],
        email=user["email"],
        role=user["role"],
        organisation_id=user.get("organisation_id"),
        organisation_name=user.get("organisation_name"),
        added_at=clock.now(),
        added_by_user_id=actor.user_id,
    )
    committee.members.append(member)
    where = f" ({member.organisation_name})" if member.organisation_name else ""
    log(session, committee.id, None, "member", f"{member.full_name}{where} siège au comité.", actor)
    return member


def remove_member(session: Session, actor: Actor, call_id: int, user_id: int) -> None:
    access.ensure_admin(actor)
    committee = load_committee(session, call_id, for_update=True)
    member = member_of(committee, user_id)
    if member is None:
        raise not_found("Cette personne ne fait pas partie du comité.")
    assigned = session.scalar(
        select(Assignment.id)
        .join(Evaluation)
        .where(Evaluation.committee_id == committee.id, Assignment.evaluator_user_id == user_id)
    )
    if assigned is not None:
        raise conflict(
            f"{member.full_name} évalue des demandes de cet appel : retirez d'abord ses "
            "affectations."
        )
    committee.members.remove(member)  # delete-orphan: the row goes
    log(
        session, committee.id, None, "member", f"{member.full_name} ne siège plus au comité.", actor
    )


# -- conflicts of interest -------------------------------------------------------------------


def record_conflict(
    session: Session,
    actor: Actor,
    call_id: int,
    evaluator_user_id: int,
    organisation_key: str,
    reason: str,
) -> tuple[Conflict, int]:
    """Record a conflict between an evaluator and an institution: declared by the evaluator
    (``actor`` is the evaluator) or recorded by the admin. The evaluator's assignments on
    that institution's applications are withdrawn. Returns (conflict, withdrawn count)."""
    self_declared = actor.user_id == evaluator_user_id
    if self_declared:
        access.ensure_evaluator(actor)
    else:
        access.ensure_admin(actor)
    committee = find_committee(session, call_id, for_update=True)
    member = member_of(committee, evaluator_user_id) if committee else None
    if member is None:
        if self_declared:
            raise not_found("Vous ne siégez pas au comité d'évaluation de cet appel.")
        raise invalid(
            "Cette personne ne siège pas au comité d'évaluation de cet appel.",
            {"user_id": "Choisissez un membre du comité."},
        )
    concerned = [e for e in committee.evaluations if key_of(e) == organisation_key]
    if not concerned:
        raise invalid(
            "Aucune demande de cet établissement n'est évaluée par ce comité.",
            {"organisation": "Choisissez un établissement dont la demande est évaluée."},
        )
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise invalid(
            "Précisez la nature du conflit d'intérêts.",
            {"reason": "Décrivez la nature du conflit d'intérêts."},
        )
    recorded = select(Conflict.id).where(
        Conflict.committee_id == committee.id,
        Conflict.evaluator_user_id == evaluator_user_id,
        Conflict.organisation_key == organisation_key,
    )
    if session.scalar(recorded) is not None:
        raise conflict("Ce conflit d'intérêts est déjà consigné.")
    name = concerned[0].organisation_name
    record = Conflict(
        committee_id=committee.id,
        evaluator_user_id=evaluator_user_id,
        evaluator_name=member.full_name,
        organisation_key=organisation_key,
        organisation_name=name,
        reason=reason[:2000],
        self_declared=self_declared,
        recorded_by_user_id=actor.user_id,
        recorded_by_name=actor.full_name,
        at=clock.now(),
    )
    session.add(record)
    withdrawn = conflicts.withdraw(
        session, actor, evaluator_user_id, concerned, "Affectation retirée pour conflit d'intérêts."
    )
    who = "déclaré par" if self_declared else "consigné par l'administration pour"
    log(
        session,
        committee.id,
        None,
        "conflict",
        f"Conflit d'intérêts {who} {member.full_name} avec {name} : {record.reason}"
        + (f" ({plural(withdrawn, 'affectation retirée')})." if withdrawn else "."),
        actor,
    )
    return record, withdrawn


# -- assignments ---------------------------------------------------------------------------------


def assign(session: Session, actor: Actor, evaluation_id: int, user_id: int) -> Assignment:
    access.ensure_admin(actor)
    evaluation = load_evaluation(session, evaluation_id, for_update=True)
    ensure_undecided(evaluation)
    committee = evaluation.committee
    member = member_of(committee, user_id)
    if member is None:
        raise invalid(
            "Ajoutez d'abord cette personne au comité d'évaluation de l'appel.",
            {"user_id": "Choisissez un membre du comité."},
        )
    reason = conflicts.reason_for(
        session, committee.id, user_id, key_of(evaluation), evaluation.organisation_name
    )
    if reason is not None:
        raise conflict(
            f"{member.full_name} est en conflit d'intérêts avec "
            f"{named(evaluation.organisation_name).le} ({reason}) : la demande "
            f"{evaluation.reference} ne peut pas lui être confiée."
        )
    if any(a.evaluator_user_id == user_id for a in evaluation.assignments):
        raise conflict(f"{member.full_name} évalue déjà cette demande.")
    now = clock.now()
    assignment = Assignment(
        evaluator_user_id=user_id,
        evaluator_name=member.full_name,
        status="assigned",
        assigned_at=now,
        assigned_by_user_id=actor.user_id,
        reopened_count=0,
    )
    evaluation.assignments.append(assignment)
    unconsolidate(session, evaluation, f"Nouvelle affectation : {member.full_name}.", actor)
    log(
        session,
        committee.id,
        evaluation.id,
        "assigned",
        f"Demande confiée à {member.full_name}.",
        actor,
    )
    session.flush()
    record_event(
        session,
        EvaluatorAssigned(
            evaluation_id=evaluation.id,
            call_id=evaluation.call_id,
            call_title=committee.call_title,
            evaluator_user_id=user_id,
            evaluator_name=member.full_name,
            evaluator_email=member.email,
            organisation_name=evaluation.organisation_name,
            reference=evaluation.reference,
            assigned_at=now,
        ),
    )
    return assignment


def unassign(session: Session, actor: Actor, evaluation_id: int, user_id: int) -> None:
    access.ensure_admin(actor)
    evaluation = load_evaluation(session, evaluation_id, for_update=True)
    ensure_undecided(evaluation)
    assignment = next((a for a in evaluation.assignments if a.evaluator_user_id == user_id), None)
    if assignment is None:
        raise not_found("Cette personne n'évalue pas cette demande.")
    if assignment.status == "submitted":
        raise conflict(
            f"{assignment.evaluator_name} a soumis son évaluation : elle ne peut plus être "
            "retirée (rouvrez-la au besoin)."
        )
    evaluation.assignments.remove(assignment)  # delete-orphan: the row goes
    log(
        session,
        evaluation.committee_id,
        evaluation.id,
        "unassigned",
        f"Affectation de {assignment.evaluator_name} retirée.",
        actor,
    )
    evaluations.consolidate_if_complete(session, evaluation)


def results_by_criterion(evaluation: Evaluation) -> dict[int, CriterionResult]:
    return {r.criterion_id: r for r in evaluation.results}


# -- bulk assignment -------------------------------------------------------------------------------


def propose(
    session: Session,
    actor: Actor,
    call_id: int,
    per_application: int | None,
    for_update: bool = False,
) -> tuple[Committee, matching.Proposal, dict[tuple[int, int], str]]:
    """The bulk assignment the platform proposes (nothing is saved), with every conflict
    detected on the committee."""
    access.ensure_admin(actor)
    committee = load_committee(session, call_id, for_update=for_update)
    if per_application is None:
        per_application = committee.min_evaluators
    if not MIN_EVALUATORS <= per_application <= MAX_EVALUATORS:
        raise invalid(PER_APPLICATION_MESSAGE, {"per_application": PER_APPLICATION_MESSAGE})
    found = conflicts.detected(session, committee)
    proposal = matching.propose(
        [conflicts.evaluator_of(m) for m in committee.members],
        [conflicts.application_of(e) for e in to_assign(committee)],
        per_application,
        found,
    )
    return committee, proposal, found


def assign_in_bulk(
    session: Session, actor: Actor, call_id: int, per_application: int, fingerprint: str
) -> int:
    """Save the proposal the admin previewed: each assignment as a single one is made (same
    rules, log and notification). Saving it again adds nothing. Returns how many were made."""
    committee, proposal, _ = propose(session, actor, call_id, per_application, for_update=True)
    if not proposal.feasible:
        raise conflict(" ".join(proposal.problems), {"per_application": proposal.problems[0]})
    if not proposal.pairs:
        return 0  # already saved (or nothing missing): nothing changes
    if fingerprint != proposal.fingerprint:
        raise conflict(
            "Les affectations du comité ont changé depuis l'aperçu (ou aucun aperçu n'a été "
            "consulté) : revoyez la proposition avant de l'enregistrer."
        )
    for evaluation_id, user_id in proposal.pairs:
        assign(session, actor, evaluation_id, user_id)
    loads = proposal.loads.values()
    log(
        session,
        committee.id,
        None,
        "bulk_assignment",
        f"Affectation groupée : {plural(len(proposal.pairs), 'affectation')}, "
        f"{per_application} évaluateurs par demande; de {min(loads)} à {max(loads)} demandes "
        "par membre.",
        actor,
    )
    return len(proposal.pairs)
