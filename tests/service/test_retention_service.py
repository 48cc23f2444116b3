"""Retention under Loi 25 in real nameko containers over RabbitMQ (plans, billing, the
gateway's directory): an access request exports one person and is recorded; an accepted plan
cancelled is anonymised by the job exactly when its retention period has run out (not a day
before, once however often it runs), its PDF destroyed, its counts kept; billing replaces
the names it copied when ``plan.anonymised`` reaches it over the bus."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select, text

from rac_shared.clock import clock
from rac_shared.errors import DomainError
from services.plans.lifecycle import PENDING
from services.plans.models import PlanDocument
from services.plans.retention import run_retention
from tests.service.helpers import wait_until
from tests.service.test_calendars_service import billing  # noqa: F401  (fixture)
from tests.service.test_plans_service import (  # noqa: F401  (fixtures)
    CANDIDATES,
    ESTIMATE,
    accept_first_offer,
    build_plan,
    local,
    plans,
    platform,
)

EMPLOYER = "rh@cisss.demo.quebec"


def accepted_then_cancelled(plans, platform):  # noqa: F811
    coordinator, plan_id = build_plan(plans, platform)
    employer = platform["people"][EMPLOYER]
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=ESTIMATE)
    with clock.frozen_at(local(2026, 9, 1, 10, 0)):
        plans.issue(actor=coordinator, plan_id=plan_id)
    with clock.frozen_at(local(2026, 9, 10, 10, 0)):
        accept_first_offer(plans, employer, plan_id)
    with clock.frozen_at(local(2026, 11, 20, 10, 0)):
        plans.cancel(actor=coordinator, plan_id=plan_id, data={"reason": "Fermeture du service."})
    return coordinator, plan_id


def test_an_access_request_exports_one_person_and_is_recorded(plans, platform):  # noqa: F811
    coordinator, plan_id = build_plan(plans, platform)
    person = CANDIDATES[0]
    with clock.frozen_at(local(2026, 9, 2, 14, 0)):
        export = plans.export_personal_information(
            actor=coordinator, data={"email": person["email"].upper()}
        )
    assert export["full_name"] == person["full_name"]
    assert export["exported_by"] == coordinator["full_name"]
    assert export["retention_months"] == 24
    [found] = export["plans"]
    assert found["plan_id"] == plan_id and found["status"] == "draft"
    assert found["kept_until"] is None  # still running
    [version] = found["versions"]
    assert (version["email"], version["job_title"], version["rhythm"]) == (
        person["email"],
        person["job_title"],
        person["rhythm"],
    )
    assert version["calendar"][0]["start"] == person["start_date"]
    assert found["progress"]["step"] == "not_started"
    # Nobody else's: another candidate-worker's name is nowhere in the export.
    assert CANDIDATES[1]["full_name"] not in str(export)

    nobody = plans.export_personal_information(
        actor=coordinator, data={"email": "personne@exemple.quebec"}
    )
    assert nobody["plans"] == [] and nobody["full_name"] is None
    records = plans.privacy_records(actor=coordinator)
    assert [(r["kind"], r["subject"], r["details"]) for r in records] == [
        ("exported", "personne@exemple.quebec", {"plan_ids": []}),
        ("exported", person["email"], {"plan_ids": [plan_id]}),
    ]
    assert records[1]["kind_label"].startswith("Renseignements d'une personne exportés")

    # Only institutions, and only their own plans.
    with pytest.raises(DomainError) as error:
        plans.export_personal_information(
            actor=platform["people"][EMPLOYER], data={"email": person["email"]}
        )
    assert error.value.code == "forbidden"
    other = plans.export_personal_information(
        actor=platform["people"]["rac@cmv.demo.quebec"], data={"email": person["email"]}
    )
    assert other["plans"] == []
    with pytest.raises(DomainError) as error:
        plans.export_personal_information(actor=coordinator, data={"email": "pas un courriel"})
    assert error.value.code == "invalid"


def test_the_retention_job_anonymises_an_ended_plan_once_on_its_day(
    plans,  # noqa: F811
    billing,  # noqa: F811
    platform,  # noqa: F811
):
    coordinator, plan_id = accepted_then_cancelled(plans, platform)
    names = {c["full_name"] for c in CANDIDATES}

    def billed_names():
        try:
            costs = billing.cancellation_costs(actor=coordinator, plan_id=plan_id)
        except DomainError:  # billing has not heard of the plan yet
            return None
        return {p["full_name"] for line in costs["lines"] for p in line["people"]}

    assert wait_until(lambda: billed_names() == names, timeout=30, message="no cancellation")

    factory = platform["plans_db"]

    def issued_pdfs_rendered() -> bool:
        with factory() as session:
            pending = select(PlanDocument.id).where(PlanDocument.sha256 == PENDING)
            return session.scalar(pending) is None

    # The service renders the issued PDFs in the background: the job runs once they are
    # done, not beside that render on the one SQLite file (a writer waiting for SQLite's
    # lock blocks the whole process, renderer replies included, on a busy machine).
    assert wait_until(issued_pdfs_rendered, timeout=120, message="the issued PDF pending")
    # Cancelled on 20 November 2026: kept 24 months, anonymised on 20 November 2028.
    assert run_retention(date(2028, 11, 19), factory)["anonymised"] == 0
    assert plans.get_plan(actor=coordinator, plan_id=plan_id)["anonymised_on"] is None
    with clock.frozen_at(local(2028, 11, 20, 3, 15)):
        assert run_retention(date(2028, 11, 20), factory) == {
            "examined": 1,
            "anonymised": 1,
            "retention_months": 24,
        }
    assert run_retention(date(2028, 11, 20), factory)["anonymised"] == 0  # once
    assert run_retention(date(2029, 1, 1), factory)["examined"] == 0

    view = plans.get_plan(actor=coordinator, plan_id=plan_id)
    assert view["anonymised_on"] == "2028-11-20"
    candidates = view["content"]["candidates"]
    assert [c["full_name"] for c in candidates] == ["Personne candidate 1", "Personne candidate 2"]
    assert [c["email"] for c in candidates] == [
        "personne-1@anonyme.invalid",
        "personne-2@anonyme.invalid",
    ]
    assert [c["start_date"] for c in candidates] == [c["start_date"] for c in CANDIDATES]
    assert view["computed"]["candidate_count"] == 2  # the figures do not move
    assert not names & {c["full_name"] for c in view["computed"]["calendars"]}
    assert "plan_pdf" not in view["version"]["documents"]
    assert not view["permissions"]["amend"] and not view["permissions"]["cancel"]
    with pytest.raises(DomainError) as error:
        plans.get_pdf(actor=coordinator, plan_id=plan_id)
    assert "détruit le 20 novembre 2028" in error.value.message
    with factory() as session:
        [document] = session.scalars(select(PlanDocument)).all()
        assert document.content == b"" and document.sha256  # the proof stays
    # Nobody to find any more; the register says what happened.
    export = plans.export_personal_information(
        actor=coordinator, data={"email": CANDIDATES[0]["email"]}
    )
    assert export["plans"] == []
    records = plans.privacy_records(actor=coordinator)
    [anonymised] = [r for r in records if r["kind"] == "anonymised"]
    assert anonymised["plan_id"] == plan_id and anonymised["at"].startswith("2028-11-20")
    assert anonymised["details"] == {
        "reference": view["plan"]["reference"],
        "ended_on": "2026-11-20",
        "retention_months": 24,
        "candidates": 2,
        "documents_destroyed": 1,
        "events_scrubbed": 1,
    }
    # The plan.cancelled event billing received named them; its copy in the outbox no more.
    with factory() as session:
        bodies = session.execute(
            text("SELECT body FROM outbox WHERE event_type = 'plan.cancelled'")
        ).scalars()
        cancelled = [json.loads(b) if isinstance(b, str) else b for b in bodies]
    assert [p["full_name"] for p in cancelled[0]["payload"]["candidates"]] == [
        "Personne candidate 1",
        "Personne candidate 2",
    ]
    # Billing heard plan.anonymised over the bus and replaced the names it had copied.
    assert wait_until(
        lambda: billed_names() == {"Personne candidate 1", "Personne candidate 2"},
        timeout=30,
        message="billing kept the names",
    )
