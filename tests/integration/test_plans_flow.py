"""Implementation plans over the real platform: every service in its own process, PostgreSQL
and RabbitMQ, through the gateway's JSON API and pages.

- draft → issue → PDF stored → reminders → lapse (the ``plan-deadlines`` job);
- draft → issue → accept → amendment → re-accept → cancel;
- the deadline job run twice, and by two processes at once, publishes each event once, and
  reads due plans through its index;
- bad input and authorization; the employer sees only aggregate progress (Loi 25).

Events are read from a queue bound to the ``plans.events`` exchange in the platform's
vhost, as billing and notifications receive them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import subprocess
import time
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from html.parser import HTMLParser

import kombu
import pytest
import requests
from icalendar import Calendar
from pypdf import PdfReader
from sqlalchemy import text

from rac_shared.clock import MONTREAL, clock, end_of_day
from rac_shared.formatting import long_date
from rac_shared.outbox import event_exchange
from services.applications.testing import MINIMAL_PDF
from services.plans.deadlines import acceptance_deadline
from tests.support.platform import BIN
from tests.support.polling import wait_until
from tests.support.typography import ordinary_spaces

COORDINATOR = "rac@cegeplevis.demo.quebec"
OTHER_COORDINATOR = "rac@cmv.demo.quebec"
EMPLOYER = "rh@cisss.demo.quebec"
OTHER_EMPLOYER = "direction@boulangerie.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"

ESTIMATE = {
    "lines": [
        {
            "category": "advisory",
            "description": "Services-conseils auprès de l'organisation",
            "quantity": "12",
            "unit": "heure",
            "unit_price": "95.00",
            "tax": "taxable",
        },
        {
            "category": "evaluation",
            "description": "Frais d'évaluation par candidat-travailleur",
            "quantity": "2",
            "unit": "candidat",
            "unit_price": "1450.00",
            "tax": "exempt",
        },
    ],
    "installments": [
        {
            "label": "À l'acceptation",
            "percent": "100",
            "amount": None,
            "due": {"kind": "milestone", "milestone": "acceptance", "offset_days": 0},
        }
    ],
    "payment_term_days": 30,
    "refund_conditions": "Remboursement au prorata des activités non réalisées.",
    "abandonment_fee": "0.00",
}
CONTENT = {
    "competencies": [
        {
            "code": "018N",
            "statement": "Analyser la fonction de travail",
            "group": "REG A",
            "weeks_3h": 4,
            "weeks_6h": 2,
        },
        {
            "code": "018P",
            "statement": "Observer le comportement de l'enfant",
            "group": "REG A",
            "weeks_3h": 4,
            "weeks_6h": 2,
        },
        {
            "code": "018S",
            "statement": "Concevoir des activités de développement global",
            "group": "",
            "weeks_3h": 6,
            "weeks_6h": 3,
        },
    ],
    "candidates": [
        {
            "full_name": "Roxanne Fortier-Dubé",
            "job_title": "Éducatrice",
            "rhythm": 3,
            "email": "roxanne.fortier@exemple.quebec",
            "start_date": "2027-01-11",
            "modality": "in_person",
        },
        {
            "full_name": "Yannick Tremblay-Ouellet",
            "job_title": "Éducateur",
            "rhythm": 6,
            "email": "yannick.tremblay@exemple.quebec",
            "start_date": "2027-01-18",
            "modality": "online",
        },
    ],
}


class EventTap:
    """A queue bound to every ``plan.*`` event of the platform's vhost."""

    def __init__(self, amqp_uri: str):
        self.connection = kombu.Connection(amqp_uri)
        self.queue = kombu.Queue(
            "test-plans-flow-tap",
            exchange=event_exchange("plans"),
            routing_key="plan.#",
            durable=False,
            auto_delete=False,
        )
        self.queue(self.connection.default_channel).declare()
        self.events: list[dict] = []

    def drain(self) -> list[dict]:
        bound = self.queue(self.connection.default_channel)
        while True:
            message = bound.get(no_ack=True)
            if message is None:
                return self.events
            self.events.append(message.payload)

    def of(self, plan_id: int, event_type: str | None = None) -> list[dict]:
        self.drain()
        return [
            e
            for e in self.events
            if e["payload"].get("plan_id") == plan_id and event_type in (None, e["event_type"])
        ]

    def wait_for(self, plan_id: int, event_type: str, count: int, timeout: float = 20) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(plan_id, event_type)
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise AssertionError(
            f"{event_type} ×{count} for plan {plan_id} not received: {self.of(plan_id)}"
        )

    def close(self) -> None:
        try:
            self.queue(self.connection.default_channel).delete()
        finally:
            self.connection.release()


@pytest.fixture(scope="module")
def tap(platform):
    listener = EventTap(platform.amqp_uri)
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def tokens(platform) -> dict[str, str]:
    return {
        email: platform.token(email)
        for email in (COORDINATOR, OTHER_COORDINATOR, EMPLOYER, OTHER_EMPLOYER, ANALYST)
    }


def ok(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text[:2000]
    return response.json() if "json" in response.headers.get("Content-Type", "") else {}


def create_issued_plan(platform, tokens, *, issue: bool = True) -> dict:
    token = tokens[COORDINATOR]
    employer = ok(platform.api("GET", "/api/me", tokens[EMPLOYER]))["organisation"]["id"]
    plan = ok(
        platform.api(
            "POST",
            "/api/plans",
            token,
            json={
                "employer_id": employer,
                "program_kind": "AEC",
                "program_code": "JEE.0K",
                "program_title": "Techniques d'éducation à l'enfance",
                "target_jobs": "le personnel éducateur",
            },
        )
    )
    ok(platform.api("PATCH", f"/api/plans/{plan['id']}", token, json=CONTENT))
    ok(platform.api("PUT", f"/api/plans/{plan['id']}/estimate", token, json=ESTIMATE))
    if issue:
        plan = ok(platform.api("POST", f"/api/plans/{plan['id']}/issue", token))
        assert plan["status"] == "issued"
    return plan


def accept(platform, tokens, plan_id: int, email: str = EMPLOYER) -> requests.Response:
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[EMPLOYER]))
    return platform.api(
        "POST",
        f"/api/plans/{plan_id}/accept",
        tokens[email],
        json={
            "version": view["version"]["number"],
            "content_hash": view["version"]["content_hash"],
            "full_name": "Julie Morin",
            "title": "Directrice des ressources humaines",
            "statement": "J’accepte",
        },
    )


def run_job(platform, as_of: date) -> dict:
    import json

    completed = platform.rac("jobs", "run", "plan-deadlines", "--as-of", as_of.isoformat())
    return json.loads(completed.stdout.strip().splitlines()[-1])


# -- draft → issue → PDF → reminders → lapse -------------------------------------------------


