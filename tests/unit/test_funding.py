"""Funding of designated CERACs through billing's domain functions (in-memory database): the
dated operating cap over several allocations and fiscal years, development projects outside
it, schedules that add up to the cent, holds until a yearly report is accepted, statements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from rac_shared.clock import clock
from rac_shared.contracts.base import parse
from rac_shared.contracts.funding import (
    AllocationIn,
    DisbursementPaymentIn,
    ProjectIn,
    ScheduleIn,
)
from rac_shared.contracts.funding import ProjectDecisionIn as DecisionIn
from rac_shared.errors import DomainError
from rac_shared.events import CeracDesignated, CeracReportAccepted
from services.billing import funding as F
from services.billing.config import billing_settings
from services.billing.funding import views as V
from services.billing.models import (
    FundingDisbursement,
    FundingProject,
    OperatingAllocation,
)
from services.billing.testing import CMV, CMV_RAC, LEVIS, LEVIS_RAC, MINISTRY, memory_session

D = Decimal
OUTBOX = "outbox"


def plain(text: str) -> str:
    """Money is written with non-breaking spaces (fr_CA): compare with plain ones."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


@pytest.fixture
def session():
    session = memory_session()
    yield session
    session.close()


def designated(cerac_id=1, organisation_id=LEVIS, on=date(2013, 5, 31), name="Cégep de Lévis"):
    return CeracDesignated(
        cerac_id=cerac_id,
        evaluation_id=cerac_id,
        application_id=cerac_id,
        call_id=1,
        call_title="Appel d'intérêt 2012-2013",
        organisation_id=organisation_id,
        organisation_name=name,
        reference=f"CERAC-2012-{cerac_id:03d}",
        education_order="collégial",
        mandate_parts=["offer", "quality", "development"],
        experimentation_years=["2013-2014", "2014-2015"],
        decision_date=on,
        total=D("85.5"),
        below_threshold=False,
        decided_by_user_id=1,
    )


def accepted(cerac_id=1, year="2013-2014", report_id=10, mandate=None):
    return CeracReportAccepted(
        report_id=report_id,
        cerac_id=cerac_id,
        organisation_id=LEVIS,
        organisation_name="Cégep de Lévis",
        period_label=year,
        special_mandate_id=mandate,
        version_number=1,
        accepted_on=date(2014, 6, 20),
        reviewed_by_user_id=2,
    )


def allocate(session, amount, year="2013-2014", cerac_id=1, on=date(2013, 6, 10), **kw):
    with clock.frozen_at(on):
        row = F.record_allocation(
            session,
            MINISTRY,
            cerac_id,
            AllocationIn(fiscal_year=year, amount=amount, **kw),
        )
        session.commit()
        return row


def events(session, event_type=None) -> list[dict]:
    table = session.info["metadata"].tables[OUTBOX]
    query = select(table.c.body).order_by(table.c.id)
    if event_type:
        query = query.where(table.c.event_type == event_type)
    return [row.body["payload"] for row in session.execute(query)]


def project_in(**overrides) -> ProjectIn:
    data = {
        "title": "Trousse d'évaluation à distance en soins infirmiers",
        "mandate_part": "development",
        "objectives": "Outiller les établissements pour la RAC à distance.",
        "budget_lines": [
            {"label": "Conception des instruments", "amount": "42000"},
            {"label": "Plateforme de visioconférence", "amount": "8000.50"},
        ],
        "period_start": "2013-09-01",
        "period_end": "2014-08-31",
        **overrides,
    }
    return parse(ProjectIn, data)


@pytest.fixture
def cerac(session):
    row = F.register_cerac(session, designated())
    session.commit()
    return row


# -- fiscal years and the dated cap -----------------------------------------------------------


def test_fiscal_years_run_from_april_to_march():
    assert F.fiscal_year_of(date(2025, 4, 1)) == "2025-2026"
    assert F.fiscal_year_of(date(2026, 3, 31)) == "2025-2026"
    assert F.fiscal_bounds("2013-2014") == (date(2013, 4, 1), date(2014, 3, 31))
    assert F.previous_fiscal_year("2014-2015") == "2013-2014"
    for bad in ("2013-2015", "2013", "abcd-efgh"):
        with pytest.raises(DomainError):
            F.fiscal_bounds(bad)


