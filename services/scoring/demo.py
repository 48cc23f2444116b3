"""Demo data of the scoring service (idempotent): the evaluation committee of the 2012-2013
call for interest (seed 000), with the 2013 files kept outside the platform (« archives »:
no application content, no institution account but for the Centre de services scolaire des
Navigateurs, so that a designated CERAC of the demo can sign in), assigned in one bulk
assignment to two of the committee's four members (two of the ministry, two evaluators of the
network's institutions: the one of the Navigateurs is in conflict with its application, the
one of the Cégep de Lévis declared a link with the Cégep Marie-Victorin), scored,
consolidated, ranked, and decided by the minister in May 2013: per education order, the designated
CERACs and the applications that were not designated (a failed threshold, and a fourth
qualified application beyond the cap of three).

Created through the domain functions with the clock set to the dates of 2013, so that every
rule holds; no event is published (nobody is to be notified of these 2013 files).
The collégial order keeps one place: the demo application of the Cégep Marie-Victorin,
once declared admissible on the platform, is evaluated by the same committee.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.clock import MONTREAL, clock
from rac_shared.db import SessionFactory
from rac_shared.outbox import recorded_events
from services.scoring import committees, conflicts, designation, evaluations, records
from services.scoring.models import SOURCE_ARCHIVE, Assignment, Base, Evaluation

# (institution, order, first evaluator's sheet, second evaluator's sheet, designated[, code])
# A code links the file to a demo organisation with accounts: the Centre de services scolaire
# des Navigateurs is the demo's designated CERAC whose staff can sign in (funding, reports).
# Sheets follow the grid of the 2012-2013 call: 20, 15, 15, 10, 20, 20 points.
ARCHIVES = [
    ("Cégep de Sherbrooke", "collégial", "18 13 13 8 17 17", "17 13 12.5 8.5 18 17", True),
    ("Cégep de Sainte-Foy", "collégial", "16 12 12 8 16 15", "17 12 11 7.5 15 16", True),
    ("Collège de Rosemont", "collégial", "15 11 12 5 14 14", "16 12 11 5.5 15 13", False),
    ("Centre de services scolaire de la Capitale", "secondaire", "18 14 13 9 18 17",
     "19 13 14 9 17 18", True),
    ("Centre de services scolaire de Montréal", "secondaire", "17 13 12 8 17 16",
     "12 12 13 8.5 16 17", True),
    ("Centre de services scolaire des Navigateurs", "secondaire",
     "16 12 12 8 16 16", "16 12 11 7 15 16", True, "CSN"),
    ("Centre de services scolaire de la Beauce-Etchemin", "secondaire", "15 11 11 7 15 15",
     "15 11 11 7.5 15 14", False),
]  # fmt: skip
COMMENTS = {
    "qualite": "Offre de service documentée sur cinq ans; pièces justificatives probantes.",
    "pertinence": "Projet d'intervention cohérent avec le mandat et les trois volets.",
}


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


# The committee's members: the ministry's evaluator and analyst, and an evaluator of each of
# two institutions of the network.
MEMBERS = (
    "evaluatrice@mes.demo.quebec",
    "analyste@mes.demo.quebec",
    "evaluateur@cegeplevis.demo.quebec",
    "evaluatrice@csnavigateurs.demo.quebec",
)


def _actor(person: dict, organisations: dict) -> Actor:
    organisation = next(o for o in organisations.values() if o["id"] == person["organisation_id"])
    return Actor(
        user_id=person["id"],
        role=Role(person["role"]),
        organisation_id=organisation["id"],
        organisation_kind=OrganisationKind(organisation["kind"]),
        full_name=person["full_name"],
    )


def seed(session: Session, grid: dict | None, organisations: dict, people: dict) -> str:
    """Seed the committee of the 2012-2013 call. ``grid`` is the call's grid as
    ``applications.grid_of_call`` gives it (None when the call is absent); ``organisations``
    by code and ``people`` by e-mail come from the gateway's directory."""
    if grid is None:
        return "Évaluation : l'appel d'intérêt 2012-2013 est absent, aucun comité."
    if committees.find_committee(session, int(grid["call_id"])) is not None:
        return "Comité d'évaluation 2012-2013 : déjà présent."
    outbox = Base.metadata.tables["outbox"]
    before = session.scalar(select(func.coalesce(func.max(outbox.c.id), 0)))
    admin = _actor(people["admin@mes.demo.quebec"], organisations)
    members = {people[email]["id"]: _actor(people[email], organisations) for email in MEMBERS}
    with clock.frozen_at(_at(2013, 1, 14, 9, 0)):
        committee = committees.ensure_committee(session, grid)
        session.flush()
        for email in MEMBERS:
            committees.add_member(session, admin, committee.call_id, people[email])
    with clock.frozen_at(_at(2013, 1, 14, 11, 30)):
        levis_evaluator = members[people["evaluateur@cegeplevis.demo.quebec"]["id"]]
        conflicts.declare_link(
            session,
            levis_evaluator,
            levis_evaluator.user_id,
            organisations["CMV"],
            "former_employer",
            "Enseignant en techniques de soins infirmiers de 2009 à 2016.",
        )
    criteria = records.grid_of(committee)
    opened = []
    for number, (name, order, _, _, _, *code) in enumerate(ARCHIVES, start=1):
        with clock.frozen_at(_at(2013, 1, 15, 9, number)):
            evaluation = Evaluation(
                committee_id=committee.id,
                call_id=committee.call_id,
                application_id=None,
                organisation_id=organisations[code[0]]["id"] if code else None,
                organisation_name=name,
                reference=f"CERAC-2012-ARC-{number:03d}",
                education_order=order,
                opened_at=clock.now(),
                status="open",
            )
            session.add(evaluation)
            session.flush()
        opened.append(evaluation)
    session.flush()
    session.expire(committee, ["evaluations"])
    # Two evaluators per application, in one bulk assignment, as the preview proposed it.
    with clock.frozen_at(_at(2013, 1, 16, 10, 0)):
        _, proposal, _ = committees.propose(session, admin, committee.call_id, 2)
        committees.assign_in_bulk(session, admin, committee.call_id, 2, proposal.fingerprint)
    session.flush()
    for number, (evaluation, (_, _, first, second, *_)) in enumerate(
        zip(opened, ARCHIVES, strict=True), start=1
    ):
        assignees = session.scalars(
            select(Assignment.evaluator_user_id)
            .where(Assignment.evaluation_id == evaluation.id)
            .order_by(Assignment.id)
        ).all()
        for day, (user_id, sheet) in enumerate(zip(assignees, (first, second), strict=True)):
            entries = {
                c.id: (value, COMMENTS[c.group])
                for c, value in zip(criteria, sheet.split(), strict=True)
            }
            with clock.frozen_at(_at(2013, 3, 4 + day * 7, 14, number)):
                evaluations.save_scores(
                    session, members[user_id], evaluation.id, entries, submit=True
                )
    session.flush()
    montreal = next(e for e in opened if e.organisation_name.endswith("de Montréal"))
    with clock.frozen_at(_at(2013, 4, 10, 10, 0)):
        evaluations.record_consensus(
            session,
            admin,
            montreal.id,
            criteria[0].id,
            "15",
            "Écart de cinq points discuté en comité : l'offre de service correspond aux "
            "besoins de la clientèle, avec des délais d'accès encore longs.",
        )
        for order in ("collégial", "secondaire"):
            proposed = [p.key for p in designation.ranking(committee).get(order, []) if p.proposed]
            designation.record_recommendation(
                session,
                admin,
                committee.call_id,
                order,
                proposed,
                "Recommandation unanime du comité d'évaluation.",
            )
    with clock.frozen_at(_at(2013, 5, 31, 11, 0)):
        for evaluation, (_, _, _, _, designated, *_) in zip(opened, ARCHIVES, strict=True):
            designation.decide(
                session,
                admin,
                evaluation.id,
                designated,
                date(2013, 5, 31),
                "" if designated else "Décision de la ministre sur recommandation du comité.",
            )
    for evaluation in opened:
        evaluation.source = SOURCE_ARCHIVE
    # The domain functions wrote their events (assignments, submissions) to the outbox:
    # these 2013 files are history, nobody is to be notified of them now.
    outbox = Base.metadata.tables["outbox"]
    session.execute(delete(outbox).where(outbox.c.id > before))
    session.flush()
    designated = sum(1 for _, _, _, _, d, *_ in ARCHIVES if d)
    return (
        f"Comité d'évaluation 2012-2013 : quatre membres, dont deux évaluateurs du réseau "
        f"(un lien déclaré, un conflit d'intérêts détecté); {len(ARCHIVES)} dossiers de 2013 "
        f"confiés à deux membres chacun par affectation groupée, notés, {designated} CERAC "
        f"désignés le 31 mai 2013 (collégial : 2, secondaire : 3)."
    )