def test_issue_pdf_reminders_then_lapse(platform, tokens, tap):
    plan = create_issued_plan(platform, tokens)
    plan_id = plan["id"]
    [issued] = tap.wait_for(plan_id, "plan.issued", 1)
    issued_on = date.fromisoformat(issued["payload"]["issued_on"])
    deadline_day = issued_on + timedelta(days=30)
    announced = datetime.fromisoformat(
        issued["payload"]["acceptance_deadline"].replace("Z", "+00:00")
    )
    assert announced == acceptance_deadline(issued_on) == end_of_day(deadline_day)

    # The PDF is served to both parties (rendered after the issue, in the background or on
    # the first read) and stored once in the plans database.
    served = []
    for email in (COORDINATOR, EMPLOYER):
        response = platform.api("GET", f"/api/plans/{plan_id}/pdf", tokens[email])
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        served.append(response.content)
    with platform.engine("plans").connect() as connection:
        stored = connection.execute(
            text(
                "SELECT d.size, d.sha256 FROM plan_documents d JOIN plan_versions v "
                "ON v.id = d.version_id WHERE v.plan_id = :id AND d.kind = 'plan_pdf'"
            ),
            {"id": plan_id},
        ).one()
    assert served[0] == served[1] and len(served[0]) == stored.size
    assert hashlib.sha256(served[0]).hexdigest() == stored.sha256
    # Its courtesy translation in English, offered on the plan page to both parties (the
    # API too); another organisation gets neither.
    for email in (COORDINATOR, EMPLOYER):
        page = page_session(platform, email).get(f"{platform.url}/plans/{plan_id}", timeout=30)
        link = f"/plans/{plan_id}/traduction-courtoisie.pdf?version=1"
        assert f'href="{link}"' in page.text
        assert "Traduction de courtoisie (anglais)" in page.text
        english = page_session(platform, email).get(f"{platform.url}{link}", timeout=120)
        assert english.status_code == 200, english.text[:2000]
        assert english.headers["Content-Type"] == "application/pdf"
        cover = " ".join(PdfReader(io.BytesIO(english.content)).pages[0].extract_text().split())
        assert "Traduction de courtoisie — seule la version française fait foi" in cover
        assert "Courtesy translation — only the French version is authoritative" in cover
        assert "Implementation plan" in cover
    api = platform.api("GET", f"/api/plans/{plan_id}/courtesy-translation", tokens[EMPLOYER])
    assert api.status_code == 200 and api.content.startswith(b"%PDF")
    assert "traduction-courtoisie-en.pdf" in api.headers["Content-Disposition"]
    for email in (OTHER_COORDINATOR, OTHER_EMPLOYER):
        refused = platform.api("GET", f"/api/plans/{plan_id}/courtesy-translation", tokens[email])
        assert refused.status_code == 404 and b"%PDF" not in refused.content
        other = page_session(platform, email).get(
            f"{platform.url}/plans/{plan_id}/traduction-courtoisie.pdf", timeout=30
        )
        assert other.status_code == 404 and not other.content.startswith(b"%PDF")

    # Notifications e-mails the issued PDF (fetched from plans) to the employer's representative.
    def issued_mail():
        for mail in platform.mails():
            if plan["reference"] in str(mail["Subject"]) and EMPLOYER in str(mail["To"]):
                return mail
        return None

    deadline_mail = time.monotonic() + 30
    while issued_mail() is None and time.monotonic() < deadline_mail:
        time.sleep(0.3)
    mail = issued_mail()
    assert mail is not None, platform.tail_logs()
    attachments = [part for part in mail.iter_attachments()]
    assert [a.get_filename() for a in attachments] == [
        f"{plan['reference']}-v1.pdf",
        f"{plan['reference']}-v1-echeance.ics",
    ]
    assert attachments[0].get_content().startswith(b"%PDF")
    # The acceptance deadline for the employer's calendar: 23 h 59 on the 30th day, local time.
    assert attachments[1].get_content_type() == "text/calendar"
    [deadline_event] = Calendar.from_ical(attachments[1].get_content()).walk("VEVENT")
    assert deadline_event.decoded("dtstart") == datetime.combine(
        deadline_day, time_of_day(23, 59), tzinfo=MONTREAL
    )
    assert deadline_event["dtstart"].params["TZID"] == "America/Montreal"

    # Reminders 10, 3 and 1 days before the deadline; nothing in between; lapse the day after.
    for days_before, reminders in ((11, 0), (10, 1), (9, 1), (3, 2), (1, 3), (0, 3)):
        run_job(platform, deadline_day - timedelta(days=days_before))
        if reminders:
            tap.wait_for(plan_id, "plan.reminder_due", reminders)
        assert len(tap.of(plan_id, "plan.reminder_due")) == reminders
    assert [e["payload"]["days_left"] for e in tap.of(plan_id, "plan.reminder_due")] == [10, 3, 1]
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[COORDINATOR]))
    assert view["plan"]["status"] == "issued"

    result = run_job(platform, deadline_day + timedelta(days=1))
    assert result["lapsed"] >= 1
    [lapsed] = tap.wait_for(plan_id, "plan.lapsed", 1)
    assert lapsed["payload"]["lapsed_on"] == (deadline_day + timedelta(days=1)).isoformat()
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[COORDINATOR]))
    assert view["plan"]["status"] == "lapsed"
    assert view["version"]["status_label"] == "Caduque (résolue de plein droit)"
    # A lapsed plan can no longer be accepted.
    assert accept(platform, tokens, plan_id).status_code == 409


# -- draft → issue → accept → amendment → re-accept → cancel ------------------------------------