def test_the_cap_is_the_one_in_force_on_the_first_day_of_the_fiscal_year():
    caps = [(date(2013, 4, 1), D("250000")), (date(2027, 4, 1), D("275000"))]
    assert F.cap_for("2013-2014", caps) == D("250000.00")
    assert F.cap_for("2026-2027", caps) == D("250000.00")
    assert F.cap_for("2027-2028", caps) == D("275000.00")
    assert F.cap_for("2012-2013", caps) is None
    # the default comes from the settings, not from the code
    assert F.cap_for("2025-2026") == D("250000.00")


def test_the_cap_setting_is_dated_and_overridable(monkeypatch, session, cerac):
    monkeypatch.setenv("BILLING_FUNDING_OPERATING_CAPS", "2013-04-01:250000,2014-04-01:300000")
    billing_settings.cache_clear()
    try:
        allocate(session, "250000", "2013-2014")
        allocate(session, "300000", "2014-2015", on=date(2014, 5, 1))
        with pytest.raises(DomainError) as error:
            allocate(session, "0.01", "2014-2015", on=date(2014, 5, 2))
        assert "300 000,00 $" in plain(error.value.message)
    finally:
        monkeypatch.delenv("BILLING_FUNDING_OPERATING_CAPS")
        billing_settings.cache_clear()


def test_a_malformed_cap_setting_is_refused(monkeypatch):
    monkeypatch.setenv("BILLING_FUNDING_OPERATING_CAPS", "avril:beaucoup")
    billing_settings.cache_clear()
    try:
        with pytest.raises(ValueError):
            billing_settings()
    finally:
        monkeypatch.delenv("BILLING_FUNDING_OPERATING_CAPS")
        billing_settings.cache_clear()


# -- allocations against the cap --------------------------------------------------------------


def test_several_allocations_in_one_year_add_up_against_the_cap(session, cerac):
    allocate(session, "150000")
    allocate(session, "90000.50")
    allocate(session, "9999.50")  # exactly the cap
    assert F.operating_total(session, 1, "2013-2014") == D("250000.00")
    with pytest.raises(DomainError) as error:
        allocate(session, "0.01")
    assert error.value.code == "invalid"
    message = plain(error.value.message)
    assert "250 000,00 $" in message and "il reste 0,00 $" in message
    assert session.scalar(select(func.count(OperatingAllocation.id))) == 3
    recorded = events(session, "funding.allocation_recorded")
    assert [e["operating_total_for_year"] for e in recorded] == [
        "150000.00",
        "240000.50",
        "250000.00",
    ]
    assert {e["operating_cap"] for e in recorded} == {"250000.00"}


def test_an_allocation_over_the_cap_says_what_remains_and_changes_nothing(session, cerac):
    allocate(session, "200000")
    before = len(events(session))
    with pytest.raises(DomainError) as error:
        allocate(session, "60000")
    session.rollback()
    message = plain(error.value.message)
    assert "plafond de fonctionnement de l'exercice 2013-2014 est de 250 000,00 $" in message
    assert "200 000,00 $ sont déjà alloués" in message
    assert "il reste 50 000,00 $" in message and "60 000,00 $" in message
    assert plain(error.value.details["amount"]) == "Au plus 50 000,00 $."
    assert session.scalar(select(func.count(OperatingAllocation.id))) == 1
    assert session.scalar(select(func.count(FundingDisbursement.id))) == 4
    assert len(events(session)) == before


def test_the_cap_applies_per_fiscal_year(session, cerac):
    allocate(session, "250000", "2013-2014", on=date(2014, 3, 31))
    allocate(session, "250000", "2014-2015", on=date(2014, 4, 1))  # a new year, a new cap
    with pytest.raises(DomainError):
        allocate(session, "1", "2014-2015", on=date(2014, 4, 2))
    # the label chosen, not the date of recording, decides the year
    with pytest.raises(DomainError):
        allocate(session, "1", "2013-2014", on=date(2014, 4, 2))


