"""Funding of designated CERACs through the billing service in a nameko container over a real
RabbitMQ (SQLite database): ``cerac.designated`` and ``cerac.report_accepted`` consumed once,
the funding RPCs with their scoping and refusals, events written to the outbox. Then two
allocations at the same time on PostgreSQL: the CERAC row lock lets only one pass the cap.
"""

from __future__ import annotations

import base64
import time
from datetime import date
from decimal import Decimal

import eventlet
import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from rac_shared.clock import clock
from rac_shared.errors import DomainError
from rac_shared.events import CeracDesignated, CeracReportAccepted, Envelope
from services.billing.models import (
    Base,
    FundingCerac,
    FundingDisbursement,
    FundingProject,
    OperatingAllocation,
)
from services.billing.service import BillingService
from services.billing.testing import CISSS_HR, CMV, CMV_RAC, LEVIS, LEVIS_RAC, MINISTRY
from tests.service.helpers import publish_envelope, wait_until

TODAY = date(2014, 5, 20)


def designated(cerac_id=1, organisation_id=LEVIS, name="Cégep de Lévis") -> CeracDesignated:
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
        decision_date=date(2013, 5, 31),
        total=Decimal("85.5"),
        below_threshold=False,
        decided_by_user_id=1,
    )


def report_accepted(year="2013-2014", report_id=7) -> CeracReportAccepted:
    return CeracReportAccepted(
        report_id=report_id,
        cerac_id=1,
        organisation_id=LEVIS,
        organisation_name="Cégep de Lévis",
        period_label=year,
        version_number=2,
        accepted_on=TODAY,
        reviewed_by_user_id=2,
    )


def body(payload) -> dict:
    return Envelope.wrap(payload).model_dump(mode="json")


def actor(who) -> dict:
    return who.model_dump(mode="json")


@pytest.fixture
def billing(service_database, container_factory, rabbit_config):
    sessions = service_database("billing")
    container = container_factory(BillingService, rabbit_config)
    replace_dependencies(container, "gateway")
    container.start()

    def call(method: str, *args, **kwargs):
        with clock.frozen_at(TODAY), entrypoint_hook(container, method) as hook:
            return hook(*args, **kwargs)

    call.sessions = sessions
    call.amqp_uri = rabbit_config["AMQP_URI"]
    return call


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def outbox(sessions, event_type: str) -> list[dict]:
    table = Base.metadata.tables["outbox"]
    with sessions() as session:
        rows = session.execute(
            select(table.c.body).where(table.c.event_type == event_type).order_by(table.c.id)
        )
        return [row.body["payload"] for row in rows]


def test_designation_over_rabbitmq_registers_the_cerac_once(billing):
    envelope = Envelope.wrap(designated())
    publish_envelope(billing.amqp_uri, envelope)
    publish_envelope(billing.amqp_uri, envelope)  # redelivered: still one record
    wait_until(lambda: count(billing.sessions, FundingCerac) == 1, message="no CERAC record")
    table = Base.metadata.tables["processed_events"]
    with billing.sessions() as session:
        processed = session.scalar(
            select(func.count())
            .select_from(table)
            .where(table.c.event_id == str(envelope.event_id))
        )
    assert processed == 1
    overview = billing("funding_overview", actor(LEVIS_RAC))
    assert overview["is_cerac"] and [c["name"] for c in overview["ceracs"]] == ["Cégep de Lévis"]
    assert billing("funding_overview", actor(CMV_RAC))["ceracs"] == []


