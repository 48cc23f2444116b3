"""The ministry's side of a deposited application: the paper copy's receipt, the analysts'
review of each admissibility rule (confirmed or overridden with a justification) and the
decision, recorded with ``application.admissibility_decided``. The rules themselves are
pure functions in ``admissibility``."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import aware, clock
from rac_shared.contracts.applications import Admissibility
from rac_shared.errors import DomainError, conflict, invalid, not_found
from rac_shared.events import AdmissibilityRuleOutcome, ApplicationAdmissibilityDecided
from rac_shared.formatting import long_date
from rac_shared.outbox import record_event
from services.applications import access
from services.applications.access import load
from services.applications.admissibility import RULES, evaluate
from services.applications.dossiers import facts_for
from services.applications.models import (
    ADMISSIBLE,
    APP_COMPLEMENTS,
    APP_SUBMITTED,
    NOT_ADMISSIBLE,
    Application,
    ReviewLogEntry,
    RuleReview,
)

DECISION_LABELS = Admissibility.labels()


def _log(application: Application, actor: Actor, action: str, **values) -> None:
    application.review_log.append(
        ReviewLogEntry(
            action=action,
            by_user_id=actor.user_id,
            by_name=actor.full_name,
            at=clock.now(),
            **values,
        )
    )


def _under_review(session: Session, actor: Actor, application_id: int) -> Application:
    access.ensure_staff(actor)
    application = load(session, actor, application_id, for_update=True)
    if application.status == APP_COMPLEMENTS:
        raise conflict(
            "Des compléments sont demandés à l'établissement : reprenez l'analyse de la "
            "recevabilité avant de poursuivre."
        )
    if application.status != APP_SUBMITTED:
        raise conflict("Seule une demande déposée peut être analysée.")
    if application.admissibility is not None:
        raise conflict("La recevabilité de cette demande est déjà décidée.")
    return application


def record_paper_receipt(
    session: Session, actor: Actor, application_id: int, received_on: date
) -> Application:
    application = _under_review(session, actor, application_id)
    if received_on > clock.today():
        raise invalid(
            "La date de réception ne peut pas être dans le futur.",
            {"received_on": "Indiquez une date passée ou aujourd'hui."},
        )
    if received_on < application.call.launch_date:
        raise invalid(
            "La date de réception précède le lancement de l'appel.",
            {"received_on": "Vérifiez la date."},
        )
    application.paper_received_on = received_on
    application.paper_late = received_on > application.call.deadline_date
    application.paper_recorded_at = clock.now()
    application.paper_recorded_by_user_id = actor.user_id
    application.paper_recorded_by_name = actor.full_name
    late = " (après la date limite)" if application.paper_late else ""
    _log(application, actor, "paper", text=f"Copie papier reçue le {long_date(received_on)}{late}.")
    return application


def computed_rules(application: Application) -> list[dict]:
    return [r.as_dict() for r in evaluate(facts_for(application))]


def review_rule(
    session: Session, actor: Actor, application_id: int, rule: str, passed: bool, text: str
) -> RuleReview:
    """The analyst confirms a computed rule, or overrides it with a justification."""
    application = _under_review(session, actor, application_id)
    if rule not in RULES:
        raise invalid("Règle de recevabilité inconnue.")
    computed = next(r for r in computed_rules(application) if r["rule"] == rule)
    overridden = passed != computed["passed"]
    text = (text or "").strip()
    if overridden and len(text) < 10:
        raise invalid(
            "Une dérogation au résultat calculé exige une justification écrite (au moins "
            "10 caractères).",
            {"justification": "Justifiez la dérogation."},
        )
    review = next((r for r in application.reviews if r.rule == rule), None)
    if review is None:
        review = RuleReview(rule=rule)
        application.reviews.append(review)
    review.computed_passed = computed["passed"]
    review.computed_reason = computed["reason"]
    review.passed = passed
    review.overridden = overridden
    review.justification = text
    review.by_user_id = actor.user_id
    review.by_name = actor.full_name
    review.at = clock.now()
    _log(
        application,
        actor,
        "overridden" if overridden else "confirmed",
        rule=rule,
        passed=passed,
        text=text,
    )
    session.flush()
    return review


def review_state(application: Application) -> list[dict]:
    """Each rule: computed now, the analyst's review, and whether that review is stale."""
    reviews = {r.rule: r for r in application.reviews}
    state = []
    for computed in computed_rules(application):
        review = reviews.get(computed["rule"])
        stale = review is not None and review.computed_passed != computed["passed"]
        state.append(
            {
                **computed,
                "reviewed": review is not None and not stale,
                "stale": stale,
                "final": review.passed if review is not None and not stale else None,
                "overridden": bool(review and review.overridden and not stale),
                "justification": review.justification if review else "",
                "reviewed_by": review.by_name if review else None,
                "reviewed_at": aware(review.at).isoformat() if review else None,
            }
        )
    return state