def test_accept_amend_reaccept_then_cancel(platform, tokens, tap):
    plan_id = create_issued_plan(platform, tokens)["id"]
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[EMPLOYER]))
    wrong = platform.api(
        "POST",
        f"/api/plans/{plan_id}/accept",
        tokens[EMPLOYER],
        json={
            "version": 1,
            "content_hash": "0" * 64,
            "full_name": "Julie Morin",
            "title": "DRH",
            "statement": "J’accepte",
        },
    )
    assert wrong.status_code == 409
    accepted = ok(accept(platform, tokens, plan_id))
    assert accepted["status"] == "accepted"
    [event] = tap.wait_for(plan_id, "plan.accepted", 1)
    assert event["payload"]["version"] == 1 and event["payload"]["accepted_by"] == "Julie Morin"
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[COORDINATOR]))
    acceptance = view["version"]["acceptance"]
    assert acceptance["channel"] == "online" and acceptance["ip"]
    assert acceptance["content_hash"] == view["version"]["content_hash"]

    # A written amendment: new version, summary, side-by-side comparison, revised estimate.
    token = tokens[COORDINATOR]
    ok(
        platform.api(
            "POST",
            f"/api/plans/{plan_id}/amendments",
            token,
            json={"summary": "Six heures de services-conseils de plus."},
        )
    )
    revised = ok(
        platform.api(
            "PUT",
            f"/api/plans/{plan_id}/estimate",
            token,
            json={
                **ESTIMATE,
                "lines": [{**ESTIMATE["lines"][0], "quantity": "18"}, ESTIMATE["lines"][1]],
            },
        )
    )
    assert revised["version"] == 2 and revised["difference_with_accepted"] is not None
    ok(
        platform.api(
            "PATCH", f"/api/plans/{plan_id}", token, json={"closure_dates": ["2027-03-01"]}
        )
    )
    compared = ok(platform.api("GET", f"/api/plans/{plan_id}/comparison", token))
    assert [r["label"] for r in compared["rows"] if r["changed"]] == ["Dates de fermeture"]
    page = requests.get(
        f"{platform.url}/plans/{plan_id}/comparaison",
        cookies={"rac_session": platform.session_cookie(COORDINATOR)},
        timeout=30,
    )
    assert (
        page.status_code == 200
        and "Six heures de services-conseils de plus." in ordinary_spaces(page.text)
    )
    ok(platform.api("POST", f"/api/plans/{plan_id}/issue", token))
    tap.wait_for(plan_id, "plan.issued", 2)
    # Version 1 stays in force until version 2 is accepted.
    assert ok(platform.api("GET", f"/api/plans/{plan_id}", token))["plan"]["status"] == "accepted"
    ok(accept(platform, tokens, plan_id))
    accepted_events = tap.wait_for(plan_id, "plan.accepted", 2)
    assert [e["payload"]["version"] for e in accepted_events] == [1, 2]

    cancelled = ok(
        platform.api(
            "POST",
            f"/api/plans/{plan_id}/cancel",
            tokens[EMPLOYER],
            json={"reason": "Réorganisation des services."},
        )
    )
    assert cancelled["status"] == "cancelled"
    [event] = tap.wait_for(plan_id, "plan.cancelled", 1)
    assert event["payload"]["version"] == 2
    assert event["payload"]["cancelled_by_party"] == "employer"
    assert event["payload"]["cancelled_on"] == clock.today().isoformat()
    # Billing learns the candidate-workers in force: the costs incurred are recorded per person.
    names = [c["full_name"] for c in event["payload"]["candidates"]]
    assert names == ["Roxanne Fortier-Dubé", "Yannick Tremblay-Ouellet"]
    path = f"/api/billing/plans/{plan_id}/costs-incurred"

    def costs_open():
        costs = platform.api("GET", path, token).json()
        return costs if costs["state"] == "open" else None

    costs = wait_until(costs_open, message="billing never saw the plan cancelled")
    [evaluation] = [line for line in costs["lines"] if line["per_candidate"]]
    assert [p["full_name"] for p in evaluation["people"]] == names
    # The single installment, due at acceptance, bills the whole estimate: nothing is left.
    assert costs["room"] == "0.00"
    person = evaluation["people"][0]["candidate_id"]
    refused = platform.api(
        "POST",
        path,
        token,
        json={"items": [{"line": evaluation["line"], "candidate_id": person, "quantity": "1"}]},
    )
    assert refused.status_code == 422
    assert "permet encore de facturer (0,00" in refused.json()["error"]["message"]
    # The plan's page leads the institution (not the employer) to that billing page.
    link = f'href="/facturation/plans/{plan_id}/couts-engages"'
    for email, shown in ((COORDINATOR, True), (EMPLOYER, False)):
        page = requests.get(
            f"{platform.url}/plans/{plan_id}",
            cookies={"rac_session": platform.session_cookie(email)},
            timeout=30,
        )
        assert page.status_code == 200 and (link in page.text) == shown, email


# -- the deadline job: idempotent, concurrent, index-backed ------------------------------------