def test_the_cap_is_per_cerac(session, cerac):
    F.register_cerac(session, designated(2, CMV, name="Cégep Marie-Victorin"))
    allocate(session, "250000", cerac_id=1)
    allocate(session, "250000", cerac_id=2)


def test_development_projects_are_outside_the_cap(session, cerac):
    allocate(session, "250000")
    with clock.frozen_at(date(2013, 7, 2)):
        project = F.submit_project(session, LEVIS_RAC, project_in())
        F.decide_project(session, MINISTRY, project.id, DecisionIn(decision="approved"))
    report = V.statement(session, MINISTRY, 1, "2013-2014")
    assert report["operating_allocated"] == "250000.00"
    assert report["cap_remaining"] == "0.00"
    assert report["projects_approved"] == "50000.50"
    assert report["total_funded"] == "300000.50"
    assert report["remaining"] == "300000.50"
    with pytest.raises(DomainError):  # still at the cap for operation
        allocate(session, "1")


def test_no_allocation_before_the_designation(session, cerac):
    with pytest.raises(DomainError) as error:
        allocate(session, "1000", "2012-2013")
    assert "désigné" in plain(error.value.message)


def test_only_ministry_managers_allocate(session, cerac):
    from rac_shared.actor import Role
    from services.billing.testing import actor

    for who in (LEVIS_RAC, actor(Role.MINISTRY_EVALUATOR, 1, 3)):
        with pytest.raises(DomainError) as error:
            F.record_allocation(
                session, who, 1, AllocationIn(fiscal_year="2013-2014", amount="1000")
            )
        assert error.value.code == "forbidden"


def test_bad_allocation_input_is_refused():
    for data, field in (
        ({"fiscal_year": "2013-2015", "amount": "1000"}, "fiscal_year"),
        ({"fiscal_year": "2013-2014", "amount": "-5"}, "amount"),
        ({"fiscal_year": "2013-2014", "amount": "0"}, "amount"),
        ({"fiscal_year": "2013-2014", "amount": 12.5}, "amount"),
        ({"fiscal_year": "2013-2014", "amount": "10.001"}, "amount"),
    ):
        with pytest.raises(DomainError) as error:
            parse(AllocationIn, data)
        assert field in error.value.details


# -- schedules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        ("250000", 4, ["62500.00"] * 4),
        ("100000", 3, ["33333.33", "33333.33", "33333.34"]),
        ("200", 3, ["66.67", "66.67", "66.66"]),
        ("0.02", 4, ["0.01", "0.01"]),
        ("0.05", 4, ["0.01", "0.01", "0.01", "0.02"]),
        ("1000.01", 1, ["1000.01"]),
    ],
)
def test_split_rounds_once_and_the_last_takes_the_remainder(total, count, expected):
    shares = F.split_amount(D(total), count)
    assert [str(s) for s in shares] == expected
    assert sum(shares) == D(total)


def test_allocation_schedule_is_spread_over_the_fiscal_year(session, cerac):
    allocation = allocate(session, "100000", "2014-2015", on=date(2014, 3, 1), installments=3)
    rows = allocation.disbursements
    assert [r.due_on for r in rows] == [date(2014, 4, 1), date(2014, 8, 1), date(2014, 12, 1)]
    assert sum(r.amount for r in rows) == D("100000.00")
    # recorded mid-year: what is already due is due at once
    late = allocate(session, "1000", "2014-2015", on=date(2014, 9, 15), installments=4)
    assert [r.due_on for r in late.disbursements] == [
        date(2014, 9, 15),
        date(2014, 9, 15),
        date(2014, 10, 1),
        date(2015, 1, 1),
    ]