def test_allocations_projects_payments_and_release_through_the_rpcs(billing):
    billing("on_cerac_designated", body(designated()))
    billing("on_cerac_designated", body(designated(2, CMV, "Cégep Marie-Victorin")))
    first = billing(
        "record_funding_allocation",
        actor(MINISTRY),
        1,
        {"fiscal_year": "2014-2015", "amount": "200000", "installments": 4},
    )
    assert [d["status"] for d in first["disbursements"]] == ["held"] + ["scheduled"] * 3
    billing(
        "record_funding_allocation",
        actor(MINISTRY),
        1,
        {"fiscal_year": "2014-2015", "amount": "40000"},
    )

    # over the cap: a clear error, and nothing changed
    before = (
        count(billing.sessions, OperatingAllocation),
        count(billing.sessions, FundingDisbursement),
    )
    with pytest.raises(DomainError) as error:
        billing(
            "record_funding_allocation",
            actor(MINISTRY),
            1,
            {"fiscal_year": "2014-2015", "amount": "10000.01"},
        )
    assert error.value.code == "invalid"
    message = error.value.message.replace("\xa0", " ")
    assert "250 000,00 $" in message and "240 000,00 $" in message and "10 000,00 $" in message
    after = (
        count(billing.sessions, OperatingAllocation),
        count(billing.sessions, FundingDisbursement),
    )
    assert after == before
    assert len(outbox(billing.sessions, "funding.allocation_recorded")) == 2

    # a CERAC submits a project; the ministry adjusts it
    project = billing(
        "submit_funding_project",
        actor(LEVIS_RAC),
        {
            "title": "Formation manquante en ligne",
            "mandate_part": "development",
            "objectives": "Offrir la formation manquante à distance.",
            "budget_lines": [{"label": "Conception", "amount": "30 000,00"}],
            "period_start": "2014-06-01",
            "period_end": "2015-05-31",
        },
    )
    assert project["status"] == "submitted" and project["requested_amount"] == "30000.00"
    with pytest.raises(DomainError) as error:  # a CERAC does not decide
        billing("decide_funding_project", actor(LEVIS_RAC), project["id"], {"decision": "approved"})
    assert error.value.code == "forbidden"
    decided = billing(
        "decide_funding_project",
        actor(MINISTRY),
        project["id"],
        {"decision": "adjusted", "approved_amount": "25000", "reason": "Budget révisé."},
    )
    assert decided["approved_amount"] == "25000.00" and len(decided["disbursements"]) == 2
    [event] = outbox(billing.sessions, "funding.project_decided")
    assert event["decision"] == "adjusted" and event["organisation_id"] == LEVIS

    # scoping: another institution finds nothing; an employer is refused by the service too
    for who in (CMV_RAC,):
        for method, args in (
            ("funding_statement", (1,)),
            ("funding_statement_csv", (1,)),
            ("get_funding_project", (project["id"],)),
            ("get_funding_allocation", (first["id"],)),
        ):
            with pytest.raises(DomainError) as error:
                billing(method, actor(who), *args)
            assert error.value.code == "not_found", method
    assert billing("funding_overview", actor(CISSS_HR))["ceracs"] == []
    with pytest.raises(DomainError) as error:
        billing("funding_figures", actor(LEVIS_RAC))
    assert error.value.code == "forbidden"

    # the held disbursement: refused, released once by the accepted report, then paid
    held = first["disbursements"][0]
    with pytest.raises(DomainError) as error:
        billing("pay_funding_disbursement", actor(MINISTRY), held["id"], {"paid_on": "2014-05-20"})
    assert "2013-2014" in error.value.message
    accepted = body(report_accepted())
    billing("on_cerac_report_accepted", accepted)
    billing("on_cerac_report_accepted", accepted)  # redelivered
    billing("on_cerac_report_accepted", body(report_accepted(report_id=8)))  # a later version
    [released] = outbox(billing.sessions, "funding.disbursement_released")
    assert released["disbursement_id"] == held["id"] and released["report_id"] == 7
    paid = billing(
        "pay_funding_disbursement",
        actor(MINISTRY),
        held["id"],
        {"paid_on": "2014-05-20", "reference": "VIR-2014-001"},
    )
    assert paid["status"] == "paid"
    assert outbox(billing.sessions, "funding.disbursement_paid")[0]["amount"] == "50000.00"

    statement = billing("funding_statement", actor(LEVIS_RAC), 1, "2014-2015")
    assert statement["operating_allocated"] == "240000.00"
    assert statement["projects_approved"] == "25000.00"
    assert statement["paid"] == "50000.00" and statement["remaining"] == "215000.00"
    # A CSV reply names its file (the contract's CsvReply): its content is the CSV.
    csv_text = billing("funding_statement_csv", actor(MINISTRY), 1, "2014-2015")["content"]
    assert csv_text.startswith("\ufeffCERAC;Exercice;Rubrique;Montant")
    figures = billing("funding_figures", actor(MINISTRY), "2014-2015")
    assert {c["name"]: c["operating_allocated"] for c in figures["ceracs"]} == {
        "Cégep de Lévis": "240000.00",
        "Cégep Marie-Victorin": "0.00",
    }
    assert figures["totals"]["projects_approved"] == "25000.00"
    pdf = billing("funding_statement_pdf", actor(LEVIS_RAC), 1, "2014-2015")
    assert base64.b64decode(pdf["content_b64"]).startswith(b"%PDF")
    assert pdf["filename"] == "financement-cerac-1-2014-2015.pdf"


