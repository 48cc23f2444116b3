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

Made through the service's own RPC methods (``rac demo`` runs before any service is up:
``context.client``, nameko's ``worker_factory`` in this process) with the clock set to the
dates of 2013, so that every rule holds — but for the committee and its 2013 files, which no
entrypoint makes (``_open_archives``); no event is published (nobody is to be notified of
these 2013 files). Each stage runs only if not done: a stopped demo resumes.
The collégial order keeps one place: the demo application of the Cégep Marie-Victorin,
once declared admissible on the platform, is evaluated by the same committee.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, select

from rac_shared.clock import MONTREAL, clock
from rac_shared.db import SessionFactory
from rac_shared.manifest import demo_actor
from rac_shared.outbox import recorded_events
from services.scoring import committees, designation, records
from services.scoring.models import (
    SOURCE_ARCHIVE,
    SUBMITTED,
    Base,
    Evaluation,
    EvaluatorLink,
    Recommendation,
)

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


def _actor(person: dict, organisations: dict) -> dict:
    organisation = next(o for o in organisations.values() if o["id"] == person["organisation_id"])
    return demo_actor(person, organisation)


def _open_archives(sessions, grid: dict, organisations: dict) -> None:
    """The committee, with the call's grid, and the 2013 files as its evaluations: not
    through an entrypoint because none makes them. On the platform the committee and each
    evaluation open when ``application.admissibility_decided`` arrives
    (``on_admissibility_decided``), from an application of the applications service; the
    2013 files were kept outside the platform and have no application to come from. One
    transaction: the committee is there with all its files, or not at all."""
    with sessions.transaction() as session:
        with clock.frozen_at(_at(2013, 1, 14, 9, 0)):
            committee = committees.ensure_committee(session, grid)
            session.flush()
        for number, (name, order, _, _, _, *code) in enumerate(ARCHIVES, start=1):
            with clock.frozen_at(_at(2013, 1, 15, 9, number)):
                session.add(
                    Evaluation(
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
                )
                session.flush()


def _state(sessions, call_id: int) -> dict | None:
    """Where the committee of the call stands, in this service's own tables (None: not
    made yet): each stage below runs only if it is not done, so a demo stopped anywhere
    completes when run again and makes nothing twice."""
    with sessions.transaction() as session:
        committee = committees.find_committee(session, call_id)
        if committee is None:
            return None
        archives = sorted(
            (e for e in committee.evaluations if e.reference.startswith("CERAC-2012-ARC-")),
            key=lambda e: e.reference,
        )
        return {
            "id": committee.id,
            "members": {m.user_id for m in committee.members},
            "linked": set(session.scalars(select(EvaluatorLink.evaluator_user_id))),
            "criteria": [(c.id, c.group) for c in records.grid_of(committee)],
            "archives": [
                {
                    "id": e.id,
                    "organisation_name": e.organisation_name,
                    "source": e.source,
                    "decided": e.decision is not None,
                    "consensus": bool(e.consensus),
                    "assignees": [
                        (a.evaluator_user_id, a.status)
                        for a in sorted(e.assignments, key=lambda a: a.id)
                    ],
                }
                for e in archives
            ],
            "recommended": set(
                session.scalars(
                    select(Recommendation.education_order).where(
                        Recommendation.committee_id == committee.id
                    )
                )
            ),
            "proposed": {
                order: [p.key for p in placed if p.proposed]
                for order, placed in designation.ranking(committee).items()
            },
        }


def seed(scoring, sessions, grid: dict | None, organisations: dict, people: dict) -> str:
    """Seed the committee of the 2012-2013 call through the service's RPC methods (the
    committee and its 2013 files excepted, see ``_open_archives``). ``grid`` is the call's
    grid as ``applications.grid_of_call`` gives it (None when the call is absent);
    ``organisations`` by code and ``people`` by e-mail come from the gateway's directory."""
    if grid is None:
        return "Évaluation : l'appel d'intérêt 2012-2013 est absent, aucun comité."
    call_id = int(grid["call_id"])
    state = _state(sessions, call_id)
    if state is not None and all(a["source"] == SOURCE_ARCHIVE for a in state["archives"]):
        return "Comité d'évaluation 2012-2013 : déjà présent."
    admin = _actor(people["admin@mes.demo.quebec"], organisations)
    members = {people[email]["id"]: _actor(people[email], organisations) for email in MEMBERS}
    if state is None:
        _open_archives(sessions, grid, organisations)
        state = _state(sessions, call_id)
    with clock.frozen_at(_at(2013, 1, 14, 9, 0)):
        for email in MEMBERS:
            if people[email]["id"] not in state["members"]:
                scoring.add_member(
                    actor=admin, call_id=call_id, data={"user_id": people[email]["id"]}
                )
    levis_evaluator = members[people["evaluateur@cegeplevis.demo.quebec"]["id"]]
    if levis_evaluator["user_id"] not in state["linked"]:
        with clock.frozen_at(_at(2013, 1, 14, 11, 30)):
            scoring.declare_link(
                actor=levis_evaluator,
                data={
                    "organisation_id": organisations["CMV"]["id"],
                    "kind": "former_employer",
                    "note": "Enseignant en techniques de soins infirmiers de 2009 à 2016.",
                },
            )
    # Two evaluators per application, in one bulk assignment, as the preview proposed it.
    if not any(a["assignees"] for a in state["archives"]):
        with clock.frozen_at(_at(2013, 1, 16, 10, 0)):
            proposal = scoring.assignment_proposal(
                actor=admin, call_id=call_id, query={"per_application": 2}
            )
            scoring.assign_in_bulk(
                actor=admin,
                call_id=call_id,
                data={"per_application": 2, "proposal": proposal["fingerprint"]},
            )
    state = _state(sessions, call_id)
    for number, (evaluation, (_, _, first, second, *_)) in enumerate(
        zip(state["archives"], ARCHIVES, strict=True), start=1
    ):
        for day, ((user_id, status), sheet) in enumerate(
            zip(evaluation["assignees"], (first, second), strict=True)
        ):
            if status == SUBMITTED:
                continue
            scores = [
                {"criterion_id": c, "score": value, "comment": COMMENTS[group]}
                for (c, group), value in zip(state["criteria"], sheet.split(), strict=True)
            ]
            with clock.frozen_at(_at(2013, 3, 4 + day * 7, 14, number)):
                scoring.save_scores(
                    actor=members[user_id],
                    evaluation_id=evaluation["id"],
                    data={"scores": scores, "submit": True},
                )
    state = _state(sessions, call_id)
    montreal = next(e for e in state["archives"] if e["organisation_name"].endswith("de Montréal"))
    with clock.frozen_at(_at(2013, 4, 10, 10, 0)):
        if not montreal["consensus"]:
            scoring.record_consensus(
                actor=admin,
                evaluation_id=montreal["id"],
                data={
                    "criterion_id": state["criteria"][0][0],
                    "score": "15",
                    "justification": "Écart de cinq points discuté en comité : l'offre de "
                    "service correspond aux besoins de la clientèle, avec des délais d'accès "
                    "encore longs.",
                },
            )
            state = _state(sessions, call_id)
        for order in ("collégial", "secondaire"):
            if order not in state["recommended"]:
                scoring.record_recommendation(
                    actor=admin,
                    call_id=call_id,
                    data={
                        "education_order": order,
                        "evaluation_ids": state["proposed"].get(order, []),
                        "comment": "Recommandation unanime du comité d'évaluation.",
                    },
                )
    with clock.frozen_at(_at(2013, 5, 31, 11, 0)):
        for evaluation, (_, _, _, _, designated, *_) in zip(
            state["archives"], ARCHIVES, strict=True
        ):
            if not evaluation["decided"]:
                scoring.decide(
                    actor=admin,
                    evaluation_id=evaluation["id"],
                    data={
                        "designated": designated,
                        "decision_date": date(2013, 5, 31),
                        "justification": ""
                        if designated
                        else "Décision de la ministre sur recommandation du comité.",
                    },
                )
    _kept_as_archives(sessions, [e["id"] for e in state["archives"]])
    designated = sum(1 for _, _, _, _, d, *_ in ARCHIVES if d)
    return (
        f"Comité d'évaluation 2012-2013 : quatre membres, dont deux évaluateurs du réseau "
        f"(un lien déclaré, un conflit d'intérêts détecté); {len(ARCHIVES)} dossiers de 2013 "
        f"confiés à deux membres chacun par affectation groupée, notés, {designated} CERAC "
        f"désignés le 31 mai 2013 (collégial : 2, secondaire : 3)."
    )


def _kept_as_archives(sessions, evaluation_ids: list[int]) -> None:
    """The last stage: the 2013 files marked as archives (no application content on the
    platform), and their events (made at the clock of January to May 2013, whichever run of
    the demo made them) removed from this service's outbox — the entrypoints wrote them
    (assignments, submissions, designations), but these 2013 files are history and
    nobody is to be notified of them now. The designated CERACs reach the other services'
    demo steps as values (``seed_designations``)."""
    with sessions.transaction() as session:
        for evaluation_id in evaluation_ids:
            session.get(Evaluation, evaluation_id).source = SOURCE_ARCHIVE
        outbox = Base.metadata.tables["outbox"]
        session.execute(
            delete(outbox).where(
                outbox.c.published_at.is_(None),
                outbox.c.created_at >= _at(2013, 1, 14, 0, 0),
                outbox.c.created_at < _at(2013, 6, 1, 0, 0),
            )
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
    sessions = SessionFactory("scoring", Base.metadata)
    summary = seed(
        context.client("scoring"), sessions, grid, directory["organisations"], directory["people"]
    )
    with sessions.transaction() as session:
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