def test_deadline_job_publishes_each_event_once_even_twice_or_concurrently(platform, tokens, tap):
    plan_id = create_issued_plan(platform, tokens)["id"]
    [issued] = tap.wait_for(plan_id, "plan.issued", 1)
    deadline_day = date.fromisoformat(issued["payload"]["issued_on"]) + timedelta(days=30)

    run_job(platform, deadline_day - timedelta(days=10))
    run_job(platform, deadline_day - timedelta(days=10))
    tap.wait_for(plan_id, "plan.reminder_due", 1)

    def together(as_of: date) -> None:
        command = [str(BIN / "rac"), "jobs", "run", "plan-deadlines", "--as-of", as_of.isoformat()]
        processes = [
            subprocess.Popen(
                command, env=platform.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        for process in processes:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err.decode()[-2000:]

    together(deadline_day - timedelta(days=3))
    together(deadline_day + timedelta(days=1))
    tap.wait_for(plan_id, "plan.lapsed", 1)
    time.sleep(2)  # anything published twice would have arrived by now
    reminders = tap.of(plan_id, "plan.reminder_due")
    assert [e["payload"]["days_left"] for e in reminders] == [10, 3]
    assert len(tap.of(plan_id, "plan.lapsed")) == 1
    with platform.engine("plans").connect() as connection:
        keys = (
            connection.execute(
                text("SELECT key FROM plan_event_keys WHERE key LIKE :pattern ORDER BY key"),
                {"pattern": "version:%"},
            )
            .scalars()
            .all()
        )
        version_id = connection.execute(
            text("SELECT id FROM plan_versions WHERE plan_id = :id"), {"id": plan_id}
        ).scalar_one()
        mine = [k for k in keys if k.startswith(f"version:{version_id}:")]
        assert sorted(mine) == [
            f"version:{version_id}:lapse",
            f"version:{version_id}:reminder:10",
            f"version:{version_id}:reminder:3",
        ]
        # The job's query reads due versions through the (status, deadline) index.
        connection.execute(text("SET enable_seqscan = off"))
        plan = (
            connection.execute(
                text(
                    "EXPLAIN SELECT * FROM plan_versions WHERE status = 'issued' "
                    "AND acceptance_deadline <= now() + interval '10 days'"
                )
            )
            .scalars()
            .all()
        )
    assert any("ix_plan_versions_due" in line for line in plan), plan


# -- bad input and authorization ---------------------------------------------------------------


def test_authorization_and_bad_input(platform, tokens):
    plan_id = create_issued_plan(platform, tokens)["id"]
    # Another organisation's representative cannot accept (or even see) the plan.
    assert accept(platform, tokens, plan_id, OTHER_EMPLOYER).status_code == 404
    assert platform.api("GET", f"/api/plans/{plan_id}", tokens[OTHER_EMPLOYER]).status_code == 404
    # A coordinator of another institution cannot edit it.
    response = platform.api(
        "PATCH", f"/api/plans/{plan_id}", tokens[OTHER_COORDINATOR], json={"closure_dates": []}
    )
    assert response.status_code == 404
    # The ministry sees figures, not plans.
    assert platform.api("GET", f"/api/plans/{plan_id}", tokens[ANALYST]).status_code == 403
    figures = ok(platform.api("GET", "/api/plans/figures", tokens[ANALYST]))
    assert figures["total"] >= 1 and "Roxanne" not in str(figures)
    # The issued version cannot be edited.
    response = platform.api(
        "PATCH",
        f"/api/plans/{plan_id}",
        tokens[COORDINATOR],
        json={"closure_dates": ["2027-02-01"]},
    )
    assert response.status_code == 409
    assert "ne peut plus être modifiée" in response.json()["error"]["message"]

    # Hostile text in a draft and in the annex template: refused, nothing changed.
    draft_id = create_issued_plan(platform, tokens, issue=False)["id"]
    before = ok(platform.api("GET", f"/api/plans/{draft_id}", tokens[COORDINATOR]))["content"]
    for hostile in (
        "Total : {{ 7*7 }}",
        "<script>alert('x')</script>",
        '<img src="file:///etc/passwd">',
    ):
        response = platform.api(
            "PATCH",
            f"/api/plans/{draft_id}",
            tokens[COORDINATOR],
            json={"sections": {**before["sections"], "context": hostile}},
        )
        assert response.status_code == 422, response.text
        assert "balises HTML" in response.json()["error"]["message"]
    after = ok(platform.api("GET", f"/api/plans/{draft_id}", tokens[COORDINATOR]))["content"]
    assert after == before
    template = ok(platform.api("GET", "/api/plans/annex-template", tokens[COORDINATOR]))
    for logo in ("file:///etc/passwd", "http://exemple.quebec/logo.png"):
        response = platform.api(
            "PUT",
            "/api/plans/annex-template",
            tokens[COORDINATOR],
            json={
                "annex_a": template["annex_a"],
                "annex_b": template["annex_b"],
                "annex_c": template["annex_c"],
                "logo": logo,
            },
        )
        assert response.status_code == 422
        assert "logo" in response.json()["error"]["details"]
    response = platform.api(
        "PUT",
        "/api/plans/annex-template",
        tokens[COORDINATOR],
        json={
            "annex_a": "{% for x in range(9) %}{{ x }}{% endfor %}" + "x" * 30,
            "annex_b": template["annex_b"],
            "annex_c": template["annex_c"],
        },
    )
    assert response.status_code == 422
    assert ok(platform.api("GET", "/api/plans/annex-template", tokens[COORDINATOR])) == template
    # A paper acceptance whose file is not what it claims: refused.
    response = platform.api(
        "POST",
        f"/api/plans/{plan_id}/acceptance-record",
        tokens[COORDINATOR],
        json={
            "version": 1,
            "received_on": clock.today().isoformat(),
            "signed_by_name": "Julie Morin",
            "filename": "acceptation.pdf",
            "content_b64": base64.b64encode(b"MZ\x90\x00 pas un PDF").decode(),
        },
    )
    assert response.status_code == 422


# -- progress: aggregates only for the employer (Loi 25) --------------------------------------


def test_employer_sees_only_aggregate_progress(platform, tokens):
    plan_id = create_issued_plan(platform, tokens)["id"]
    ok(accept(platform, tokens, plan_id))
    coordinator = tokens[COORDINATOR]
    progress = ok(platform.api("GET", f"/api/plans/{plan_id}/progress", coordinator))
    roxanne = next(c for c in progress["candidates"] if c["full_name"].startswith("Roxanne"))
    base = f"/api/plans/{plan_id}/candidates/{roxanne['id']}"
    ok(platform.api("POST", f"{base}/step", coordinator, json={"step": "evaluations"}))
    ok(
        platform.api(
            "POST",
            f"{base}/result",
            coordinator,
            json={"competency_code": "018N", "result": "reconnue"},
        )
    )
    ok(
        platform.api(
            "POST",
            f"{base}/result",
            coordinator,
            json={"competency_code": "018S", "result": "formation_manquante"},
        )
    )

    mine = ok(platform.api("GET", f"/api/plans/{plan_id}/progress", coordinator))
    assert any(c["full_name"] == "Roxanne Fortier-Dubé" for c in mine["candidates"])
    theirs = ok(platform.api("GET", f"/api/plans/{plan_id}/progress", tokens[EMPLOYER]))
    assert theirs["candidates"] is None
    assert mine["aggregate"]["competencies_recognised"] == 1
    assert mine["aggregate"]["competencies_missing_training"] == 1
    # Withheld from the employer (Loi 25): one person's results, next to the plan's names.
    assert theirs["aggregate"]["competencies_recognised"] is None
    assert theirs["aggregate"]["competencies_missing_training"] is None
    assert {step["count"] for step in theirs["aggregate"]["steps"]} == {None}
    assert "Roxanne" not in str(theirs) and "Yannick" not in str(theirs)
    assert str(roxanne["id"]) not in re.findall(r"\d+", str(theirs["aggregate"]["steps"]))
    # The employer cannot record progress either.
    response = platform.api("POST", f"{base}/step", tokens[EMPLOYER], json={"step": "sanction"})
    assert response.status_code == 403

    employer_page = requests.get(
        f"{platform.url}/plans/{plan_id}/suivi",
        cookies={"rac_session": platform.session_cookie(EMPLOYER)},
        timeout=30,
    )
    assert employer_page.status_code == 200
    assert "Roxanne" not in employer_page.text and "Yannick" not in employer_page.text
    assert "Compétences reconnues" in employer_page.text
    assert "moins de 5" in employer_page.text
    coordinator_page = requests.get(
        f"{platform.url}/plans/{plan_id}/suivi",
        cookies={"rac_session": platform.session_cookie(COORDINATOR)},
        timeout=30,
    )
    assert "Roxanne Fortier-Dubé" in coordinator_page.text and "Reconnue" in coordinator_page.text


def test_home_lists_plans_awaiting_acceptance_with_days_left(platform, tokens):
    create_issued_plan(platform, tokens)
    actions = ok(platform.api("GET", "/api/home", tokens[EMPLOYER]))["actions"]
    awaiting = [a for a in actions if "à accepter" in a["label"]]
    assert awaiting and all(a["url"].startswith("/plans/") for a in awaiting)
    assert any("jours restants" in a["label"] for a in awaiting)
    institution = ok(platform.api("GET", "/api/home", tokens[COORDINATOR]))["actions"]
    assert any("en attente d'acceptation" in a["label"] for a in institution)


def test_the_plans_list_pages_with_a_cursor_its_tenant_alone_can_follow(platform, tokens):
    """Over RabbitMQ and PostgreSQL: ``GET /api/plans`` one page at a time, work first; a
    cursor from another tenant or a forged one is a French 400; the page's exports have
    every row of the list as sorted."""
    for _ in range(2):
        create_issued_plan(platform, tokens, issue=False)
    token = tokens[COORDINATOR]
    everything = ok(platform.api("GET", "/api/plans?limit=200&sort=reference", token))
    assert everything["count"] >= 3 and everything["next_cursor"] is None
    references = [p["reference"] for p in everything["items"]]
    assert references == sorted(references)
    seen, cursor = [], None
    while True:
        path = "/api/plans?limit=2&sort=reference" + (f"&cursor={cursor}" if cursor else "")
        page = ok(platform.api("GET", path, token))
        seen += [p["reference"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == references  # each plan once, in order
    first = ok(platform.api("GET", "/api/plans?limit=1&sort=reference", token))
    foreign = platform.api(
        "GET", f"/api/plans?limit=1&sort=reference&cursor={first['next_cursor']}",
        tokens[OTHER_COORDINATOR],
    )  # fmt: skip
    assert foreign.status_code == 400
    assert "autre liste ou à d'autres critères" in foreign.json()["error"]["message"]
    other_filter = platform.api("GET", f"/api/plans?limit=1&cursor={first['next_cursor']}", token)
    assert other_filter.status_code == 400  # the cursor belongs to the « reference » order
    forged = platform.api("GET", "/api/plans?cursor=eyJ4IjoxfQ.AAAA", token)
    assert forged.status_code == 400 and "curseur" in forged.json()["error"]["message"]
    browser = page_session(platform, COORDINATOR)
    listing = browser.get(f"{platform.url}/plans?tri=reference", timeout=30)
    assert listing.status_code == 200 and 'href="/plans/liste.xlsx?tri=reference"' in listing.text
    exported = browser.get(f"{platform.url}/plans/liste.csv?tri=reference", timeout=60)
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Plan;Programme;Organisation;Statut;Échéance d'acceptation;Jours restants"
    assert [line.split(";")[0] for line in lines[1:]] == references
    forged_page = browser.get(f"{platform.url}/plans?curseur=nimporte.quoi", timeout=30)
    assert forged_page.status_code == 400 and "première page" in forged_page.text


# -- amendments that say what they modify; withdrawals; declines ------------------------------


def page_session(platform, email: str) -> requests.Session:
    browser = requests.Session()
    browser.cookies.set("rac_session", platform.session_cookie(email))
    return browser


def post_form(platform, email: str, form_path: str, action: str, data: dict):
    """GET the page that holds the form (for its CSRF token), then POST the form."""
    browser = page_session(platform, email)
    form = browser.get(f"{platform.url}{form_path}", timeout=30)
    assert form.status_code == 200, form.text[:2000]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return browser.post(
        f"{platform.url}{action}",
        data={"csrf_token": csrf, **data},
        allow_redirects=False,
        timeout=30,
    )


def mail_to(platform, address: str, subject: str, timeout: float = 30):
    def found():
        return [m for m in platform.mails_to(address) if m["Subject"] == subject]

    [mail] = wait_until(found, timeout=timeout, message=f"no mail « {subject} » to {address}")
    return mail


def body_of(mail) -> str:
    return ordinary_spaces(mail.get_body(preferencelist=("plain",)).get_content())


def amend_and_issue(platform, tokens, plan_id: int, summary: str) -> dict:
    token = tokens[COORDINATOR]
    ok(platform.api("POST", f"/api/plans/{plan_id}/amendments", token, json={"summary": summary}))
    ok(platform.api("PUT", f"/api/plans/{plan_id}/estimate", token, json=ESTIMATE))
    return ok(platform.api("POST", f"/api/plans/{plan_id}/issue", token))


def test_a_lapsed_amendment_is_announced_as_such_and_the_version_in_force_stays(
    platform, tokens, tap
):
    """Version 2 (an amendment) accepted, version 3 issued and left unaccepted: the job
    lapses version 3 only; both parties are told version 2 stays in force."""
    plan = create_issued_plan(platform, tokens)
    plan_id, reference = plan["id"], plan["reference"]
    ok(accept(platform, tokens, plan_id))
    amend_and_issue(platform, tokens, plan_id, "Ajout d'une date de fermeture.")
    ok(accept(platform, tokens, plan_id))
    amend_and_issue(platform, tokens, plan_id, "Six heures de services-conseils de plus.")
    issued = tap.wait_for(plan_id, "plan.issued", 3)
    third = issued[-1]["payload"]
    assert (third["version"], third["amends_version"]) == (3, 2)
    assert third["change_summary"] == "Six heures de services-conseils de plus."
    version_2_issued_on = date.fromisoformat(issued[1]["payload"]["issued_on"])

    # The amendment's e-mail and PDF say what it is, what it modifies and what changes.
    mail = mail_to(
        platform,
        EMPLOYER,
        f"Modification du plan de mise en œuvre {reference} (version 3) à accepter au plus tard "
        f"le {long_date(acceptance_deadline(date.fromisoformat(third['issued_on'])))}",
    )
    text = body_of(mail)
    assert f"modifie la version 2 du {long_date(version_2_issued_on)}, actuellement en vigueur" in (
        text
    )
    assert "Six heures de services-conseils de plus." in text
    assert "La version 2 demeure en vigueur jusqu'à l'acceptation de la présente modification" in (
        text
    )
    assert [a.get_filename() for a in mail.iter_attachments()] == [
        f"{reference}-v3.pdf",
        f"{reference}-v3-echeance.ics",
    ]
    pdf = platform.api("GET", f"/api/plans/{plan_id}/pdf?version=3", tokens[EMPLOYER]).content
    cover = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert f"Modifie la version 2 du {long_date(version_2_issued_on)}" in cover
    assert "Résumé des changements : Six heures de services-conseils de plus." in cover

    deadline_day = date.fromisoformat(third["issued_on"]) + timedelta(days=30)
    run_job(platform, deadline_day + timedelta(days=1))
    [lapsed] = tap.wait_for(plan_id, "plan.lapsed", 1)
    assert lapsed["payload"]["version"] == 3
    assert lapsed["payload"]["amends_version"] == 2
    assert lapsed["payload"]["amends_issued_on"] == version_2_issued_on.isoformat()
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[EMPLOYER]))
    assert view["plan"]["status"] == "accepted" and view["plan"]["accepted_version"] == 2
    assert view["version"]["number"] == 2  # the employer now reads the version in force

    subject = (
        f"Modification du plan de mise en œuvre {reference} (version 3) caduque : la version 2 "
        "demeure en vigueur"
    )
    for address in (EMPLOYER, COORDINATOR):
        text = body_of(mail_to(platform, address, subject))
        assert "La modification du plan de mise en œuvre" in text and "est caduque" in text
        assert f"La version 2 du plan, du {long_date(version_2_issued_on)}, demeure en vigueur" in (
            text
        )
        assert "ne lie plus les parties" not in text
        assert "Un nouveau plan peut être émis" not in text
    assert not [
        m for m in platform.mails() if m["Subject"].endswith(f"{reference} résolu de plein droit")
    ]


def test_withdrawing_an_issued_version_to_revise_it_tells_the_employer(platform, tokens, tap):
    plan = create_issued_plan(platform, tokens)
    plan_id, reference = plan["id"], plan["reference"]
    [issued] = tap.wait_for(plan_id, "plan.issued", 1)
    # The plan page offers the revision and says the employer will be told.
    page = page_session(platform, COORDINATOR).get(f"{platform.url}/plans/{plan_id}", timeout=30)
    assert "La version émise est retirée et l'organisation en est avisée" in html.unescape(
        page.text
    )
    response = post_form(
        platform,
        COORDINATOR,
        f"/plans/{plan_id}",
        f"/plans/{plan_id}/modification",
        {"summary": "Dates des entrevues de validation corrigées."},
    )
    assert response.status_code == 303, response.text[:2000]
    [withdrawn] = tap.wait_for(plan_id, "plan.version_withdrawn", 1)
    assert withdrawn["payload"]["version"] == 1
    assert withdrawn["payload"]["reason"] == "Dates des entrevues de validation corrigées."
    assert withdrawn["payload"]["amends_version"] is None
    text = body_of(
        mail_to(platform, EMPLOYER, f"Plan de mise en œuvre {reference} : la version 1 est retirée")
    )
    assert "Vous n'avez plus à accepter cette version." in text
    assert "Dates des entrevues de validation corrigées." in text
    assert f"émise le {long_date(date.fromisoformat(issued['payload']['issued_on']))}" in text
    # The employer's history keeps the withdrawn version.
    view = ok(platform.api("GET", f"/api/plans/{plan_id}?version=1", tokens[EMPLOYER]))
    assert view["version"]["status"] == "withdrawn" and view["version"]["withdrawn_at"]

    ok(platform.api("PUT", f"/api/plans/{plan_id}/estimate", tokens[COORDINATOR], json=ESTIMATE))
    ok(platform.api("POST", f"/api/plans/{plan_id}/issue", tokens[COORDINATOR]))
    reissued = tap.wait_for(plan_id, "plan.issued", 2)[-1]["payload"]
    assert (reissued["replaces_version"], reissued["amends_version"]) == (1, None)
    revised = [
        m
        for m in platform.mails_to(EMPLOYER)
        if m["Subject"].startswith(f"Plan de mise en œuvre {reference} révisé (version 2)")
    ]
    revised = revised or wait_until(
        lambda: [
            m
            for m in platform.mails_to(EMPLOYER)
            if m["Subject"].startswith(f"Plan de mise en œuvre {reference} révisé (version 2)")
        ]
    )
    assert "remplace la version 1, que vous n'avez plus à accepter" in body_of(revised[0])


def test_the_employer_declines_an_offer_then_an_amendment(platform, tokens, tap):
    plan = create_issued_plan(platform, tokens)
    plan_id, reference = plan["id"], plan["reference"]
    # Who may decline: the addressed organisation's representative only.
    body = {"version": 1, "reason": "Le calendrier ne convient pas."}
    assert (
        platform.api(
            "POST", f"/api/plans/{plan_id}/decline", tokens[COORDINATOR], json=body
        ).status_code
        == 403
    )
    assert (
        platform.api(
            "POST", f"/api/plans/{plan_id}/decline", tokens[OTHER_EMPLOYER], json=body
        ).status_code
        == 404
    )
    bad = platform.api(
        "POST",
        f"/api/plans/{plan_id}/decline",
        tokens[EMPLOYER],
        json={"version": 1, "reason": "Non"},
    )
    assert bad.status_code == 422 and "reason" in bad.json()["error"]["details"]
    wrong = platform.api(
        "POST", f"/api/plans/{plan_id}/decline", tokens[EMPLOYER], json={**body, "version": 2}
    )
    assert wrong.status_code == 409

    # The page: a confirmation is required, then the offer ends at once.
    form_path = f"/plans/{plan_id}/refuser"
    employer_page = page_session(platform, EMPLOYER).get(
        f"{platform.url}/plans/{plan_id}", timeout=30
    )
    assert f'href="{form_path}"' in employer_page.text
    assert "Refuser l'offre" in html.unescape(employer_page.text)
    reason = "Le calendrier proposé tombe pendant notre période de pointe ; reprenons au printemps."
    unconfirmed = post_form(
        platform, EMPLOYER, form_path, form_path, {"version": "1", "reason": reason}
    )
    assert unconfirmed.status_code == 422 and "Confirmez que vous refusez" in unconfirmed.text
    assert (
        ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[EMPLOYER]))["plan"]["status"]
        == "issued"
    )
    response = post_form(
        platform,
        EMPLOYER,
        form_path,
        form_path,
        {"version": "1", "reason": reason, "confirme": "oui"},
    )
    # The platform's one flash parameter is ``fait`` (``ctx.done``); the plans pages used ``ok``.
    assert response.status_code == 303 and response.headers["Location"].endswith("?fait=refuse")
    [declined] = tap.wait_for(plan_id, "plan.declined", 1)
    assert declined["payload"]["reason"] == reason
    assert declined["payload"]["declined_by"] == "Julie Morin"
    assert declined["payload"]["amends_version"] is None
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[COORDINATOR]))
    assert view["plan"]["status"] == "declined" and view["version"]["status"] == "declined"
    assert view["version"]["decline_reason"] == reason
    assert accept(platform, tokens, plan_id).status_code == 409
    again = platform.api("POST", f"/api/plans/{plan_id}/decline", tokens[EMPLOYER], json=body)
    assert again.status_code == 409

    # The institution is told, with the reason; the history shows it to both parties.
    text = body_of(
        mail_to(
            platform, COORDINATOR, f"Offre refusée : plan de mise en œuvre {reference} (version 1)"
        )
    )
    assert "Julie Morin a refusé, au nom du CISSS de Chaudière-Appalaches" in text
    assert reason in text and "Le Cégep de Lévis peut réviser le plan" in text
    for email in (COORDINATOR, EMPLOYER):
        history = page_session(platform, email).get(f"{platform.url}/plans/{plan_id}", timeout=30)
        shown = ordinary_spaces(html.unescape(history.text))
        assert "Refusée par l'organisation" in shown and reason in shown

    # The institution revises the declined offer; the employer accepts it; then declines an
    # amendment, which leaves the accepted version in force.
    ok(
        platform.api(
            "POST",
            f"/api/plans/{plan_id}/amendments",
            tokens[COORDINATOR],
            json={"summary": "Début reporté au printemps."},
        )
    )
    ok(platform.api("PUT", f"/api/plans/{plan_id}/estimate", tokens[COORDINATOR], json=ESTIMATE))
    ok(platform.api("POST", f"/api/plans/{plan_id}/issue", tokens[COORDINATOR]))
    assert tap.wait_for(plan_id, "plan.issued", 2)[-1]["payload"]["replaces_version"] == 1
    ok(accept(platform, tokens, plan_id))
    amend_and_issue(platform, tokens, plan_id, "Hausse des frais d'évaluation.")
    declined_amendment = ok(
        platform.api(
            "POST",
            f"/api/plans/{plan_id}/decline",
            tokens[EMPLOYER],
            json={"version": 3, "reason": "La hausse n'est pas prévue à notre budget."},
        )
    )
    assert declined_amendment["status"] == "accepted"
    events = tap.wait_for(plan_id, "plan.declined", 2)
    assert events[-1]["payload"]["version"] == 3 and events[-1]["payload"]["amends_version"] == 2
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[EMPLOYER]))
    assert view["plan"]["accepted_version"] == 2 and view["version"]["number"] == 2
    text = body_of(
        mail_to(
            platform,
            COORDINATOR,
            f"Modification du plan de mise en œuvre {reference} (version 3) refusée : la version 2 "
            "demeure en vigueur",
        )
    )
    assert "La hausse n'est pas prévue à notre budget." in text
    assert "La version 2 demeure en vigueur et continue de lier les parties" in text