def decide(
    session: Session, actor: Actor, application_id: int, decision: str, comment: str
) -> Application:
    application = _under_review(session, actor, application_id)
    if decision not in DECISION_LABELS:
        raise invalid("Décision inconnue : « recevable » ou « non recevable ».")
    state = review_state(application)
    pending = [r["label"] for r in state if not r["reviewed"]]
    if pending:
        raise conflict(
            "Chaque règle doit être confirmée ou faire l'objet d'une dérogation avant la "
            "décision. À revoir : " + "; ".join(pending) + ".",
            {"rules": pending},
        )
    all_pass = all(r["final"] for r in state)
    if decision == ADMISSIBLE and not all_pass:
        raise invalid(
            "La demande ne peut être déclarée recevable : au moins une règle n'est pas satisfaite."
        )
    if decision == NOT_ADMISSIBLE and all_pass:
        raise invalid(
            "Les quatre règles sont satisfaites : la demande ne peut être déclarée non "
            "recevable sans dérogation justifiée à une règle."
        )
    now = clock.now()
    application.admissibility = decision
    application.decided_at = now
    application.decided_by_user_id = actor.user_id
    application.decided_by_name = actor.full_name
    application.decision_comment = (comment or "").strip()
    _log(application, actor, "decided", text=f"{DECISION_LABELS[decision]}. {comment}".strip())
    record_event(
        session,
        ApplicationAdmissibilityDecided(
            application_id=application.id,
            call_id=application.call_id,
            organisation_id=application.organisation_id,
            organisation_name=application.organisation_name,
            reference=application.reference or "",
            admissible=decision == ADMISSIBLE,
            decision=decision,
            rules=[
                AdmissibilityRuleOutcome(
                    rule=r["rule"],
                    label=r["label"],
                    passed=bool(r["final"]),
                    computed_passed=r["passed"],
                    reason=r["reason"],
                    justification=r["justification"],
                )
                for r in state
            ],
            comment=application.decision_comment,
            decided_by_user_id=actor.user_id,
            decided_at=now,
        ),
    )
    return application


def decide_in_bulk(
    session: Session, actor: Actor, call_id: int, application_ids, decision: str, comment: str
) -> list[dict]:
    """The same decision for each application of the selection, one at a time and each in
    its own savepoint, through ``decide``: the rules, the history, the event (hence the
    notification and the audit trail) are a single decision's. One refused leaves the
    others decided; each outcome says what happened, in French."""
    access.ensure_staff(actor)
    outcomes = []
    for application_id in sorted(set(application_ids)):
        application = session.get(Application, application_id)
        outcome = {
            "application_id": application_id,
            "reference": application.reference if application else None,
            "organisation_name": application.organisation_name if application else None,
            "decided": False,
        }
        try:
            if application is None or application.call_id != call_id:
                raise not_found("Cette demande n'appartient pas à cet appel d'intérêt.")
            with session.begin_nested():
                decide(session, actor, application_id, decision, comment)
        except DomainError as exc:
            outcome["message"] = exc.message
        else:
            outcome["decided"] = True
            outcome["message"] = f"Déclarée {DECISION_LABELS[decision].lower()}."
        outcomes.append(outcome)
    return outcomes
