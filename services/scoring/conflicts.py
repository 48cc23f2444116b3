"""Conflicts of interest as the committee applies them: from the members' organisations, the
links evaluators declared with institutions, and the conflicts recorded on the committee
(the rules themselves are in ``matching``), and the declared links' records.

An evaluator in conflict with an institution is never assigned its application, nor shown
it; a new link or recorded conflict withdraws the assignments it concerns (not those of
an application the minister has decided on).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, OrganisationKind
from rac_shared.clock import clock
from rac_shared.contracts.scoring import LinkKind
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.french import named, plural
from services.scoring import access, matching
from services.scoring.models import (
    EVAL_DECIDED,
    Assignment,
    Committee,
    Conflict,
    Evaluation,
    EvaluatorLink,
    Member,
)
from services.scoring.records import key_of, log, org_key, unconsolidate

NETWORK_KINDS = frozenset({OrganisationKind.CEGEP, OrganisationKind.SCHOOL_SERVICE_CENTRE})


def evaluator_of(member: Member) -> matching.Evaluator:
    key = None if member.organisation_id is None else org_key(member.organisation_id, "")
    return matching.Evaluator(member.user_id, member.full_name, key, member.organisation_name or "")


def application_of(evaluation: Evaluation) -> matching.Application:
    return matching.Application(
        evaluation.id,
        evaluation.reference,
        key_of(evaluation),
        evaluation.organisation_name,
        frozenset(a.evaluator_user_id for a in evaluation.assignments),
    )


def links_of(session: Session, user_ids: Iterable[int]) -> list[EvaluatorLink]:
    return list(
        session.scalars(
            select(EvaluatorLink)
            .where(EvaluatorLink.evaluator_user_id.in_(list(user_ids)))
            .order_by(EvaluatorLink.evaluator_name, EvaluatorLink.organisation_name)
        )
    )


def _link_facts(links: Iterable[EvaluatorLink]) -> list[matching.Link]:
    return [
        matching.Link(
            link.evaluator_user_id,
            org_key(link.organisation_id, ""),
            link.organisation_name,
            LinkKind.label_of(link.kind),
        )
        for link in links
    ]


def _declared(session: Session, committee_id: int, user_ids: Iterable[int]):
    rows = session.scalars(
        select(Conflict).where(
            Conflict.committee_id == committee_id,
            Conflict.evaluator_user_id.in_(list(user_ids)),
        )
    )
    return [matching.Declared(c.evaluator_user_id, c.organisation_key, c.reason) for c in rows]


def reason_for(
    session: Session, committee_id: int, user_id: int, key: str, name: str = ""
) -> str | None:
    """Why ``user_id`` may not evaluate an application of the institution ``key`` on this
    committee (None: free of conflict)."""
    member = session.scalar(
        select(Member).where(Member.committee_id == committee_id, Member.user_id == user_id)
    )
    evaluator = evaluator_of(member) if member else matching.Evaluator(user_id, "")
    return matching.conflict_reason(
        evaluator,
        key,
        name,
        _link_facts(links_of(session, [user_id])),
        _declared(session, committee_id, [user_id]),
    )


def in_conflict(session: Session, committee_id: int, user_id: int, key: str) -> bool:
    return reason_for(session, committee_id, user_id, key) is not None


def detected(session: Session, committee: Committee) -> dict[tuple[int, int], str]:
    """Every (member, evaluation) pair of the committee in conflict, with its reason."""
    members = list(committee.members)
    ids = [m.user_id for m in members]
    return matching.detect(
        [evaluator_of(m) for m in members],
        [application_of(e) for e in committee.evaluations],
        _link_facts(links_of(session, ids)),
        _declared(session, committee.id, ids),
    )


def withdraw(
    session: Session,
    actor: Actor,
    evaluator_user_id: int,
    evaluations: Iterable[Evaluation],
    why: str,
) -> int:
    """Withdraw the evaluator's assignments on these evaluations (not on a decided one)."""
    withdrawn = 0
    for evaluation in evaluations:
        if evaluation.status == EVAL_DECIDED:
            continue
        for assignment in list(evaluation.assignments):
            if assignment.evaluator_user_id == evaluator_user_id:
                evaluation.assignments.remove(assignment)  # delete-orphan: the row goes
                withdrawn += 1
                unconsolidate(session, evaluation, why, actor)
    return withdrawn