def test_bad_input_is_refused_and_nothing_is_saved(billing):
    billing("on_cerac_designated", body(designated()))
    for data in (
        {"fiscal_year": "2014", "amount": "1000"},
        {"fiscal_year": "2014-2015", "amount": "-1"},
        {"fiscal_year": "2014-2015", "amount": "1000", "extra": "x"},
    ):
        with pytest.raises(DomainError) as error:
            billing("record_funding_allocation", actor(MINISTRY), 1, data)
        assert error.value.code == "invalid"
    with pytest.raises(DomainError) as error:
        billing(
            "record_funding_allocation",
            actor(MINISTRY),
            99,
            {"fiscal_year": "2014-2015", "amount": "1"},
        )
    assert error.value.code == "not_found"
    with pytest.raises(DomainError) as error:  # not a CERAC
        billing(
            "submit_funding_project",
            actor(CMV_RAC),
            {
                "title": "Projet",
                "mandate_part": "offer",
                "objectives": "Objectifs",
                "budget_lines": [{"label": "Poste", "amount": "1000"}],
                "period_start": "2014-06-01",
                "period_end": "2014-12-31",
            },
        )
    assert error.value.code == "forbidden"
    with pytest.raises(DomainError) as error:
        billing("funding_statement", actor(MINISTRY), 1, "2014-2016")
    assert error.value.code == "invalid"
    assert count(billing.sessions, OperatingAllocation) == 0
    assert count(billing.sessions, FundingProject) == 0


# -- two allocations at the same time (PostgreSQL) -----------------------------------------------


@pytest.fixture
def postgres_sessions():
    """A fresh PostgreSQL database migrated with billing's schema (tests/support/postgres)."""
    from tests.support.postgres import fresh_database

    with fresh_database("billing", "rac_tfund_") as url:
        engine = create_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)

        def session():
            s = factory()
            s.info["metadata"] = Base.metadata
            return s

        try:
            yield session
        finally:
            engine.dispose()


def test_two_simultaneous_allocations_cannot_both_pass_the_cap(postgres_sessions):
    from rac_shared.contracts.funding import AllocationIn
    from services.billing import funding

    with postgres_sessions() as session, clock.frozen_at(TODAY):
        funding.register_cerac(session, designated())
        session.commit()

    data = AllocationIn(fiscal_year="2014-2015", amount="150000")
    first = postgres_sessions()
    with clock.frozen_at(TODAY):
        funding.record_allocation(first, MINISTRY, 1, data)  # holds the CERAC row, uncommitted

    outcome = {}

    def second():
        started = time.monotonic()
        with postgres_sessions() as session, clock.frozen_at(TODAY):
            try:
                funding.record_allocation(session, MINISTRY, 1, data)
                session.commit()
                outcome["result"] = "recorded"
            except DomainError as exc:
                session.rollback()
                outcome["result"] = exc.code
        outcome["waited"] = time.monotonic() - started

    thread = eventlet.spawn(second)
    eventlet.sleep(0.5)  # the second allocation is now waiting for the lock
    assert "result" not in outcome
    first.commit()
    first.close()
    thread.wait()
    assert outcome["result"] == "invalid"  # it saw the first one's 150 000 $ once unblocked
    assert outcome["waited"] >= 0.4
    with postgres_sessions() as session:
        assert funding.operating_total(session, 1, "2014-2015") == Decimal("150000.00")