def test_the_ministry_edits_the_unpaid_schedule_which_must_add_up(session, cerac):
    allocation = allocate(session, "100000", installments=2, on=date(2013, 6, 1))
    first = allocation.disbursements[0]
    with clock.frozen_at(date(2013, 6, 2)):
        F.pay_disbursement(
            session, MINISTRY, first.id, DisbursementPaymentIn(paid_on=date(2013, 6, 2))
        )
        bad = parse(ScheduleIn, {"items": [{"due_on": "2013-12-01", "amount": "40000"}]})
        with pytest.raises(DomainError) as error:
            F.replace_schedule(session, MINISTRY, "allocation", allocation.id, bad)
        message = plain(error.value.message)
        assert "90 000,00 $" in message and "100 000,00 $" in message
        good = parse(
            ScheduleIn,
            {
                "items": [
                    {"due_on": "2014-01-15", "amount": "20000"},
                    {"due_on": "2013-11-01", "amount": "30000", "hold_report_year": ""},
                ]
            },
        )
        F.replace_schedule(session, MINISTRY, "allocation", allocation.id, good)
        session.commit()
    session.refresh(allocation)
    rows = allocation.disbursements
    assert [(r.position, r.due_on, r.amount, r.status) for r in rows] == [
        (1, date(2013, 6, 1), D("50000.00"), "paid"),
        (2, date(2013, 11, 1), D("30000.00"), "scheduled"),
        (3, date(2014, 1, 15), D("20000.00"), "scheduled"),
    ]


# -- holds until a report is accepted -------------------------------------------------------------


def test_first_allocation_of_a_year_is_held_until_the_previous_report(session, cerac):
    first_year = allocate(session, "100000", "2013-2014")  # no report for 2012-2013
    assert [d.hold_report_year for d in first_year.disbursements] == [None] * 4
    after = allocate(session, "1000", "2015-2016", on=date(2015, 5, 1))  # reports 2014-2015
    assert after.disbursements[0].hold_report_year == "2014-2015"
    later = allocate(session, "1000", "2016-2017", on=date(2016, 5, 1))  # no report 2015-2016
    assert [d.hold_report_year for d in later.disbursements] == [None] * 4
    second_year = allocate(session, "100000", "2014-2015", on=date(2014, 4, 2))
    holds = [d.hold_report_year for d in second_year.disbursements]
    assert holds == ["2013-2014", None, None, None]
    more = allocate(session, "10000", "2014-2015", on=date(2014, 4, 3))  # not the first: no hold
    assert all(d.hold_report_year is None for d in more.disbursements)
    held = second_year.disbursements[0]
    assert held.held
    with clock.frozen_at(date(2014, 4, 5)):
        with pytest.raises(DomainError) as error:
            F.pay_disbursement(
                session, MINISTRY, held.id, DisbursementPaymentIn(paid_on=date(2014, 4, 5))
            )
    assert "retenu jusqu'à l'acceptation du rapport" in plain(error.value.message)
    assert "2013-2014" in plain(error.value.message)

    # a special mandate's report releases nothing; the yearly report does, once
    assert F.report_accepted(session, accepted(mandate=3)) == []
    released = F.report_accepted(session, accepted())
    assert [d.id for d in released] == [held.id]
    assert F.report_accepted(session, accepted()) == []
    session.commit()
    assert not held.held and held.released_on == date(2014, 6, 20)
    assert [e["disbursement_id"] for e in events(session, "funding.disbursement_released")] == [
        held.id
    ]
    with clock.frozen_at(date(2014, 6, 21)):
        F.pay_disbursement(
            session,
            MINISTRY,
            held.id,
            DisbursementPaymentIn(paid_on=date(2014, 6, 21), reference="VIR-1"),
        )
    paid = events(session, "funding.disbursement_paid")
    assert paid[-1]["amount"] == "25000.00" and paid[-1]["allocation_id"] == second_year.id


def test_no_hold_when_the_previous_report_was_already_accepted(session, cerac):
    F.report_accepted(session, accepted())
    allocation = allocate(session, "100000", "2014-2015", on=date(2014, 7, 1))
    assert all(not d.held for d in allocation.disbursements)


