"""The applications service's network and reporting entrypoints, one nameko worker per call
(``worker_factory``) over a migrated SQLite database: the ``cerac.designated`` handler
(idempotent, contacts from the directory), support requests, drafts, submission, review,
versions, special mandates, figures, and refusals that change nothing. The gateway's
directory is the only dependency replaced; it answers as the real one does."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from rac_shared.clock import MONTREAL, clock
from rac_shared.errors import DomainError
from rac_shared.events import CeracDesignated, Envelope
from services.applications.jobs import run_report_deadlines
from services.applications.models import (
    Attachment,
    Base,
    CeracRecord,
    CeracReport,
    ReportIndicator,
    ReportReminder,
)
from services.applications.service import ApplicationsService
from services.applications.testing import (
    ADMIN,
    ANALYST,
    CMV_DG,
    CMV_FC,
    CMV_ID,
    EMPLOYER,
    EXE,
    LEVIS_RAC,
    MINIMAL_PDF,
    ORGANISATIONS,
)

USERS = {
    CMV_ID: [
        {"id": 9, "email": "rac@cmv.demo.quebec", "full_name": "Mélanie Roy", "title": "",
         "role": "rac_coordinator", "organisation_id": CMV_ID, "active": True},
        {"id": 7, "email": "dg@cmv.demo.quebec", "full_name": "Nathalie Ouellet",
         "title": "Directrice générale", "role": "director_general",
         "organisation_id": CMV_ID, "active": True},
    ]
}  # fmt: skip


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


def as_json(value):
    return json.loads(json.dumps(value))


@pytest.fixture
def sessions(service_database):
    return service_database("applications")


class Rpc:
    def __init__(self, sessions):
        self.sessions = sessions
        self.directory_calls: list[tuple] = []

    def worker(self, session):
        service = worker_factory(ApplicationsService, db=session)
        service.gateway.get_organisation.side_effect = self._organisation
        service.gateway.users_of_organisation.side_effect = self._users
        return service

    def __call__(self, actor, method: str, **kwargs):
        with self.sessions() as session:
            service = self.worker(session)
            args = {"actor": actor.model_dump(mode="json")} if actor is not None else {}
            return as_json(getattr(service, method)(**args, **kwargs))

    def deliver(self, envelope: Envelope) -> None:
        with self.sessions() as session:
            self.worker(session).on_cerac_designated(envelope.model_dump(mode="json"))

    def _organisation(self, organisation_id: int) -> dict:
        self.directory_calls.append(("organisation", organisation_id))
        return ORGANISATIONS[organisation_id]

    def _users(self, organisation_id: int, roles=None) -> list[dict]:
        self.directory_calls.append(("users", organisation_id))
        return [u for u in USERS.get(organisation_id, []) if not roles or u["role"] in roles]


@pytest.fixture
def rpc(sessions):
    return Rpc(sessions)


def designated(cerac_id: int = 3) -> Envelope:
    return Envelope.wrap(
        CeracDesignated(
            cerac_id=cerac_id,
            evaluation_id=11,
            application_id=5,
            call_id=1,
            call_title="Appel d'intérêt 2012-2013",
            organisation_id=CMV_ID,
            organisation_name="Cégep Marie-Victorin",
            reference="CERAC-2012-005",
            education_order="collégial",
            mandate_parts=["offer", "quality", "development"],
            experimentation_years=["2013-2014", "2014-2015"],
            decision_date=date(2013, 5, 31),
            total="81.5",
            below_threshold=False,
            decided_by_user_id=1,
        )
    )


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def outbox_types(sessions) -> list[str]:
    table = Base.metadata.tables["outbox"]
    with sessions() as session:
        return [r.event_type for r in session.execute(select(table).order_by(table.c.id))]


def section(objectives="Objectif", narrative="Bilan", indicators=None) -> dict:
    if indicators is None:
        indicators = [{"label": "Ateliers", "unit": "ateliers", "target": "3", "achieved": "4"}]
    return {"objectives": objectives, "narrative": narrative, "indicators": indicators}


@pytest.fixture
def cerac(rpc):
    with clock.frozen_at(local(2013, 6, 1, 9, 0)):
        rpc.deliver(designated())
    return 3


def test_the_designation_is_recorded_once_with_contacts_and_reports(rpc, sessions):
    envelope = designated()
    with clock.frozen_at(local(2013, 6, 1, 9, 0)):
        rpc.deliver(envelope)
        rpc.deliver(envelope)  # delivered twice
    assert count(sessions, CeracRecord) == 1
    assert count(sessions, CeracReport) == 2
    assert rpc.directory_calls == [("users", CMV_ID)]  # the duplicate was not processed
    with clock.frozen_at(local(2013, 6, 1, 10, 0)):
        view = rpc(LEVIS_RAC, "get_cerac", cerac_id=3)
    assert [c["full_name"] for c in view["contacts"]] == ["Mélanie Roy", "Nathalie Ouellet"]
    assert view["can_request_support"] and not view["mine"]
    assert rpc.directory_calls == [("users", CMV_ID)]  # fresh contacts: no new look-up
    with clock.frozen_at(local(2013, 6, 3, 10, 0)):  # two days later: refreshed
        assert rpc(CMV_DG, "get_cerac", cerac_id=3)["mine"]
    assert rpc.directory_calls[-1] == ("users", CMV_ID)
    network = rpc(ANALYST, "network_ceracs", query={"q": "victorin"})
    assert [c["id"] for c in network["ceracs"]["items"]] == [3]
    assert rpc(ANALYST, "network_ceracs", query={"q": "%"})["ceracs"]["items"] == []
    with pytest.raises(DomainError) as error:
        rpc(EMPLOYER, "network_ceracs")
    assert error.value.code == "forbidden"


def test_support_request_and_answer(rpc, sessions, cerac):
    with pytest.raises(DomainError) as error:
        rpc(LEVIS_RAC, "request_support", cerac_id=cerac, data={"object": "x", "message": ""})
    assert error.value.code == "invalid" and set(error.value.details) == {"object", "message"}
    with clock.frozen_at(local(2013, 10, 1, 9, 0)):
        sent = rpc(
            LEVIS_RAC,
            "request_support",
            cerac_id=cerac,
            data={
                "object": "Entrevue de validation",
                "program": "180.A0",
                "message": "Aidez-nous.",
            },
        )
    assert sent["requester_name"] == "Cégep de Lévis"  # from the directory, not the caller
    with pytest.raises(DomainError) as error:  # Lévis cannot answer a request to CMV
        rpc(LEVIS_RAC, "answer_support", request_id=sent["id"], data={"answer": "Moi"})
    assert error.value.code == "not_found"
    received = rpc(CMV_FC, "support_requests")
    assert [r["id"] for r in received["received"]] == [sent["id"]] and received["is_cerac"]
    with clock.frozen_at(local(2013, 10, 2, 9, 0)):
        rpc(CMV_FC, "answer_support", request_id=sent["id"], data={"answer": "Avec plaisir."})
    mine = rpc(LEVIS_RAC, "support_requests")
    assert mine["sent"][0]["answer"] == "Avec plaisir." and mine["received"] == []
    with pytest.raises(DomainError) as error:
        rpc(CMV_FC, "answer_support", request_id=sent["id"], data={"answer": "Encore"})
    assert error.value.code == "conflict"
    assert outbox_types(sessions) == ["cerac.support_requested", "cerac.support_answered"]
    with clock.frozen_at(local(2014, 9, 1, 9, 0)):
        report_id = rpc(CMV_DG, "reporting_overview")["reports"]["items"][0]["id"]
        offer = rpc(CMV_DG, "get_report", report_id=report_id)["sections"][0]
    assert [i["achieved"] for i in offer["indicators"]] == ["1.00", "1.00"]


def test_a_report_is_drafted_submitted_sent_back_and_accepted(rpc, sessions, cerac):
    overview = rpc(CMV_DG, "reporting_overview")
    assert overview["is_cerac"] and [r["period_label"] for r in overview["reports"]["items"]] == [
        "2013-2014",
        "2014-2015",
    ]
    report_id = overview["reports"]["items"][0]["id"]
    with clock.frozen_at(local(2014, 9, 1, 9, 0)):
        view = rpc(
            CMV_DG,
            "save_report",
            report_id=report_id,
            data={"sections": {"offer": section(indicators=[
                {"source": "support_received", "target": "2"},
                {"source": "support_answered", "target": "2"},
            ])}},
        )  # fmt: skip
        assert view["sections"][0]["missing"] == []
        assert view["sections"][1]["missing"][0] == "Les objectifs sont à rédiger."
        with pytest.raises(DomainError) as error:
            rpc(CMV_DG, "submit_report", report_id=report_id)
        assert set(error.value.details) == {"quality", "development"}
        pdf = base64.b64encode(MINIMAL_PDF).decode()
        piece = rpc(
            CMV_DG,
            "upload_report_attachment",
            report_id=report_id,
            data={"section": "quality", "filename": "compte-rendu.pdf", "content_b64": pdf},
        )
        with pytest.raises(DomainError) as error:  # the application's upload checks
            rpc(
                CMV_DG,
                "upload_report_attachment",
                report_id=report_id,
                data={
                    "section": "quality",
                    "filename": "virus.pdf",
                    "content_b64": base64.b64encode(EXE).decode(),
                },
            )
        assert error.value.code == "invalid"
        rpc(
            CMV_DG,
            "save_report",
            report_id=report_id,
            data={"sections": {"quality": section(), "development": section()}},
        )
        submitted = rpc(CMV_DG, "submit_report", report_id=report_id)
    assert submitted["status"] == "submitted" and submitted["version"]["number"] == 1
    with pytest.raises(DomainError) as error:  # frozen attachment
        rpc(CMV_DG, "delete_report_attachment", report_id=report_id, attachment_id=piece["id"])
    assert error.value.code == "conflict"
    with clock.frozen_at(local(2014, 10, 6, 9, 0)):
        rpc(
            ANALYST,
            "review_report",
            report_id=report_id,
            data={"decision": "changes_requested", "comments": {"quality": "Précisez."}},
        )
    with clock.frozen_at(local(2014, 10, 8, 9, 0)):
        rpc(CMV_DG, "submit_report", report_id=report_id)
        accepted = rpc(ANALYST, "review_report", report_id=report_id, data={"decision": "accepted"})
    assert accepted["status"] == "accepted" and accepted["version"]["number"] == 2
    version = rpc(ANALYST, "get_report_version", report_id=report_id, number=1)
    assert version["comments"] == {"quality": "Précisez."}
    assert version["content"]["sections"][1]["attachments"][0]["filename"] == "compte-rendu.pdf"
    assert outbox_types(sessions) == [
        "cerac.report_submitted",
        "cerac.report_changes_requested",
        "cerac.report_submitted",
        "cerac.report_accepted",
    ]
    figures = rpc(ANALYST, "reporting_figures", as_of="2014-10-10")
    assert {s["status"]: s["count"] for s in figures["reports_by_status"]}["accepted"] == 1
    with pytest.raises(DomainError):
        rpc(CMV_DG, "reporting_figures")
    with pytest.raises(DomainError) as error:
        rpc(ANALYST, "reporting_figures", as_of="hier")
    assert error.value.code == "invalid"


def test_bad_input_and_another_cerac_change_nothing(rpc, sessions, cerac):
    report_id = rpc(CMV_DG, "reporting_overview")["reports"]["items"][0]["id"]
    with clock.frozen_at(local(2014, 9, 1, 9, 0)):
        rpc(CMV_DG, "save_report", report_id=report_id, data={"sections": {"quality": section()}})
    before = count(sessions, ReportIndicator)
    bad_inputs = [
        {"sections": {"quality": section(indicators=[{"label": "x", "target": "douze"}])}},
        {"sections": {"quality": section(indicators=[{"label": "x", "target": "-1"}])}},
        {"sections": {"region": section()}},
        {"sections": {"quality": {**section(), "objectives": "x" * 10001}}},
        {"sections": "offer"},
    ]
    for data in bad_inputs:
        with pytest.raises(DomainError) as error:
            rpc(CMV_DG, "save_report", report_id=report_id, data=data)
        assert error.value.code == "invalid", data
    for intruder, code in ((LEVIS_RAC, "not_found"), (EMPLOYER, "forbidden")):
        for method, kwargs in (
            ("save_report", {"data": {"sections": {"quality": section("Piraté")}}}),
            ("submit_report", {}),
            ("get_report", {}),
        ):
            with pytest.raises(DomainError) as error:
                rpc(intruder, method, report_id=report_id, **kwargs)
            assert error.value.code == code
    with pytest.raises(DomainError) as error:
        rpc(CMV_DG, "review_report", report_id=report_id, data={"decision": "accepted"})
    assert error.value.code == "forbidden"
    view = rpc(CMV_DG, "get_report", report_id=report_id)
    assert view["sections"][1]["objectives"] == "Objectif" and view["status"] == "draft"
    assert count(sessions, ReportIndicator) == before
    assert count(sessions, Attachment) == 0
    assert outbox_types(sessions) == []


def test_deadline_mandate_and_reminder_job(rpc, sessions, cerac):
    with pytest.raises(DomainError) as error:
        rpc(ANALYST, "set_report_deadline", data={"experimentation_year": "2013", "due_date": "x"})
    assert error.value.code == "invalid"
    rpc(
        ANALYST,
        "set_report_deadline",
        data={"experimentation_year": "2013-2014", "due_date": "2014-10-15"},
    )  # noqa: E501
    assert rpc(CMV_DG, "reporting_overview")["reports"]["items"][0]["due_date"] == "2014-10-15"
    data = {
        "cerac_id": cerac,
        "object": "Harmonisation des outils d'évaluation",
        "deliverables": ["Inventaire", "Guide"],
        "due_date": "2014-12-15",
        "amount": "40000",
    }
    with clock.frozen_at(local(2014, 9, 1, 9, 0)):
        with pytest.raises(DomainError) as error:
            rpc(ADMIN, "assign_special_mandate", data={**data, "amount": "0"})
        assert error.value.code == "invalid"
        with pytest.raises(DomainError) as error:
            rpc(ANALYST, "assign_special_mandate", data=data)
        assert error.value.code == "forbidden"
        mandate = rpc(ADMIN, "assign_special_mandate", data=data)
    assert mandate["amount"] == "40000.00"
    report = rpc(CMV_FC, "get_report", report_id=mandate["report_id"])
    assert [s["key"] for s in report["sections"]] == ["livrable-1", "livrable-2"]
    assert rpc(CMV_FC, "reporting_overview")["mandates"][0]["object"] == data["object"]

    first = run_report_deadlines(date(2014, 9, 16), session_factory=sessions)
    again = run_report_deadlines(date(2014, 9, 16), session_factory=sessions)
    assert (first, again) == ({"reminders": 1}, {"reminders": 0})  # j-30 of 2013-2014
    assert run_report_deadlines(date(2014, 11, 20), session_factory=sessions) == {
        "reminders": 2  # 2013-2014 late, the mandate's j-30
    }
    assert count(sessions, ReportReminder) == 3
    assert outbox_types(sessions).count("cerac.report_due_soon") == 3
