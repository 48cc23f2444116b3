"""Ranking per education order, the committee's recommendation, and the minister's decision
(designation, with the CERAC record and the ``cerac.designated`` event, or not).

Plain functions over a SQLAlchemy session; the rules are in ``grading``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.errors import conflict, invalid
from rac_shared.events import CeracDesignated, CeracNotDesignated, CriterionVerdict
from rac_shared.formatting import long_date
from rac_shared.french import named
from rac_shared.outbox import record_event
from services.scoring import access, grading, ministries
from services.scoring.models import (
    DESIGNATED,
    EVAL_CONSOLIDATED,
    EVAL_DECIDED,
    EVAL_OPEN,
    NOT_DESIGNATED,
    SOURCE_ARCHIVE,
    Cerac,
    Committee,
    Evaluation,
    Recommendation,
)
from services.scoring.records import grid_of, load_committee, load_evaluation, log

# The three parts (volets) of a CERAC's mandate (seed 000).
MANDATE_PARTS = {
    "offer": "Accroître l'offre de service en RAC",
    "quality": "Améliorer la qualité des services offerts",
    "development": "Contribuer au développement de la RAC",
}


def consolidated(committee: Committee) -> list[Evaluation]:
    return [e for e in committee.evaluations if e.status != EVAL_OPEN]


def ranking(committee: Committee) -> dict[str, list[grading.Placed]]:
    return grading.rank(
        grading.Candidate(
            key=e.id,
            education_order=e.education_order,
            name=e.organisation_name,
            total=e.total,
            pertinence_total=e.pertinence_total,
            qualified=bool(e.qualified),
        )
        for e in consolidated(committee)
    )


def designated_in(committee: Committee, education_order: str) -> list[Evaluation]:
    return [
        e
        for e in committee.evaluations
        if e.education_order == education_order and e.decision == DESIGNATED
    ]


def latest_recommendations(session: Session, committee: Committee) -> dict[str, Recommendation]:
    rows = session.scalars(
        select(Recommendation)
        .where(Recommendation.committee_id == committee.id)
        .order_by(Recommendation.id)
    )
    return {r.education_order: r for r in rows}


def record_recommendation(
    session: Session,
    actor: Actor,
    call_id: int,
    education_order: str,
    evaluation_ids: list[int],
    comment: str,
) -> Recommendation:
    """The committee's recommendation for one order: at most three qualified applications,
    in the recommended order (the latest recommendation replaces the previous one)."""
    access.ensure_admin(actor)
    committee = load_committee(session, call_id, for_update=True)
    orders = set(committee.education_orders) | {e.education_order for e in committee.evaluations}
    if education_order not in orders:
        raise invalid(
            "Cet ordre d'enseignement n'est pas visé par l'appel.",
            {"education_order": "Ordre d'enseignement inconnu pour cet appel."},
        )
    grading.check_recommendation(education_order, evaluation_ids)
    by_id = {e.id: e for e in committee.evaluations}
    chosen = []
    for evaluation_id in evaluation_ids:
        evaluation = by_id.get(evaluation_id)
        if evaluation is None or evaluation.education_order != education_order:
            raise invalid(
                f"La demande {evaluation_id} n'est pas évaluée dans "
                f"{grading.order_phrase(education_order)} de cet appel.",
                {"evaluation_ids": "Demande inconnue pour cet ordre d'enseignement."},
            )
        if evaluation.status == EVAL_OPEN:
            raise conflict(
                f"L'évaluation de {evaluation.organisation_name} n'est pas consolidée : elle "
                "ne peut pas être recommandée."
            )
        if not evaluation.qualified:
            raise invalid(
                f"{evaluation.organisation_name} n'atteint pas tous les seuils de réussite : "
                "le comité ne peut pas la recommander.",
                {"evaluation_ids": "Seuil de réussite non atteint."},
            )
        chosen.append(evaluation)
    recommendation = Recommendation(
        committee_id=committee.id,
        education_order=education_order,
        evaluation_ids=[e.id for e in chosen],
        comment=(comment or "").strip()[:4000],
        by_user_id=actor.user_id,
        by_name=actor.full_name,
        at=clock.now(),
    )
    session.add(recommendation)
    names = ", ".join(e.organisation_name for e in chosen) or "aucun établissement"
    log(
        session,
        committee.id,
        None,
        "recommendation",
        f"Recommandation du comité pour {grading.order_phrase(education_order)} : {names}."
        + (f" {recommendation.comment}" if recommendation.comment else ""),
        actor,
    )
    return recommendation


def verdicts(evaluation: Evaluation) -> list[CriterionVerdict]:
    results = {r.criterion_id: r for r in evaluation.results}
    return [
        CriterionVerdict(
            label=c.label,
            group=c.group,
            weight=c.weight,
            threshold=c.threshold,
            score=results[c.id].score,
            met=results[c.id].met,
        )
        for c in grid_of(evaluation.committee)
        if c.id in results
    ]


def decide(
    session: Session,
    actor: Actor,
    evaluation_id: int,
    designated: bool,
    decision_date: date | None,
    justification: str,
) -> Evaluation:
    """Record the minister's decision on one consolidated application."""
    access.ensure_admin(actor)
    evaluation = load_evaluation(session, evaluation_id)
    # The committee's row is the lock that keeps two decisions from passing the cap together.
    committee = load_committee(session, evaluation.call_id, for_update=True)
    session.refresh(evaluation)
    if evaluation.source == SOURCE_ARCHIVE:
        raise conflict("Ce dossier est conservé aux archives : sa décision est déjà rendue.")
    if evaluation.status == EVAL_DECIDED:
        raise conflict(
            f"La décision de la ou du ministre sur la demande de {evaluation.organisation_name} "
            f"est déjà consignée (le {long_date(evaluation.decision_date)})."
        )
    if evaluation.status != EVAL_CONSOLIDATED:
        raise conflict(
            "L'évaluation de cette demande n'est pas terminée : toutes les évaluations "
            "confiées doivent être soumises et consolidées avant la décision."
        )
    today = clock.today()
    decision_date = decision_date or today
    if decision_date > today:
        raise invalid(
            "La date de la décision ne peut pas être dans le futur.",
            {"decision_date": "Inscrivez la date à laquelle la décision a été prise."},
        )
    justification = (justification or "").strip()[:4000]
    order = evaluation.education_order
    if designated:
        grading.check_designation(
            order,
            [e.organisation_name for e in designated_in(committee, order)],
            bool(evaluation.qualified),
            justification,
        )
    now = clock.now()
    evaluation.decision = DESIGNATED if designated else NOT_DESIGNATED
    evaluation.decision_date = decision_date
    evaluation.decided_at = now
    evaluation.decided_by_user_id = actor.user_id
    evaluation.decided_by_name = actor.full_name
    evaluation.decision_justification = justification
    evaluation.status = EVAL_DECIDED
    evaluation.letter_pdf = None
    if designated:
        cerac = Cerac(
            evaluation_id=evaluation.id,
            call_id=evaluation.call_id,
            organisation_id=evaluation.organisation_id,
            organisation_name=evaluation.organisation_name,
            education_order=order,
            mandate_parts=list(MANDATE_PARTS),
            experimentation_years=list(committee.experimentation_years),
            designated_on=decision_date,
            created_at=now,
        )
        session.add(cerac)
        session.flush()
        text = (
            f"Désignation {named(evaluation.organisation_name).du} à titre de CERAC "
            f"({grading.order_phrase(order)}), décision du {long_date(decision_date)}."
        )
        if not evaluation.qualified:
            text += (
                " Désignation malgré un seuil de réussite non atteint — justification "
                f"ministérielle : {justification}"
            )
        elif justification:
            text += f" {justification}"
        log(session, committee.id, evaluation.id, "designated", text, actor)
        if evaluation.application_id is not None and evaluation.organisation_id is not None:
            record_event(
                session,
                CeracDesignated(
                    cerac_id=cerac.id,
                    evaluation_id=evaluation.id,
                    application_id=evaluation.application_id,
                    call_id=evaluation.call_id,
                    call_title=committee.call_title,
                    organisation_id=evaluation.organisation_id,
                    organisation_name=evaluation.organisation_name,
                    reference=evaluation.reference,
                    education_order=order,
                    mandate_parts=list(MANDATE_PARTS),
                    experimentation_years=list(committee.experimentation_years),
                    decision_date=decision_date,
                    total=evaluation.total,
                    below_threshold=not evaluation.qualified,
                    decided_by_user_id=actor.user_id,
                    minister=ministries.at(session, decision_date).minister,
                ),
            )
        return evaluation
    organisation = named(evaluation.organisation_name)
    log(
        session,
        committee.id,
        evaluation.id,
        "not_designated",
        f"{organisation.Le} n'est pas {organisation.agree('désigné', 'désignée')}, décision du "
        f"{long_date(decision_date)}." + (f" {justification}" if justification else ""),
        actor,
    )
    if evaluation.application_id is not None and evaluation.organisation_id is not None:
        record_event(
            session,
            CeracNotDesignated(
                evaluation_id=evaluation.id,
                application_id=evaluation.application_id,
                call_id=evaluation.call_id,
                call_title=committee.call_title,
                organisation_id=evaluation.organisation_id,
                organisation_name=evaluation.organisation_name,
                reference=evaluation.reference,
                education_order=order,
                decision_date=decision_date,
                total=evaluation.total,
                overall_threshold=evaluation.overall_threshold,
                qualified=bool(evaluation.qualified),
                criteria=verdicts(evaluation),
                decided_by_user_id=actor.user_id,
                minister=ministries.at(session, decision_date).minister,
            ),
        )
    return evaluation
