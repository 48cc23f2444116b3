"""The arithmetic of the CERAC evaluation: Decimal scores with one rounding rule, weighted
totals, per-criterion and overall thresholds, spreads, consensus overrides, ranking per
education order with ties, and the cap of three designations per order."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from rac_shared.errors import DomainError
from services.scoring.grading import (
    Candidate,
    GridCriterion,
    check_consensus,
    check_designation,
    check_recommendation,
    check_scores,
    consolidate,
    parse_score,
    points,
    rank,
    round_score,
)

# The grid of the 2012-2013 call (seed 000): four quality and two relevance criteria.
GRID = [
    GridCriterion(1, "qualite", "Correspondance avec les besoins", 20, 12, 1),
    GridCriterion(2, "qualite", "Engagement de la direction", 15, 9, 2),
    GridCriterion(3, "qualite", "Collaboration", 15, 9, 3),
    GridCriterion(4, "qualite", "Pratiques novatrices", 10, 6, 4),
    GridCriterion(5, "pertinence", "Planification stratégique", 20, 12, 5),
    GridCriterion(6, "pertinence", "Engagement dans le CERAC", 20, 12, 6),
]


def sheet(*values) -> dict[int, D]:
    return {criterion.id: D(str(v)) for criterion, v in zip(GRID, values, strict=True)}


# -- one rounding rule -------------------------------------------------------------------


def test_round_score_is_half_up_to_the_hundredth_and_refuses_floats():
    assert round_score(D("12.125")) == D("12.13")  # banker's rounding would give 12.12
    assert round_score(D("12.135")) == D("12.14")
    assert round_score(D("37") / 3) == D("12.33")
    assert round_score(12) == D("12.00")
    with pytest.raises(TypeError):
        round_score(12.5)


def test_the_consolidated_score_is_the_rounded_mean_and_the_total_adds_rounded_scores():
    # Three evaluators: 12 + 12.5 + 12.5 = 37 → 12.333… → 12.33 on each of three criteria.
    evaluations = [
        sheet(12, 12, 12, 8, 12, 12),
        sheet(12.5, 12.5, 12.5, 8, 12, 12),
        sheet(12.5, 12.5, 12.5, 8, 12, 12),
    ]
    result = consolidate(GRID, evaluations)
    assert [o.mean for o in result.criteria[:3]] == [D("12.33")] * 3
    assert all(isinstance(o.score, D) for o in result.criteria)
    # 3 × 12.33 + 8 + 12 + 12 = 68.99: the sum of what is shown, never 69.00 (the raw sum).
    assert result.total == D("68.99")
    assert result.pertinence_total == D("24.00")
    assert result.overall_threshold == D("60")  # default: the sum of the thresholds
    assert result.qualified


def test_four_evaluators_give_eighths_that_round_half_up():
    evaluations = [sheet(12, 9, 9, 6, 12, 12)] * 3 + [sheet(12.5, 9, 9, 6, 12, 12)]
    result = consolidate(GRID, evaluations)
    assert result.criteria[0].mean == D("12.13")  # 48.5 / 4 = 12.125


def test_a_criterion_below_its_threshold_excludes_the_application_despite_a_high_total():
    # 95 points, but « Pratiques novatrices » gets 5 of 10 (threshold 6).
    evaluations = [sheet(20, 15, 15, 5, 20, 20), sheet(20, 15, 15, 5, 20, 20)]
    result = consolidate(GRID, evaluations)
    assert result.total == D("95.00")
    assert result.meets_overall
    assert not result.meets_every_criterion
    assert not result.qualified
    assert [c.label for c in result.failed] == ["Pratiques novatrices"]
    ranking = rank(
        [
            Candidate(1, "collégial", "Cégep A", result.total, result.pertinence_total, False),
            Candidate(2, "collégial", "Cégep B", D("61"), D("24"), True),
        ]
    )
    assert [p.key for p in ranking["collégial"]] == [2]


def test_the_overall_threshold_is_configurable_per_committee():
    evaluations = [sheet(13, 10, 10, 7, 13, 13)] * 2  # every criterion met, total 66
    assert consolidate(GRID, evaluations).qualified
    stricter = consolidate(GRID, evaluations, overall_threshold=D("70"))
    assert stricter.meets_every_criterion and not stricter.meets_overall
    assert not stricter.qualified
    assert stricter.overall_threshold == D("70")


def test_spreads_above_the_configurable_gap_are_flagged():
    # Weight 20, gap 20 % = 4 points: a spread of 4 is tolerated, 4.5 is flagged.
    tolerated = consolidate(GRID, [sheet(10, 9, 9, 6, 12, 12), sheet(14, 9, 9, 6, 12, 12)])
    assert tolerated.criteria[0].spread == D("4")
    assert not tolerated.criteria[0].flagged and not tolerated.flagged
    flagged = consolidate(GRID, [sheet(10, 9, 9, 6, 12, 12), sheet(14.5, 9, 9, 6, 12, 12)])
    assert flagged.criteria[0].flagged and flagged.flagged
    # A wider gap (30 % = 6 points) lets the same spread through.
    assert not consolidate(
        GRID, [sheet(10, 9, 9, 6, 12, 12), sheet(14.5, 9, 9, 6, 12, 12)], gap_percent=D("30")
    ).flagged


def test_a_consensus_score_overrides_the_mean_and_keeps_the_spread_flag():
    evaluations = [sheet(8, 9, 9, 6, 12, 12), sheet(14, 9, 9, 6, 12, 12)]
    plain = consolidate(GRID, evaluations)
    assert plain.criteria[0].score == D("11.00")
    assert not plain.criteria[0].met and not plain.qualified
    agreed = consolidate(GRID, evaluations, consensus={1: D("13")})
    first = agreed.criteria[0]
    assert (first.mean, first.consensus, first.score) == (D("11.00"), D("13.00"), D("13.00"))
    assert first.met and agreed.qualified
    assert agreed.total == plain.total + 2
    assert first.flagged  # the evaluators still disagreed by 6 points


def test_consensus_needs_a_score_on_the_scale_and_a_justification():
    criterion = GRID[0]
    assert check_consensus(criterion, "13,5", "Accord du comité après discussion.") == D("13.5")
    with pytest.raises(DomainError) as outside:
        check_consensus(criterion, "21", "Accord du comité après discussion.")
    assert outside.value.details["score"].startswith("La note doit être comprise entre 0 et 20")
    with pytest.raises(DomainError) as bare:
        check_consensus(criterion, "13", "ok")
    assert "justification" in bare.value.details


# -- scores typed by evaluators ------------------------------------------------------------


def test_scores_are_parsed_in_french_or_english_notation():
    assert parse_score("12,5") == D("12.5")
    assert parse_score(" 12.5 ") == D("12.5")
    assert parse_score("") is None and parse_score(None) is None
    for bad in ("douze", "NaN", "Infinity", "1e999999999999"):
        with pytest.raises(ValueError):
            parse_score(bad)


def test_a_score_outside_the_scale_or_off_the_half_point_is_refused():
    entries = {c.id: ("10", "Commentaire.") for c in GRID}
    with pytest.raises(DomainError) as error:
        check_scores(GRID, {**entries, 1: ("21", "Trop.")}, complete=True)
    assert error.value.details == {
        "note-1": "La note doit être comprise entre 0 et 20 points (pondération du critère)."
    }
    with pytest.raises(DomainError) as negative:
        check_scores(GRID, {**entries, 4: ("-1", "Négatif.")}, complete=False)
    assert "note-4" in negative.value.details
    with pytest.raises(DomainError) as step:
        check_scores(GRID, {**entries, 2: ("7,3", "Pas un demi-point.")}, complete=True)
    assert step.value.details["note-2"].startswith("La note se donne par demi-point")
    with pytest.raises(DomainError) as unknown:
        check_scores(GRID, {**entries, 99: ("1", "")}, complete=False)
    assert unknown.value.details == {"note-99": "Critère inconnu."}


def test_a_submission_needs_every_score_and_every_comment_a_draft_does_not():
    draft = check_scores(GRID, {1: ("12", ""), 2: ("", "À revoir")}, complete=False)
    assert draft[1] == (D("12"), "") and draft[2] == (None, "À revoir")
    with pytest.raises(DomainError) as error:
        check_scores(GRID, {1: ("12", ""), 2: ("9", "Bien.")}, complete=True)
    details = error.value.details
    assert details["commentaire-1"] == "Un commentaire justifie chaque note."
    assert details["note-3"] == "Chaque critère doit être noté avant la soumission."
    assert "commentaire-2" not in details


# -- ranking, proposal, designation ----------------------------------------------------------


def candidate(key, order, total, pertinence, qualified=True, name=None):
    return Candidate(key, order, name or f"Établissement {key}", D(total), D(pertinence), qualified)


def test_ranking_is_per_order_by_total_and_proposes_at_most_three():
    ranking = rank(
        [
            candidate(1, "collégial", "81.50", "30"),
            candidate(2, "collégial", "90", "35"),
            candidate(3, "secondaire", "70", "28"),
            candidate(4, "collégial", "75", "30"),
            candidate(5, "collégial", "88", "33"),
            candidate(6, "collégial", "99", "40", qualified=False),
        ]
    )
    college = ranking["collégial"]
    assert [(p.key, p.rank, p.proposed) for p in college] == [
        (2, 1, True),
        (5, 2, True),
        (1, 3, True),
        (4, 4, False),
    ]
    assert [p.key for p in ranking["secondaire"]] == [3]
    assert not any(p.tie for p in college)


def test_equal_totals_are_broken_by_pertinence_then_flagged():
    ranking = rank(
        [
            candidate(1, "collégial", "80", "30"),
            candidate(2, "collégial", "80", "34"),  # same total, better pertinence
            candidate(3, "collégial", "78", "30"),
            candidate(4, "collégial", "78", "30"),  # same total and pertinence as 3
        ]
    )["collégial"]
    assert [(p.key, p.rank) for p in ranking] == [(2, 1), (1, 2), (3, 3), (4, 3)]
    assert [p.tie for p in ranking] == [False, False, True, True]
    assert ranking[0].broken_by_pertinence and ranking[1].broken_by_pertinence
    # 3 and 4 share the third place: the proposal of three needs the committee.
    assert [p.tie_at_cut for p in ranking] == [False, False, True, True]
    assert [p.proposed for p in ranking] == [True, True, True, False]


def test_a_fourth_designation_in_an_order_is_refused_with_a_clear_message():
    check_designation("collégial", ["A", "B"], qualified=True, justification="")
    with pytest.raises(DomainError) as error:
        check_designation("collégial", ["Cégep A", "Cégep B", "Cégep C"], True, "")
    assert error.value.code == "conflict"
    assert error.value.message == (
        "Un maximum de trois établissements par ordre d'enseignement peut être désigné : "
        "l'ordre d'enseignement collégial compte déjà trois CERAC désignés (Cégep A, Cégep B "
        "et Cégep C). La désignation est refusée."
    )
    # The other order is counted on its own.
    check_designation("secondaire", [], qualified=True, justification="")


def test_four_qualified_applicants_three_designations_then_refusal():
    ranking = rank([candidate(k, "secondaire", str(90 - k), "30") for k in range(1, 5)])
    proposed = [p.key for p in ranking["secondaire"] if p.proposed]
    assert proposed == [1, 2, 3]
    designated: list[str] = []
    for key in [p.key for p in ranking["secondaire"]]:
        try:
            check_designation("secondaire", designated, True, "")
        except DomainError as exc:
            assert key == 4 and exc.code == "conflict"
        else:
            designated.append(f"Établissement {key}")
    assert designated == ["Établissement 1", "Établissement 2", "Établissement 3"]


def test_designating_a_failed_application_needs_a_ministerial_justification():
    with pytest.raises(DomainError) as error:
        check_designation("collégial", [], qualified=False, justification="Parce que.")
    assert error.value.code == "invalid"
    assert "justification ministérielle" in error.value.message
    check_designation(
        "collégial",
        [],
        qualified=False,
        justification="Seul établissement de sa région à offrir la RAC en soins infirmiers.",
    )


def test_the_committee_recommends_at_most_three_distinct_applications():
    check_recommendation("collégial", [1, 2, 3])
    with pytest.raises(DomainError):
        check_recommendation("collégial", [1, 2, 3, 4])
    with pytest.raises(DomainError):
        check_recommendation("collégial", [1, 1])


def test_points_are_displayed_in_french():
    assert points(D("12.50")) == "12,5"
    assert points(D("12")) == "12"
    assert points(D("68.99")) == "68,99"
    assert points(None) == "—"