# -- rac demo's step (see rac_shared/manifest.py) ----------------------------------------------


def seed_designations(context) -> tuple[str, dict]:
    """The committee of the call the applications step forwarded (its grid asked of the
    applications service's own ``grid_of_call``); forwards the designated CERACs as
    ``cerac.designated`` describes them (``ceracs``): the demo runs before any service
    does, so the later steps get them from here instead of from the events — and this
    service's events (``events``) for the audit trail."""
    from services.scoring.models import Cerac

    directory = context.forwarded["directory"]
    call_id = context.forwarded["calls"]["call_id"]
    grid = None if call_id is None else context.client("applications").grid_of_call(call_id=call_id)
    with SessionFactory("scoring", Base.metadata).transaction() as session:
        summary = seed(session, grid, directory["organisations"], directory["people"])
        session.flush()
        ceracs = [
            {
                "cerac_id": c.id,
                "organisation_id": c.organisation_id,
                "organisation_name": c.organisation_name,
                "education_order": c.education_order,
                "mandate_parts": list(c.mandate_parts),
                "experimentation_years": list(c.experimentation_years),
                "designated_on": c.designated_on,
                "call_id": c.call_id,
            }
            for c in session.scalars(select(Cerac).order_by(Cerac.id))
        ]
        events = recorded_events(session)
    return summary, {"ceracs": ceracs, "events": events}