# -- every editor of a plan shows again what was saved -----------------------------------------


class FormFields(HTMLParser):
    """The values a page's form shows, by field name: what an input holds, a text area's
    text, the option a select has selected, the boxes and radios checked."""

    def __init__(self, action: str):
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.values = action, False, {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") in ("checkbox", "radio"):
            if "checked" in a:
                self.values[a["name"]] = a.get("value", "on")
        elif tag == "input" and a.get("type") != "file":
            self.values[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            self.values.setdefault(a["name"], "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False


def form_values(page: str, action: str) -> dict[str, str]:
    parser = FormFields(action)
    parser.feed(page)
    return {k: v.replace("\r\n", "\n").strip() for k, v in parser.values.items()}


class Editor:
    """A signed-in browser: GET a page (its CSRF token), POST one of its forms, follow the
    redirect, and read the page it lands on."""

    def __init__(self, platform, email: str):
        self.platform, self.browser = platform, page_session(platform, email)

    def get(self, path: str, status: int = 200) -> str:
        page = self.browser.get(f"{self.platform.url}{path}", timeout=60)
        assert page.status_code == status, page.text[:2000]
        return ordinary_spaces(page.text)

    def post(self, page: str, action: str, data: dict, files=None, status: int = 303) -> str:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', self.get(page)).group(1)
        response = self.browser.post(
            f"{self.platform.url}{action}",
            data={"csrf_token": csrf, **data},
            files=files,
            allow_redirects=False,
            timeout=120,
        )
        assert response.status_code == status, response.text[:3000]
        if status != 303:
            return ordinary_spaces(response.text)
        return self.get(response.headers["Location"])

    def state(self, path: str) -> dict:
        """A status region's JSON (what ``feedback.js`` polls)."""
        response = self.browser.get(f"{self.platform.url}{path}", timeout=60)
        assert response.status_code == 200, response.text[:2000]
        assert response.headers["Cache-Control"] == "no-store"
        return response.json()

    def issue(self, base: str) -> str:
        """« Émettre le plan »: asked on the page, issued in the background; the page the
        status region goes to once the state says so."""
        page = html.unescape(self.post(base, f"{base}/emettre", {}))
        assert "L'émission est demandée" in page and f'data-poll="{base}/emission/etat"' in page
        state = wait_until(
            lambda: (s := self.state(f"{base}/emission/etat"))["pending"] is False and s,
            timeout=180,
            message="the plan was not issued in the background",
        )
        assert state["ready"] and state["url"] == f"{base}?fait=plan-emis", state["message"]
        return self.get(state["url"])


def assert_shown(values: dict, posted: dict) -> None:
    for name, value in posted.items():
        assert values.get(name) == value.strip(), (name, values.get(name), value)


def test_every_editor_form_shows_again_what_was_saved(platform, tokens):
    coordinator, employer = Editor(platform, COORDINATOR), Editor(platform, EMPLOYER)
    employer_id = ok(platform.api("GET", "/api/me", tokens[EMPLOYER]))["organisation"]["id"]

    def estimate_for_one() -> None:  # the estimate of a version, one candidate-worker
        one = [ESTIMATE["lines"][0], {**ESTIMATE["lines"][1], "quantity": "1"}]
        estimate = {**ESTIMATE, "lines": one}
        ok(
            platform.api(
                "PUT", f"/api/plans/{plan_id}/estimate", tokens[COORDINATOR], json=estimate
            )
        )

    # The new plan: what was typed is in the editor's first form.
    created = {
        "employer_id": str(employer_id),
        "employer_service": "Direction des soins infirmiers",
        "representative_title": "Directrice adjointe",
        "program_kind": "DEC",
        "program_code": "180.A0",
        "program_title": "Soins infirmiers",
        "target_jobs": "les infirmières auxiliaires",
        "organisation_domain": "de la santé",
    }
    editor = coordinator.post("/plans/nouveau", "/plans/nouveau", created)
    assert "Le plan est créé" in html.unescape(editor)
    plan_id = int(re.search(r'action="/plans/(\d+)/sections"', editor).group(1))
    base = f"/plans/{plan_id}"
    shown = form_values(editor, f"{base}/sections")
    assert (shown["program.kind"], shown["program.code"], shown["program.title"]) == (
        "DEC", "180.A0", "Soins infirmiers"
    )  # fmt: skip
    assert shown["employer.service"] == "Direction des soins infirmiers"
    assert shown["employer.representative_title"] == "Directrice adjointe"
    assert shown["sections.target_jobs"] == "les infirmières auxiliaires"
    assert shown["sections.organisation_domain"] == "de la santé"

    # Parties and sections, a specialist's row and lines typed one per line.
    sections = {
        **shown,
        "institution.contact": "418 833-5110, poste 3201",
        "institution.address": "205, route Monseigneur-Bourget\nLévis (Québec)  G6V 6Z9",
        "employer.name": "CISSS de Chaudière-Appalaches",
        "sections.context": "Un projet « pilote » pour l'équipe de nuit.",
        "sections.domains": "Soins infirmiers\nSoins préhospitaliers d'urgence",
        "sections.objectives": "Reconnaître les acquis\nSoutenir la relève",
        "sections.specialists.0.name": "Geneviève Roy",
        "sections.specialists.0.field": "Soins critiques",
    }
    editor = coordinator.post(f"{base}/modifier", f"{base}/sections", sections)
    assert "Les modifications sont enregistrées." in editor
    assert_shown(form_values(editor, f"{base}/sections"), sections)

    # Steps (dates and a period in words) and closure dates, one per line.
    steps = {
        "steps.0.kind": "information_meeting",
        "steps.0.start": "2027-01-04",
        "steps.0.end": "2027-01-08",
        "steps.1.kind": "file_deposit",
        "steps.1.period": "Hiver 2027",
        "closure_dates": "2027-01-29\n2027-02-15",
    }
    editor = coordinator.post(f"{base}/modifier", f"{base}/etapes", steps)
    assert_shown(form_values(editor, f"{base}/etapes"), steps)

    aide_memoire = {
        f"aide_memoire.{key}": f"Clause {key} : « convenue » le 4 janvier."
        for key in (
            "evaluation_fees_note", "human_financial_resources", "safety_equipment",
            "refund_conditions", "modalities",
        )
    }  # fmt: skip
    editor = coordinator.post(f"{base}/modifier", f"{base}/aide-memoire", aide_memoire)
    assert_shown(form_values(editor, f"{base}/aide-memoire"), aide_memoire)

    annexes = {
        **form_values(editor, f"{base}/annexes"),
        "annexes.annex_b_entries.0.what": "Rencontres hebdomadaires avec la spécialiste",
        "annexes.annex_b_entries.5.category": "facilitating",
        "annexes.annex_b_entries.5.what": "Local fermé pour les entrevues",
        "annexes.annex_b_entries.5.who": "Organisation",
        "annexes.annex_c_representative": "Isabelle Bégin",
        "annexes.annex_c_start_date": "2027-01-11",
    }
    editor = coordinator.post(f"{base}/modifier", f"{base}/annexes", annexes)
    shown = form_values(editor, f"{base}/annexes")
    assert shown["annexes.annex_b_entries.0.what"] == annexes["annexes.annex_b_entries.0.what"]
    # The new row comes after the template's three (blank rows between are dropped).
    assert shown["annexes.annex_b_entries.3.what"] == "Local fermé pour les entrevues"
    assert shown["annexes.annex_b_entries.3.category"] == "facilitating"
    assert shown["annexes.annex_c_start_date"] == "2027-01-11"
    assert shown["annexes.annex_c_representative"] == "Isabelle Bégin"

    # A competency and a candidate-worker: refused, what was typed comes back; accepted,
    # the tables show them.
    competency = {"code": "0190", "statement": "Évaluer la condition clinique",
                  "group": "REG A", "weeks_3h": "4", "weeks_6h": "6"}  # fmt: skip
    refused = coordinator.post(f"{base}/modifier", f"{base}/competences", competency, status=422)
    assert "6 h par semaine" in html.unescape(refused)
    assert_shown(form_values(refused, f"{base}/competences"), competency)
    editor = coordinator.post(
        f"{base}/modifier", f"{base}/competences", {**competency, "weeks_6h": "2"}
    )
    cells = "<td>0190</td><td>Évaluer la condition clinique</td><td>REG A</td><td>4</td><td>2</td>"
    assert cells in editor
    candidate = {"full_name": "Nadia Côté", "job_title": "Infirmière auxiliaire",
                 "email": "nadia.cote@exemple", "rhythm": "6", "start_date": "2027-01-18",
                 "modality": "online"}  # fmt: skip
    refused = coordinator.post(f"{base}/modifier", f"{base}/candidats", candidate, status=422)
    assert "Adresse courriel invalide." in refused
    assert_shown(form_values(refused, f"{base}/candidats"), candidate)
    editor = coordinator.post(
        f"{base}/modifier",
        f"{base}/candidats",
        {**candidate, "email": "nadia.cote@exemple.quebec"},
    )
    row = re.search(r"<tr><td>Nadia Côté</td>.*?</tr>", editor, re.S).group(0)
    assert "nadia.cote@exemple.quebec" in row and "6 h" in row and "En ligne" in row
    assert "18 janvier 2027" in row

    # Issued; the employer declines (confirmed, with a reason): the history shows the reason.
    estimate_for_one()
    page = coordinator.issue(base)
    assert "Le plan est émis" in page
    reason = "Les dates de l'hiver 2027 ne conviennent pas à l'équipe de nuit."
    page = employer.post(
        f"{base}/refuser", f"{base}/refuser", {"version": "1", "reason": reason, "confirme": "on"}
    )
    assert reason in html.unescape(page) and "L'offre est refusée" in html.unescape(page)

    # Revised (the summary shown on the plan), issued again, accepted online.
    summary = "Évaluations reportées au printemps 2027."
    editor = coordinator.post(base, f"{base}/modification", {"summary": summary})
    assert "Une nouvelle version est en préparation" in editor
    assert summary in html.unescape(coordinator.get(base))
    estimate_for_one()
    coordinator.issue(base)
    form = form_values(employer.get(f"{base}/accepter"), f"{base}/accepter")
    accepted = {**form, "title": "Directrice adjointe des soins", "statement": "J'accepte"}
    refused = employer.post(f"{base}/accepter", f"{base}/accepter", accepted, status=422)
    assert_shown(form_values(refused, f"{base}/accepter"), {"title": accepted["title"]})
    page = employer.post(f"{base}/accepter", f"{base}/accepter", {**accepted, "lu": "on"})
    assert f"Acceptée en ligne par Julie Morin, {accepted['title']}" in html.unescape(page)

    # An amendment accepted on paper: the date of receipt and the signatory shown.
    coordinator.post(base, f"{base}/modification", {"summary": "Ajout d'une fermeture."})
    estimate_for_one()
    coordinator.issue(base)
    today = clock.today()
    paper = {"version": "3", "received_on": today.isoformat(), "signed_by_name": "Julie Morin",
             "signed_by_title": "Directrice des ressources humaines"}  # fmt: skip
    scan = {"fichier": ("acceptation.pdf", MINIMAL_PDF, "application/pdf")}
    page = coordinator.post(base, f"{base}/acceptation-recue", paper, files=scan)
    assert (
        "Acceptation signée de Julie Morin, Directrice des ressources humaines, reçue le "
        f"{long_date(today)}"
    ) in html.unescape(page)

    # Progress: the step and the result selected again, the abandonment's date shown.
    progress = ok(platform.api("GET", f"/api/plans/{plan_id}/progress", tokens[COORDINATOR]))
    nadia = progress["candidates"][0]["id"]
    follow = f"{base}/suivi"
    page = coordinator.post(
        follow, f"{follow}/{nadia}/etape", {"_form": f"etape-{nadia}", "step": "evaluations"}
    )
    assert form_values(page, f"{follow}/{nadia}/etape")["step"] == "evaluations"
    result = {"_form": f"resultat-{nadia}-0190", "competency_code": "0190", "result": "reconnue"}
    page = coordinator.post(follow, f"{follow}/{nadia}/resultat", result)
    assert form_values(page, f"{follow}/{nadia}/resultat")["result"] == "reconnue"
    # The abandonment is confirmed on its own step, which says what it entails.
    step = html.unescape(coordinator.get(f"{follow}/{nadia}/abandon"))
    assert "ne pourra plus être modifié" in step and 'class="danger"' in step
    page = coordinator.post(
        f"{follow}/{nadia}/abandon",
        f"{follow}/{nadia}/abandon",
        {"abandoned_on": today.isoformat()},
    )
    assert f"Abandon de la démarche</strong> le {long_date(today)}" in html.unescape(page)

    # Cancelled: the reason on the plan.
    page = coordinator.post(base, f"{base}/annuler", {"reason": "Fin du financement du projet."})
    assert "Fin du financement du projet." in html.unescape(page)
    assert "Le plan est annulé." in html.unescape(page)


def test_the_program_s_field_of_study_typed_in_the_editor_completes_the_plan_s_sentences(
    platform, tokens
):
    """The field added by one contract line and two template lines (README, « How to add a
    field »): typed in the editor, saved, shown again, and in the PDF's two sentences."""
    plan_id = create_issued_plan(platform, tokens, issue=False)["id"]
    base, coordinator = f"/plans/{plan_id}", Editor(platform, COORDINATOR)
    sections = {
        **form_values(coordinator.get(f"{base}/modifier"), f"{base}/sections"),
        "program.field_of_study": "l’éducation à l’enfance",
    }
    editor = coordinator.post(f"{base}/modifier", f"{base}/sections", sections)
    assert form_values(editor, f"{base}/sections")["program.field_of_study"] == (
        "l’éducation à l’enfance"
    )
    view = ok(platform.api("GET", f"/api/plans/{plan_id}", tokens[COORDINATOR]))
    assert view["content"]["program"]["field_of_study"] == "l’éducation à l’enfance"
    # The preview, rendered in the background; its link once the state says it is ready.
    coordinator.get(f"{base}/apercu.pdf", status=404)  # none asked for yet
    page = html.unescape(coordinator.post(base, f"{base}/apercu", {}))
    assert "L'aperçu PDF est demandé" in page
    state = wait_until(
        lambda: (s := coordinator.state(f"{base}/apercu/etat"))["pending"] is False and s,
        timeout=180,
        message="the preview was not rendered in the background",
    )
    assert state["ready"] and state["url"] == f"{base}/apercu.pdf", state
    assert "Télécharger l'aperçu PDF de la version 1" in html.unescape(coordinator.get(base))
    pdf = coordinator.browser.get(f"{platform.url}{state['url']}", timeout=120)
    assert pdf.status_code == 200
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(
        io.BytesIO(pdf.content)).pages).replace("- ", "-")  # fmt: skip
    assert "dans les divers domaines liés à l’éducation à l’enfance et d’une expertise" in text
    assert "L’expertise de nos spécialistes de contenu en l’éducation à l’enfance est" in text
    assert "compétences essentielles en l’éducation à l’enfance." in text