def test_a_manual_hold_on_an_accepted_year_is_released_at_once(session, cerac):
    F.report_accepted(session, accepted())
    allocation = allocate(session, "1000", "2013-2014", installments=1)
    with clock.frozen_at(date(2014, 7, 1)):
        F.replace_schedule(
            session,
            MINISTRY,
            "allocation",
            allocation.id,
            parse(
                ScheduleIn,
                {
                    "items": [
                        {"due_on": "2014-07-01", "amount": "500", "hold_report_year": "2013-2014"},
                        {"due_on": "2014-08-01", "amount": "500", "hold_report_year": "2014-2015"},
                    ]
                },
            ),
        )
    session.refresh(allocation)
    assert [d.held for d in allocation.disbursements] == [False, True]


def test_a_disbursement_is_paid_once(session, cerac):
    allocation = allocate(session, "1000", installments=1)
    row = allocation.disbursements[0]
    with clock.frozen_at(date(2013, 6, 11)):
        with pytest.raises(DomainError) as error:
            F.pay_disbursement(
                session, MINISTRY, row.id, DisbursementPaymentIn(paid_on=date(2013, 6, 12))
            )
        assert "futur" in plain(error.value.message)
        F.pay_disbursement(
            session, MINISTRY, row.id, DisbursementPaymentIn(paid_on=date(2013, 6, 11))
        )
        with pytest.raises(DomainError) as error:
            F.pay_disbursement(
                session, MINISTRY, row.id, DisbursementPaymentIn(paid_on=date(2013, 6, 11))
            )
    assert error.value.code == "conflict"


# -- development projects --------------------------------------------------------------------------


def test_a_cerac_submits_and_the_ministry_adjusts_with_a_reason(session, cerac):
    with clock.frozen_at(date(2013, 7, 2)):
        project = F.submit_project(session, LEVIS_RAC, project_in())
    assert project.requested_amount == D("50000.50") and project.fiscal_year == "2013-2014"
    submitted = events(session, "funding.project_submitted")[0]
    assert submitted["requested_amount"] == "50000.50" and submitted["organisation_id"] == LEVIS
    with pytest.raises(DomainError) as error:
        F.decide_project(
            session, MINISTRY, project.id, DecisionIn(decision="adjusted", approved_amount="40000")
        )
    assert error.value.details == {"reason": "Motif obligatoire."}
    with pytest.raises(DomainError) as error:
        F.decide_project(
            session,
            MINISTRY,
            project.id,
            DecisionIn(decision="adjusted", approved_amount="60000", reason="Trop cher"),
        )
    assert "approved_amount" in error.value.details
    with clock.frozen_at(date(2013, 7, 20)):
        F.decide_project(
            session,
            MINISTRY,
            project.id,
            DecisionIn(
                decision="adjusted",
                approved_amount="40000",
                reason="La plateforme est fournie par le Ministère.",
                installments=3,
            ),
        )
    assert project.status == "adjusted" and project.approved_amount == D("40000.00")
    rows = project.disbursements
    assert [str(r.amount) for r in rows] == ["13333.33", "13333.33", "13333.34"]
    assert [r.due_on for r in rows] == [date(2013, 9, 1), date(2014, 1, 1), date(2014, 5, 1)]
    decided = events(session, "funding.project_decided")[0]
    assert decided["decision"] == "adjusted" and decided["approved_amount"] == "40000.00"
    with pytest.raises(DomainError) as error:  # decided once
        F.decide_project(session, MINISTRY, project.id, DecisionIn(decision="approved"))
    assert error.value.code == "conflict"


def test_a_refusal_needs_a_reason_and_funds_nothing(session, cerac):
    project = F.submit_project(session, LEVIS_RAC, project_in())
    with pytest.raises(DomainError):
        F.decide_project(session, MINISTRY, project.id, DecisionIn(decision="refused"))
    F.decide_project(
        session, MINISTRY, project.id, DecisionIn(decision="refused", reason="Hors mandat.")
    )
    assert project.disbursements == [] and project.approved_amount is None