# -- declared links ----------------------------------------------------------------------------


def link_view(link: EvaluatorLink) -> dict:
    return {
        "id": link.id,
        "user_id": link.evaluator_user_id,
        "evaluator_name": link.evaluator_name,
        "organisation_id": link.organisation_id,
        "organisation_name": link.organisation_name,
        "kind": link.kind,
        "kind_label": LinkKind.label_of(link.kind),
        "note": link.note,
        "recorded_by": link.recorded_by_name,
        "self_declared": link.recorded_by_user_id == link.evaluator_user_id,
        "at": link.at.isoformat() if link.at else None,
    }


def _memberships(session: Session, user_id: int) -> list[Member]:
    return list(session.scalars(select(Member).where(Member.user_id == user_id)))


def _ensure_may_edit(actor: Actor, evaluator_user_id: int) -> bool:
    """True when the evaluator acts for themself; else the actor must be the admin."""
    if actor.user_id == evaluator_user_id:
        access.ensure_evaluator(actor)
        return True
    access.ensure_admin(actor)
    return False


def declare_link(
    session: Session,
    actor: Actor,
    evaluator_user_id: int,
    organisation: dict,
    kind: LinkKind,
    note: str,
) -> tuple[EvaluatorLink, int]:
    """Record a link between an evaluator and an institution of the network (``organisation``
    comes from the directory). The evaluator's assignments on that institution's undecided
    applications are withdrawn. Returns (link, withdrawn count)."""
    self_declared = _ensure_may_edit(actor, evaluator_user_id)
    memberships = _memberships(session, evaluator_user_id)
    if self_declared:
        evaluator_name = actor.full_name
    elif memberships:
        evaluator_name = memberships[0].full_name
    else:
        raise invalid(
            "Cette personne ne siège à aucun comité d'évaluation.",
            {"user_id": "Choisissez un membre d'un comité."},
        )
    if organisation.get("kind") not in NETWORK_KINDS:
        raise invalid(
            "Un lien se déclare avec un établissement du réseau : un cégep ou un centre de "
            "services scolaire.",
            {"organisation_id": "Choisissez un cégep ou un centre de services scolaire."},
        )
    institution = named(organisation)
    link = EvaluatorLink(
        evaluator_user_id=evaluator_user_id,
        evaluator_name=evaluator_name,
        organisation_id=int(organisation["id"]),
        organisation_name=organisation["name"],
        kind=LinkKind(kind).value,
        note=(note or "").strip()[:500],
        recorded_by_user_id=actor.user_id,
        recorded_by_name=actor.full_name,
        at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(link)
    except IntegrityError:
        raise conflict(
            f"Un lien avec {institution.le} est déjà déclaré pour {evaluator_name}."
        ) from None
    concerned = session.scalars(
        select(Evaluation)
        .join(Assignment)
        .where(
            Evaluation.organisation_id == link.organisation_id,
            Assignment.evaluator_user_id == evaluator_user_id,
        )
        .with_for_update(of=Evaluation)
    ).all()
    withdrawn = withdraw(
        session, actor, evaluator_user_id, concerned, "Affectation retirée : lien déclaré."
    )
    who = "par le membre" if self_declared else f"par {actor.full_name}"
    text = (
        f"Lien déclaré {who} entre {evaluator_name} et {institution.le} : "
        f"{LinkKind(kind).label}"
        + (f" ({plural(withdrawn, 'affectation retirée')})." if withdrawn else ".")
    )
    for member in memberships:
        log(session, member.committee_id, None, "link", text, actor)
    return link, withdrawn


def remove_link(session: Session, actor: Actor, link_id: int) -> EvaluatorLink:
    link = session.get(EvaluatorLink, link_id)
    own = link is not None and link.evaluator_user_id == actor.user_id
    may = access.is_admin(actor) or (own and actor.role in access.EVALUATOR_ROLES)
    if link is None or not may:
        raise not_found("Ce lien déclaré est introuvable.")
    session.delete(link)
    text = (
        f"Lien retiré entre {link.evaluator_name} et {named(link.organisation_name).le} "
        f"({LinkKind.label_of(link.kind)})."
    )
    for member in _memberships(session, link.evaluator_user_id):
        log(session, member.committee_id, None, "link", text, actor)
    return link
