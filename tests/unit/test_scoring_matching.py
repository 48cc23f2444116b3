"""Conflicts of interest detected from affiliations and declared links, and the bulk
assignment's proposal (``services/scoring/matching.py``): balance within one, never a
conflicted pair, infeasible cases explained in French, same facts same proposal."""

from __future__ import annotations

import itertools
import random

import pytest

from services.scoring.matching import Application, Declared, Evaluator, Link, detect, propose

LEVIS, CMV, CSN, MES = "11", "12", "13", None
PEOPLE = [
    Evaluator(1, "Geneviève Lévesque", MES, "Ministère de l'Enseignement supérieur"),
    Evaluator(2, "François Côté", MES, "Ministère de l'Enseignement supérieur"),
    Evaluator(3, "Martin Gravel", LEVIS, "Cégep de Lévis"),
    Evaluator(4, "Julie Fournier", CSN, "Centre de services scolaire des Navigateurs"),
]


def applications(count: int, keys=(LEVIS, CMV, CSN, "14", "15")) -> list[Application]:
    names = {LEVIS: "Cégep de Lévis", CMV: "Cégep Marie-Victorin",
             CSN: "Centre de services scolaire des Navigateurs"}  # fmt: skip
    return [
        Application(
            100 + i,
            f"CERAC-2026-{i:03d}",
            keys[i % len(keys)],
            names.get(keys[i % len(keys)], f"Cégep numéro {keys[i % len(keys)]}"),
        )
        for i in range(count)
    ]


def test_the_evaluators_own_institution_is_a_conflict():
    apps = applications(3)
    found = detect(PEOPLE, apps)
    assert found == {
        (3, 100): "Membre du personnel du Cégep de Lévis, qui dépose la demande",
        (4, 102): "Membre du personnel du Centre de services scolaire des Navigateurs, qui "
        "dépose la demande",
    }


def test_a_declared_link_and_a_recorded_conflict_are_conflicts():
    apps = applications(3)
    links = [Link(3, CMV, "Cégep Marie-Victorin", "ancien employeur")]
    declared = [Declared(1, CSN, "Conjoint à la direction générale")]
    found = detect(PEOPLE, apps, links, declared)
    assert found[(3, 101)] == "Lien déclaré avec le Cégep Marie-Victorin : ancien employeur"
    assert found[(1, 102)] == "Conflit consigné : Conjoint à la direction générale"
    # a link names one evaluator only
    assert (4, 101) not in found and (2, 102) not in found


def _check(proposal, apps, per_application, conflicts):
    assert proposal.feasible, proposal.problems
    per_app = {a.id: set(a.assigned) for a in apps}
    for application_id, user_id in proposal.pairs:
        assert (user_id, application_id) not in conflicts
        assert user_id not in per_app[application_id]
        per_app[application_id].add(user_id)
    assert all(len(users) == per_application for users in per_app.values())
    assert max(proposal.loads.values()) - min(proposal.loads.values()) <= 1


@pytest.mark.parametrize("count,per_application", [(7, 2), (8, 3), (5, 3), (1, 2), (9, 2), (13, 2)])
def test_every_application_gets_its_evaluators_with_loads_within_one(count, per_application):
    apps = applications(count)
    conflicts = detect(PEOPLE, apps)
    proposal = propose(PEOPLE, apps, per_application, conflicts)
    _check(proposal, apps, per_application, conflicts)
    assert sum(proposal.loads.values()) == count * per_application


def test_assignments_already_made_count_and_stay():
    apps = applications(6)
    apps[0] = Application(100, apps[0].reference, LEVIS, "Cégep de Lévis", frozenset({1, 2}))
    apps[1] = Application(101, apps[1].reference, CMV, "Cégep Marie-Victorin", frozenset({1}))
    conflicts = detect(PEOPLE, apps)
    proposal = propose(PEOPLE, apps, 2, conflicts)
    _check(proposal, apps, 2, conflicts)
    assert proposal.loads_before == {1: 2, 2: 1, 3: 0, 4: 0}
    assert not any(a == 100 for a, _ in proposal.pairs)  # already complete


def test_random_committees_never_break_a_conflict_and_stay_balanced():
    generator = random.Random(20261207)
    for _ in range(60):
        people = [Evaluator(u, f"Membre {u}", str(generator.choice(range(10, 16))))
                  for u in range(1, generator.randint(4, 8))]  # fmt: skip
        apps = applications(generator.randint(1, 12), keys=("10", "11", "12", "13", "14", "15"))
        conflicts = detect(people, apps)
        proposal = propose(people, apps, 2, conflicts)
        if proposal.feasible:
            _check(proposal, apps, 2, conflicts)
        else:
            assert any(len([p for p in people if (p.user_id, a.id) not in conflicts]) < 2
                       for a in apps)  # fmt: skip


def test_the_same_facts_give_the_same_proposal_whatever_their_order():
    apps = applications(8)
    conflicts = detect(PEOPLE, apps)
    first = propose(PEOPLE, apps, 2, conflicts)
    for people in itertools.islice(itertools.permutations(PEOPLE), 6):
        again = propose(list(people), list(reversed(apps)), 2, conflicts)
        assert again.pairs == first.pairs and again.fingerprint == first.fingerprint


def test_an_application_without_enough_free_members_is_explained_and_nothing_is_proposed():
    people = PEOPLE[2:]  # Martin Gravel (Lévis) and Julie Fournier (Navigateurs)
    apps = applications(3)
    proposal = propose(people, apps, 2, detect(people, apps))
    assert not proposal.feasible and proposal.pairs == ()
    assert proposal.problems == (
        "La demande CERAC-2026-000 du Cégep de Lévis ne peut recevoir 2 évaluatrices ou "
        "évaluateurs : 1 membre libre de conflit d'intérêts pour les places à pourvoir; en "
        "conflit : Martin Gravel (Membre du personnel du Cégep de Lévis, qui dépose la "
        "demande).",
        "La demande CERAC-2026-002 du Centre de services scolaire des Navigateurs ne peut "
        "recevoir 2 évaluatrices ou évaluateurs : 1 membre libre de conflit d'intérêts pour "
        "les places à pourvoir; en conflit : Julie Fournier (Membre du personnel du Centre "
        "de services scolaire des Navigateurs, qui dépose la demande).",
    )


def test_more_evaluators_per_application_than_members_is_explained():
    proposal = propose(PEOPLE[:2], applications(2), 3, {})
    assert proposal.problems == (
        "Le comité compte 2 membres : chaque demande ne peut être confiée à 3 évaluatrices ou "
        "évaluateurs.",
    )
    assert propose([], applications(2), 2, {}).problems == (
        "Le comité n'a aucun membre : ajoutez d'abord des évaluatrices ou des évaluateurs.",
    )


def test_nothing_to_add_is_an_empty_feasible_proposal():
    apps = [Application(1, "R-1", CMV, "Cégep Marie-Victorin", frozenset({1, 2}))]
    proposal = propose(PEOPLE, apps, 2, {})
    assert proposal.feasible and proposal.pairs == ()
