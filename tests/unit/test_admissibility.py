"""The four admissibility rules of seed 000, on both kinds of institution, and the deadline
at the edge of the day (America/Montreal) on both sides of a daylight-saving change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from rac_shared.clock import MONTREAL
from services.applications.admissibility import (
    DESIGNATED_MANAGER,
    DIRECTOR_GENERAL,
    RULES,
    SECOND_SIGNATORY,
    Facts,
    SignatureFact,
    evaluate,
    rule_completeness,
    rule_deposit,
    rule_institution,
    rule_signatures,
    signing_capacity,
)

CEGEP, CSS, EMPLOYER = "cegep", "school_service_centre", "employer"
DEADLINE = date(2012, 12, 21)

DG = SignatureFact("director_general", DIRECTOR_GENERAL, "Isabelle Bégin")
STUDIES = SignatureFact("director_of_studies", SECOND_SIGNATORY, "Marc-André Gagnon")
CONTINUING = SignatureFact("director_continuing_education", SECOND_SIGNATORY, "J.-F. Roy")
VOCATIONAL = SignatureFact("director_vocational_training", SECOND_SIGNATORY, "Chantal Fortin")
DESIGNATED = SignatureFact("rac_coordinator", DESIGNATED_MANAGER, "Louis Bouchard")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


def facts(kind: str = CEGEP, **overrides) -> Facts:
    base = Facts(
        organisation_kind=kind,
        education_order={"cegep": "collégial", "school_service_centre": "secondaire"}.get(kind),
        call_orders=("secondaire", "collégial"),
        deadline_date=DEADLINE,
        signatures=(DG, STUDIES) if kind == CEGEP else (DG, VOCATIONAL),
        designation_attached=False,
        incomplete_sections=(),
        support_letters=2,
        official_documents=1,
        submitted_at=local(2012, 12, 14, 9, 15),
        paper_received_on=date(2012, 12, 19),
    )
    return replace(base, **overrides)


# -- all four together -----------------------------------------------------------------


@pytest.mark.parametrize("kind", [CEGEP, CSS])
def test_a_complete_signed_application_deposited_on_time_passes_the_four_rules(kind):
    results = evaluate(facts(kind))
    assert [r.rule for r in results] == list(RULES)
    assert all(r.passed for r in results), [r.reason for r in results]
    assert [r.label for r in results] == list(RULES.values())
    assert "21 décembre 2012" in results[3].reason
    assert "14 décembre 2012 à 9 h 15" in results[3].reason


# -- rule 1: authorised institution ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "order", "call_orders", "passed", "fragment"),
    [
        (CEGEP, "collégial", ("collégial",), True, "Cégep de l'ordre collégial"),
        (CSS, "secondaire", ("secondaire",), True, "Centre de services scolaire"),
        (
            CEGEP,
            "collégial",
            ("secondaire",),
            False,
            "ne vise pas l'ordre d'enseignement collégial",
        ),
        (CSS, "secondaire", ("collégial",), False, "ne vise pas l'ordre d'enseignement secondaire"),
        (EMPLOYER, None, ("secondaire", "collégial"), False, "n'est pas autorisée"),
        ("ministry", None, ("secondaire", "collégial"), False, "n'est pas autorisée"),
    ],
)
def test_rule_institution(kind, order, call_orders, passed, fragment):
    result = rule_institution(facts(kind, education_order=order, call_orders=call_orders))
    assert result.passed is passed
    assert fragment in result.reason


# -- rule 2: signatures by kind of institution -----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "signatures", "designation", "passed", "fragment"),
    [
        (CEGEP, (DG, STUDIES), False, True, "direction des études ou de la formation continue"),
        (CEGEP, (DG, CONTINUING), False, True, "Signée par la direction générale"),
        (CEGEP, (DG,), False, False, "manquante : la direction des études"),
        (CEGEP, (STUDIES,), False, False, "manquante : la direction générale."),
        (CEGEP, (), False, False, "la direction générale et la direction des études"),
        # A cégep cannot rely on the vocational-training director.
        (CEGEP, (DG, VOCATIONAL), False, False, "la direction des études"),
        (CSS, (DG, VOCATIONAL), False, True, "formation professionnelle"),
        (CSS, (DG, DESIGNATED), True, True, "gestionnaire désigné"),
        (CSS, (DG, DESIGNATED), False, False, "désignation du gestionnaire"),
        (CSS, (DG,), False, False, "formation professionnelle ou un gestionnaire désigné"),
        (CSS, (VOCATIONAL,), False, False, "manquante : la direction générale."),
        # A school service centre cannot rely on a college's director of studies.
        (CSS, (DG, STUDIES), False, False, "formation professionnelle"),
        (EMPLOYER, (DG, STUDIES), False, False, "ne peut pas présenter de demande"),
    ],
)
def test_rule_signatures(kind, signatures, designation, passed, fragment):
    result = rule_signatures(facts(kind, signatures=signatures, designation_attached=designation))
    assert result.passed is passed, result.reason
    assert fragment in result.reason


@pytest.mark.parametrize(
    ("kind", "role", "designation", "expected"),
    [
        (CEGEP, "director_general", False, DIRECTOR_GENERAL),
        (CEGEP, "director_of_studies", False, SECOND_SIGNATORY),
        (CEGEP, "director_continuing_education", False, SECOND_SIGNATORY),
        (CSS, "director_general", False, DIRECTOR_GENERAL),
        (CSS, "director_vocational_training", False, SECOND_SIGNATORY),
        (CSS, "rac_coordinator", True, DESIGNATED_MANAGER),
    ],
)
def test_who_may_sign(kind, role, designation, expected):
    assert signing_capacity(kind, role, designation) == expected


@pytest.mark.parametrize(
    ("kind", "role", "designation", "fragment"),
    [
        (CEGEP, "rac_coordinator", True, "direction des études ou de la formation continue"),
        (CEGEP, "director_vocational_training", False, "cégep"),
        (CSS, "rac_coordinator", False, "désignation par la direction générale est jointe"),
        (CSS, "ministry_analyst", False, "Ce rôle ne peut pas signer"),
        (EMPLOYER, "employer_representative", False, "Seul un établissement"),
    ],
)
def test_roles_that_may_not_sign(kind, role, designation, fragment):
    with pytest.raises(ValueError, match=fragment):
        signing_capacity(kind, role, designation)


# -- rule 3: completeness ------------------------------------------------------------------


@pytest.mark.parametrize("kind", [CEGEP, CSS])
@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (
            {"incomplete_sections": ("Volet 2 — Améliorer la qualité des services offerts",)},
            "Sections incomplètes : Volet 2",
        ),
        ({"support_letters": 0}, "Aucune lettre d'appui jointe"),
        ({"official_documents": 0}, "Aucun document officiel joint"),
        (
            {"refused_commitments": ("Reddition de comptes",)},
            "Engagement non souscrit : Reddition de comptes",
        ),
        (
            {"support_letters": 0, "official_documents": 0},
            "Aucune lettre d'appui jointe; aucun document officiel joint.",
        ),
    ],
)
def test_rule_completeness_fails_with_the_reason(kind, overrides, fragment):
    result = rule_completeness(facts(kind, **overrides))
    assert not result.passed
    assert fragment in result.reason


def test_rule_completeness_counts_the_documents():
    result = rule_completeness(facts(support_letters=3, official_documents=2))
    assert result.passed
    assert "3 lettres d'appui et 2 documents officiels joints" in result.reason


# -- rule 4: deposit by the deadline, electronic and paper -----------------------------------


# 2012 in Montréal: clocks went forward on 11 March and back on 4 November.
DST_DEADLINES = [
    date(2012, 3, 10),  # the day before spring forward (EST, UTC−5)
    date(2012, 3, 11),  # spring-forward day itself (ends in EDT, UTC−4)
    date(2012, 11, 3),  # the day before fall back (EDT, UTC−4)
    date(2012, 11, 4),  # fall-back day itself (ends in EST, UTC−5)
    date(2012, 12, 21),  # the seed's deadline (EST)
]


@pytest.mark.parametrize("kind", [CEGEP, CSS])
@pytest.mark.parametrize("deadline", DST_DEADLINES, ids=str)
def test_deposit_at_235959_local_time_is_on_time(kind, deadline):
    instant = local(deadline.year, deadline.month, deadline.day, 23, 59, 59)
    result = rule_deposit(
        facts(kind, deadline_date=deadline, submitted_at=instant, paper_received_on=deadline)
    )
    assert result.passed, result.reason
    assert "23 h 59" in result.reason


@pytest.mark.parametrize("kind", [CEGEP, CSS])
@pytest.mark.parametrize("deadline", DST_DEADLINES, ids=str)
def test_deposit_at_000000_the_next_day_is_late(kind, deadline):
    next_day = deadline + timedelta(days=1)
    instant = local(next_day.year, next_day.month, next_day.day, 0, 0, 0)
    result = rule_deposit(
        facts(kind, deadline_date=deadline, submitted_at=instant, paper_received_on=deadline)
    )
    assert not result.passed
    assert "après la date limite" in result.reason
    assert "à 0 h 00" in result.reason


def test_the_offset_matters_around_the_change():
    """On 3 Nov 2012 (EDT) the day ends at 04:00 UTC; on 4 Nov, the fall-back day, which
    ends in EST, at 05:00 UTC: the same UTC instant can be late for one and on time for the
    other."""
    deadline = date(2012, 11, 3)
    on_time = datetime(2012, 11, 4, 3, 59, 59, tzinfo=UTC)
    late = datetime(2012, 11, 4, 4, 0, 0, tzinfo=UTC)
    assert rule_deposit(
        facts(deadline_date=deadline, submitted_at=on_time, paper_received_on=deadline)
    ).passed
    assert not rule_deposit(
        facts(deadline_date=deadline, submitted_at=late, paper_received_on=deadline)
    ).passed
    # On fall-back day the deadline is at 05:00 UTC (EST), an hour later than the day before.
    deadline = date(2012, 11, 4)
    assert rule_deposit(
        facts(
            deadline_date=deadline,
            submitted_at=datetime(2012, 11, 5, 4, 59, 59, tzinfo=UTC),
            paper_received_on=deadline,
        )
    ).passed
    assert not rule_deposit(
        facts(
            deadline_date=deadline,
            submitted_at=datetime(2012, 11, 5, 5, 0, 0, tzinfo=UTC),
            paper_received_on=deadline,
        )
    ).passed


@pytest.mark.parametrize("kind", [CEGEP, CSS])
def test_paper_copy_missing_or_late_fails_the_deposit_rule(kind):
    missing = rule_deposit(facts(kind, paper_received_on=None))
    assert not missing.passed
    assert "la copie papier n'a pas été reçue" in missing.reason
    late = rule_deposit(facts(kind, paper_received_on=date(2012, 12, 22)))
    assert not late.passed
    assert "copie papier reçue le 22 décembre 2012, après la date limite" in late.reason
    on_deadline = rule_deposit(facts(kind, paper_received_on=DEADLINE))
    assert on_deadline.passed


def test_never_submitted_fails_the_deposit_rule():
    result = rule_deposit(facts(submitted_at=None))
    assert not result.passed
    assert "n'a pas été déposée" in result.reason