def test_only_a_cerac_submits_and_sees_its_own(session, cerac):
    with pytest.raises(DomainError) as error:  # Marie-Victorin is not a CERAC here
        F.submit_project(session, CMV_RAC, project_in())
    assert error.value.code == "forbidden"
    with pytest.raises(DomainError) as error:
        F.submit_project(session, MINISTRY, project_in())
    assert error.value.code == "forbidden"
    project = F.submit_project(session, LEVIS_RAC, project_in())
    for call in (
        lambda: V.statement(session, CMV_RAC, 1, None),
        lambda: V.get_project(session, CMV_RAC, project.id),
    ):
        with pytest.raises(DomainError) as error:
            call()
        assert error.value.code == "not_found"
    assert V.get_project(session, LEVIS_RAC, project.id)["can_decide"] is False
    assert session.scalar(select(func.count(FundingProject.id))) == 1


def test_bad_project_input_is_refused():
    for overrides, field in (
        ({"budget_lines": []}, "budget_lines"),
        ({"mandate_part": "territory"}, "mandate_part"),
        ({"period_end": "2013-01-01"}, "period_end"),
        ({"title": ""}, "title"),
        ({"budget_lines": [{"label": "x", "amount": "0"}]}, "budget_lines.0.amount"),
    ):
        with pytest.raises(DomainError) as error:
            project_in(**overrides)
        assert field in error.value.details, error.value.details


# -- the registry, statement, CSV and figures ------------------------------------------------


def test_registering_a_cerac_twice_keeps_one_record(session):
    F.register_cerac(session, designated())
    F.register_cerac(session, designated(name="Cégep de Lévis (Lévis)"))
    assert [c.name for c in F.ceracs_of(session, MINISTRY)] == ["Cégep de Lévis (Lévis)"]
    assert [c.cerac_id for c in F.ceracs_of(session, LEVIS_RAC)] == [1]
    assert F.ceracs_of(session, CMV_RAC) == []


def test_statement_csv_and_figures(session, cerac):
    allocate(session, "240000", "2014-2015", on=date(2014, 4, 2), installments=2)
    with clock.frozen_at(date(2014, 4, 3)):
        project = F.submit_project(
            session, LEVIS_RAC, project_in(period_start="2014-05-01", title="=HYPERLINK()")
        )
        F.decide_project(
            session, MINISTRY, project.id, DecisionIn(decision="approved", installments=1)
        )
        second = session.scalars(
            select(FundingDisbursement).where(FundingDisbursement.project_id == project.id)
        ).one()
    with clock.frozen_at(date(2014, 5, 2)):
        F.pay_disbursement(
            session, MINISTRY, second.id, DisbursementPaymentIn(paid_on=date(2014, 5, 2))
        )
        report = V.statement(session, LEVIS_RAC, 1, "2014-2015")
        figures = V.figures(session, MINISTRY, "2014-2015")
    assert report["operating_allocated"] == "240000.00" and report["cap_remaining"] == "10000.00"
    assert report["paid"] == "50000.50" and report["held"] == "120000.00"
    assert report["remaining"] == "240000.00"
    assert [d["status"] for d in report["schedule"]] == ["held", "paid", "scheduled"]
    csv_text = V.statement_csv(report)
    assert csv_text.startswith("\ufeffCERAC;Exercice;Rubrique;Montant")
    assert "Cégep de Lévis;2014-2015;Fonctionnement alloué;240000,00" in csv_text
    assert ";=" not in csv_text and V._cell("=HYPERLINK()") == "'=HYPERLINK()"  # no formula
    [row] = figures["ceracs"]
    assert row["cap"] == "250000.00" and row["cap_used_percent"] == 96
    assert row["projects_approved"] == "50000.50" and row["paid"] == "50000.50"
    assert figures["totals"]["remaining"] == "240000.00"
    with pytest.raises(DomainError) as error:
        V.figures(session, LEVIS_RAC, None)
    assert error.value.code == "forbidden"
    html = V.statement_html(report)
    assert "240 000,00 $" in plain(html) and "au rapport 2013-2014" in html
