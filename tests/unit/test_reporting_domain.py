"""Reddition de comptes of the CERACs: the pure rules (completeness per mandate part, due
dates, lateness, reminder steps), competence areas, then the domain functions on an
in-memory database (drafts, submission, review, versions, special mandates, support counts
in the "increase the offer" indicators, search of the network, the reminder job)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from rac_shared.clock import MONTREAL, clock
from rac_shared.contracts.base import parse
from rac_shared.contracts.network import (  # the service's inputs, from its contract
    ReportDraftIn,
    ReportReviewIn,
    SpecialMandateIn,
    SupportAnswerIn,
    SupportRequestIn,
)
from rac_shared.errors import DomainError
from rac_shared.events import CeracDesignated
from services.applications import ceracs, mandates, reporting, support
from services.applications.jobs import reminders_batch
from services.applications.models import Base, CeracReport, ReportReminder, ReportVersion
from services.applications.testing import (
    ADMIN,
    ANALYST,
    CMV_DG,
    CMV_FC,
    CMV_ID,
    CSN_RAC,
    EMPLOYER,
    EVALUATOR,
    LEVIS_RAC,
    memory_session,
)

COMPLETE = {
    "objectives": "Soutenir cinq établissements.",
    "narrative": "Cinq établissements accompagnés.",
    "indicators": [
        {"label": "Établissements", "unit": "établissements", "target": 5, "achieved": 5}
    ],
}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


# -- pure rules -----------------------------------------------------------------------------


def test_a_complete_mandate_part_misses_nothing():
    assert reporting.missing_in_section(COMPLETE) == []


def test_each_missing_item_of_a_mandate_part_is_named_in_french():
    missing = reporting.missing_in_section(
        {
            "objectives": "  ",
            "narrative": "",
            "indicators": [{"label": "Ateliers", "unit": "", "target": None, "achieved": "0"}],
        }
    )
    assert missing == [
        "Les objectifs sont à rédiger.",
        "Indicateur 1 (« Ateliers ») : l'unité de mesure est manquante.",
        "Indicateur 1 (« Ateliers ») : la valeur cible est manquante.",
        "Le bilan (narration des réalisations) est à rédiger.",
    ]
    # An achieved value of zero is a value, not a gap.
    assert not any("valeur atteinte" in m for m in missing)


def test_a_mandate_part_needs_a_measurable_indicator_a_deliverable_does_not():
    bare = {"objectives": "Objectif", "narrative": "Bilan", "indicators": []}
    assert reporting.missing_in_section(bare) == ["Au moins un indicateur mesurable est requis."]
    assert reporting.missing_in_section(bare, require_indicators=False) == []


def test_completeness_is_per_mandate_part():
    result = reporting.completeness(
        [
            {"key": "offer", **COMPLETE},
            {"key": "quality", **COMPLETE, "narrative": ""},
            {"key": "development", **COMPLETE, "indicators": []},
        ]
    )
    assert result["offer"] == []
    assert result["quality"] == ["Le bilan (narration des réalisations) est à rédiger."]
    assert result["development"] == ["Au moins un indicateur mesurable est requis."]
    assert reporting.missing_parts(["offer", "quality", "development"], ["offer"]) == [
        "La section « Améliorer la qualité des services offerts » est absente du rapport.",
        "La section « Contribuer au développement de la RAC » est absente du rapport.",
    ]


def test_experimentation_year_bounds_and_default_due_date():
    assert reporting.year_bounds("2013-2014") == (date(2013, 7, 1), date(2014, 6, 30))
    assert reporting.default_due_date("2014-2015") == date(2015, 9, 30)
    for bad in ("2013-2015", "2013", "abcd-efgh", "2013-2014'; --"):
        with pytest.raises(DomainError):
            reporting.year_bounds(bad)


def test_late_is_after_the_end_of_the_due_day_in_montreal():
    due = date(2014, 9, 30)
    assert not reporting.is_late(due, at(2014, 9, 30, 23, 59, 59))
    assert reporting.is_late(due, at(2014, 10, 1, 0, 0, 0))


def test_reminder_steps_j30_j7_and_late():
    due = date(2015, 9, 30)
    assert reporting.reminder_step(due, date(2015, 8, 30)) is None  # 31 days before
    assert reporting.reminder_step(due, date(2015, 8, 31)) == "j-30"
    assert reporting.reminder_step(due, date(2015, 9, 22)) == "j-30"
    assert reporting.reminder_step(due, date(2015, 9, 23)) == "j-7"
    assert reporting.reminder_step(due, date(2015, 9, 30)) == "j-7"  # due today: not late
    assert reporting.reminder_step(due, date(2015, 10, 1)) == "late"
    assert reporting.days_late(due, date(2015, 10, 5)) == 5


def test_competence_areas_are_derived_from_the_application_text():
    areas, programs = ceracs.derive_competences(
        [
            "Nous offrons la RAC À DISTANCE et une formation manquante en 180.A0 et LCA.5X.",
            "Harmonisation des pratiques avec les établissements.",
        ]
    )
    assert areas == ["harmonisation", "formation_manquante", "distance"]
    assert programs == ["180.A0", "LCA.5X"]
    assert ceracs.derive_competences([]) == ([], [])


def test_decimals_are_read_in_french_and_bad_numbers_refused():
    draft = parse(
        ReportDraftIn,
        {"sections": {"offer": {"indicators": [{"label": "x", "target": "1 250,5"}]}}},
    )
    assert str(draft.sections["offer"].indicators[0].target) == "1250.50"
    for bad in ("abc", "-3", "1,234", "NaN", "1e400"):
        with pytest.raises(DomainError) as error:
            parse(ReportDraftIn, {"sections": {"offer": {"indicators": [{"target": bad}]}}})
        assert error.value.code == "invalid"


# -- on a database --------------------------------------------------------------------------


def designation(cerac_id: int = 7, organisation_id: int = CMV_ID) -> CeracDesignated:
    return CeracDesignated(
        cerac_id=cerac_id,
        evaluation_id=1,
        application_id=99,
        call_id=1,
        call_title="Appel 2012-2013",
        organisation_id=organisation_id,
        organisation_name="Cégep Marie-Victorin",
        reference="CERAC-2012-001",
        education_order="collégial",
        mandate_parts=["offer", "quality", "development"],
        experimentation_years=["2013-2014", "2014-2015"],
        decision_date=date(2013, 5, 31),
        total="82.5",
        below_threshold=False,
        decided_by_user_id=1,
    )


@pytest.fixture
def session():
    session = memory_session()
    with clock.frozen_at(at(2013, 6, 1, 9, 0)):
        record = ceracs.register_designation(session, designation(), [])
        reporting.ensure_yearly_reports(session, record)
    yield session
    session.close()


def yearly(session, label="2013-2014") -> CeracReport:
    return session.scalar(select(CeracReport).where(CeracReport.period_label == label))


def draft(sections: dict) -> ReportDraftIn:
    return parse(ReportDraftIn, {"sections": sections})


def outbox_types(session) -> list[str]:
    table = Base.metadata.tables["outbox"]
    return [row.event_type for row in session.execute(select(table).order_by(table.c.id))]


def test_designation_opens_one_report_per_year_with_one_section_per_part(session):
    reports = session.scalars(select(CeracReport).order_by(CeracReport.id)).all()
    assert [(r.period_label, r.due_date) for r in reports] == [
        ("2013-2014", date(2014, 9, 30)),
        ("2014-2015", date(2015, 9, 30)),
    ]
    assert [s.key for s in reports[0].sections] == ["offer", "quality", "development"]
    # The same designation again changes nothing.
    with clock.frozen_at(at(2013, 6, 2, 9, 0)):
        record = ceracs.register_designation(session, designation(), None)
        assert reporting.ensure_yearly_reports(session, record) == []
    assert session.scalar(select(func.count()).select_from(CeracReport)) == 2


def test_support_requests_of_the_year_fill_the_offer_indicators(session):
    request = parse(SupportRequestIn, {"object": "Entrevue", "message": "Pouvez-vous nous aider?"})
    with clock.frozen_at(at(2013, 10, 1, 10, 0)):
        first = support.request_support(session, LEVIS_RAC, 7, request, "Cégep de Lévis")
        support.request_support(session, CSN_RAC, 7, request, "CSS des Navigateurs")
    with clock.frozen_at(at(2013, 10, 3, 10, 0)):
        support.answer(session, CMV_FC, first.id, parse(SupportAnswerIn, {"answer": "Oui."}))
    with clock.frozen_at(at(2014, 8, 1, 10, 0)):  # 2014-2015: not in the 2013-2014 report
        support.request_support(session, LEVIS_RAC, 7, request, "Cégep de Lévis")
    report = yearly(session)
    reporting.refresh_prefilled(session, report)
    offer = report.sections[0]
    assert [(i.source, int(i.achieved)) for i in offer.indicators] == [
        ("support_received", 2),
        ("support_answered", 1),
    ]
    with pytest.raises(DomainError) as error:  # a CERAC does not ask itself
        support.request_support(session, CMV_DG, 7, request, "Cégep Marie-Victorin")
    assert error.value.code == "invalid"
    with pytest.raises(DomainError) as error:  # only the CERAC answers
        support.answer(session, LEVIS_RAC, first.id, parse(SupportAnswerIn, {"answer": "Moi"}))
    assert error.value.code == "not_found"


def complete_all(session, report):
    reporting.save_draft(
        session,
        CMV_DG,
        report.id,
        draft(
            {
                "offer": {**COMPLETE, "indicators": [
                    {"source": "support_received", "target": "4"},
                    {"source": "support_answered", "target": "4"},
                ]},
                "quality": COMPLETE,
                "development": COMPLETE,
            }
        ),
    )  # fmt: skip


def test_submit_review_and_versions(session):
    report = yearly(session)
    with clock.frozen_at(at(2014, 9, 1, 10, 0)):
        reporting.save_draft(session, CMV_DG, report.id, draft({"offer": COMPLETE}))
        with pytest.raises(DomainError) as error:
            reporting.submit(session, CMV_DG, report.id)
        assert set(error.value.details) == {"offer", "quality", "development"}
        # The platform's support counts are kept: their targets are still to be set.
        assert "la valeur cible est manquante" in error.value.details["offer"]
        assert report.status == "draft" and report.versions == []
        complete_all(session, report)
        version = reporting.submit(session, CMV_DG, report.id)
    assert (version.number, version.late, report.status) == (1, False, "submitted")
    assert [i["achieved"] for i in version.content["sections"][0]["indicators"]] == ["0.00"] * 2
    with pytest.raises(DomainError) as error:  # locked while the ministry reviews
        reporting.save_draft(session, CMV_DG, report.id, draft({"offer": COMPLETE}))
    assert error.value.code == "conflict"
    with pytest.raises(DomainError) as error:  # changes need a comment
        reporting.review(
            session, ANALYST, report.id, parse(ReportReviewIn, {"decision": "changes_requested"})
        )  # noqa: E501
    assert error.value.code == "invalid"
    with clock.frozen_at(at(2014, 10, 6, 10, 0)):
        reporting.review(
            session,
            ANALYST,
            report.id,
            parse(
                ReportReviewIn,
                {"decision": "changes_requested", "comments": {"quality": "Précisez."}},
            ),
        )
    with clock.frozen_at(at(2014, 10, 20, 10, 0)):  # after the due date, but asked for
        reporting.save_draft(
            session, CMV_DG, report.id, draft({"quality": {**COMPLETE, "narrative": "Précisé."}})
        )  # noqa: E501
        second = reporting.submit(session, CMV_DG, report.id)
    assert (second.number, second.late) == (2, False)
    with clock.frozen_at(at(2014, 11, 3, 10, 0)):
        reporting.review(
            session, ANALYST, report.id, parse(ReportReviewIn, {"decision": "accepted"})
        )  # noqa: E501
    assert (report.status, report.accepted_on) == ("accepted", date(2014, 11, 3))
    first = reporting.get_version(session, CMV_DG, report.id, 1)
    assert first.content["sections"][1]["narrative"] == COMPLETE["narrative"]  # frozen
    assert first.comments == {"quality": "Précisez."}
    assert outbox_types(session) == [
        "cerac.report_submitted",
        "cerac.report_changes_requested",
        "cerac.report_submitted",
        "cerac.report_accepted",
    ]


def test_a_first_submission_after_the_due_date_is_accepted_and_marked_late(session):
    report = yearly(session)
    with clock.frozen_at(at(2014, 10, 1, 0, 5)):
        complete_all(session, report)
        version = reporting.submit(session, CMV_DG, report.id)
    assert version.late
    assert reporting.report_summary(report, date(2014, 10, 2))["last_version_late"]


def test_another_institution_cannot_read_or_edit_the_report(session):
    report = yearly(session)
    for intruder in (LEVIS_RAC, CSN_RAC):
        with pytest.raises(DomainError) as error:
            reporting.save_draft(session, intruder, report.id, draft({"offer": COMPLETE}))
        assert error.value.code == "not_found"
    for outsider in (EMPLOYER, EVALUATOR):
        with pytest.raises(DomainError) as error:
            reporting.visible_report(session, outsider, report.id)
        assert error.value.code == "forbidden"
    with pytest.raises(DomainError) as error:  # the ministry reviews, it does not write
        reporting.save_draft(session, ANALYST, report.id, draft({"offer": COMPLETE}))
    assert error.value.code == "forbidden"
    assert report.sections[0].objectives == ""
    assert reporting.list_reports(session, LEVIS_RAC) == []


def test_special_mandate_report_has_one_section_per_deliverable(session):
    data = parse(
        SpecialMandateIn,
        {
            "cerac_id": 7,
            "object": "Harmonisation des outils d'évaluation",
            "deliverables": ["Inventaire", "Guide", "Inventaire"],
            "due_date": "2015-06-30",
            "amount": "40 000,004",
        }
        | {"amount": "40 000,00"},
    )
    with clock.frozen_at(at(2014, 11, 10, 10, 0)):
        with pytest.raises(DomainError):
            mandates.assign(session, ANALYST, data)  # the admin entrusts mandates
        mandate = mandates.assign(session, ADMIN, data)
    report = session.scalar(select(CeracReport).where(CeracReport.special_mandate_id == mandate.id))
    assert [s.key for s in report.sections] == ["livrable-1", "livrable-2"]
    assert str(mandate.amount) == "40000.00" and report.due_date == date(2015, 6, 30)
    with clock.frozen_at(at(2015, 6, 1, 10, 0)):
        body = {"objectives": "Livrer", "narrative": "Livré", "indicators": []}
        reporting.save_draft(
            session, CMV_DG, report.id, draft({"livrable-1": body, "livrable-2": body})
        )  # noqa: E501
        assert reporting.submit(session, CMV_DG, report.id).number == 1
    assert "cerac.special_mandate_assigned" in outbox_types(session)
    with pytest.raises(DomainError):  # a past due date is refused
        with clock.frozen_at(at(2015, 7, 1, 10, 0)):
            mandates.assign(session, ADMIN, data)


def test_the_ministry_moves_a_due_date_and_the_reports_follow(session):
    with pytest.raises(DomainError):
        reporting.set_deadline(session, CMV_DG, "2013-2014", date(2014, 10, 15))
    reporting.set_deadline(session, ANALYST, "2013-2014", date(2014, 10, 15))
    assert yearly(session).due_date == date(2014, 10, 15)
    assert yearly(session, "2014-2015").due_date == date(2015, 9, 30)


def test_reminders_once_per_report_and_step_even_run_twice(session):
    assert reminders_batch(session, date(2014, 8, 30))[0] == 0  # 31 days before
    assert reminders_batch(session, date(2014, 9, 1))[0] == 1  # j-30 of 2013-2014
    assert reminders_batch(session, date(2014, 9, 1))[0] == 0  # run again: nothing
    assert reminders_batch(session, date(2014, 9, 25))[0] == 1  # j-7
    assert reminders_batch(session, date(2014, 10, 2))[0] == 1  # late
    assert reminders_batch(session, date(2014, 10, 3))[0] == 0
    steps = session.scalars(select(ReportReminder.step).order_by(ReportReminder.id)).all()
    assert steps == ["j-30", "j-7", "late"]
    assert outbox_types(session).count("cerac.report_due_soon") == 3
    # A submitted report gets no reminder.
    report = yearly(session, "2014-2015")
    with clock.frozen_at(at(2015, 9, 1, 10, 0)):
        complete_all(session, report)
        reporting.submit(session, CMV_DG, report.id)
    assert reminders_batch(session, date(2015, 9, 25))[0] == 0
    assert session.scalar(select(func.count()).select_from(ReportVersion)) == 1


def test_network_search_by_area_and_text_sql_characters_are_plain(session):
    record = ceracs.get(session, LEVIS_RAC, 7)
    record.competence_areas = ["instrumentation", "distance"]
    record.programs = ["180.A0"]
    assert [c.id for c in ceracs.search(session, LEVIS_RAC, area="distance")] == [7]
    assert ceracs.search(session, LEVIS_RAC, area="web") == []
    assert [c.id for c in ceracs.search(session, ANALYST, "instrumentation")] == [7]
    assert [c.id for c in ceracs.search(session, CSN_RAC, "marie victorin")] == [7]
    assert [c.id for c in ceracs.search(session, CSN_RAC, "180.a0")] == [7]
    for text in ("%", "_", "' OR 1=1 --", "Montréal"):
        assert ceracs.search(session, LEVIS_RAC, text) == []
    with pytest.raises(DomainError) as error:
        ceracs.search(session, LEVIS_RAC, area="region")
    assert error.value.code == "invalid"
    with pytest.raises(DomainError) as error:
        ceracs.search(session, EMPLOYER)
    assert error.value.code == "forbidden"


def test_figures_for_the_ministry_only(session):
    with pytest.raises(DomainError):
        reporting.figures(session, CMV_DG)
    figures = reporting.figures(session, ANALYST, date(2014, 10, 5))
    assert figures["late_count"] == 1
    assert figures["late_reports"][0]["due_date"] == "2014-09-30"
    assert figures["late_reports"][0]["days_late"] == 5
    assert {s["status"]: s["count"] for s in figures["reports_by_status"]}["draft"] == 2


def test_only_the_cerac_keeps_its_competence_areas(session):
    with pytest.raises(DomainError) as error:
        ceracs.update_competences(session, LEVIS_RAC, 7, ["web"], [])
    assert error.value.code == "not_found"
    with pytest.raises(DomainError) as error:
        ceracs.update_competences(session, CMV_DG, 7, ["web"], ["180A0"])
    assert error.value.code == "invalid"
    record = ceracs.update_competences(session, CMV_DG, 7, ["web", "distance"], ["180.A0"])
    assert record.competence_areas == ["distance", "web"] and record.programs == ["180.A0"]
