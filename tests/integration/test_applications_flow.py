"""Calls for interest and applications over the real platform (gateway, services,
RabbitMQ, PostgreSQL): publish a call → open a draft → upload → two signatories sign →
submit → paper copy → admissibility → events published; every bad input of issue 4 gets a
clear French error and changes nothing; tenants and employers stay out."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, datetime, timedelta

import pytest
import requests
from sqlalchemy import text

from rac_shared.clock import MONTREAL
from services.applications.demo import CRITERIA_2012
from services.applications.testing import EXE, MINIMAL_PDF
from tests.support.polling import wait_until
from tests.support.typography import ordinary_spaces

pytestmark = pytest.mark.integration

ADMIN = "admin@mes.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"
EVALUATOR = "evaluatrice@mes.demo.quebec"
LEVIS_RAC = "rac@cegeplevis.demo.quebec"
LEVIS_DG = "dg@cegeplevis.demo.quebec"
LEVIS_STUDIES = "etudes@cegeplevis.demo.quebec"
CMV_DG = "dg@cmv.demo.quebec"
CMV_FC = "fc@cmv.demo.quebec"
EMPLOYER = "rh@cisss.demo.quebec"


def today() -> date:
    return datetime.now(MONTREAL).date()


@pytest.fixture(scope="module")
def tokens(platform):
    emails = (ADMIN, ANALYST, EVALUATOR, LEVIS_RAC, LEVIS_DG, LEVIS_STUDIES, CMV_DG, CMV_FC)
    emails += (EMPLOYER,)
    return {email: platform.token(email) for email in emails}


@pytest.fixture(scope="module")
def api(platform, tokens):
    def call(method: str, path: str, who: str, **kwargs):
        return platform.api(method, path, tokens[who], **kwargs)

    return call


def scalar(platform, sql: str, **params):
    engine = platform.engine("applications")
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def call_body(title: str) -> dict:
    start = today()
    return {
        "title": title,
        "education_orders": ["secondaire", "collégial"],
        "launch_date": start.isoformat(),
        "deadline_date": (start + timedelta(days=30)).isoformat(),
        "analysis_date": (start + timedelta(days=60)).isoformat(),
        "designation_date": (start + timedelta(days=90)).isoformat(),
        "experimentation_years": [f"{start.year + 1}-{start.year + 2}"],
    }


def publish_call(api, title: str) -> dict:
    response = api("POST", "/api/calls", ADMIN, json=call_body(title))
    assert response.status_code == 200, response.text
    call = response.json()
    section = api(
        "POST",
        f"/api/calls/{call['id']}/sections",
        ADMIN,
        json={"title": "Présentation de l'établissement"},
    ).json()
    question = api(
        "POST",
        f"/api/calls/{call['id']}/sections/{section['id']}/questions",
        ADMIN,
        json={"label": "Décrivez votre service de RAC.", "kind": "text", "max_length": 800},
    )
    assert question.status_code == 200, question.text
    grid = api(
        "PUT",
        f"/api/calls/{call['id']}/criteria",
        ADMIN,
        json={
            "criteria": [
                {"group": g, "label": label, "weight": w, "threshold": t}
                for g, label, w, t in CRITERIA_2012
            ]
        },
    )
    assert grid.status_code == 200 and grid.json()["grid_problems"] == [], grid.text
    guide = api(
        "POST",
        f"/api/calls/{call['id']}/guide",
        ADMIN,
        files={"file": ("guide-2026.pdf", MINIMAL_PDF, "application/pdf")},
    )
    assert guide.status_code == 200, guide.text
    published = api("POST", f"/api/calls/{call['id']}/publish", ADMIN)
    assert published.status_code == 200, published.text
    return api("GET", f"/api/calls/{call['id']}", ADMIN).json()


def fill_every_section(api, who: str, application_id: int, call: dict) -> None:
    for section in call["sections"]:
        answers = {}
        for question in section["questions"]:
            if question["kind"] == "yes_no":
                answers[str(question["id"])] = "oui"
            elif question["kind"] == "text":
                answers[str(question["id"])] = "Réponse complète de l'établissement."
        response = api(
            "PUT",
            f"/api/applications/{application_id}/sections/{section['id']}",
            who,
            json={"answers": answers},
        )
        assert response.status_code == 200, response.text


def upload(api, who: str, application_id: int, kind: str, name: str, content: bytes):
    return api(
        "POST",
        f"/api/applications/{application_id}/attachments",
        who,
        data={"kind": kind},
        files={"file": (name, content, "application/octet-stream")},
    )


def wait_receipt(api, application_id: int, who: str, timeout: float = 30):
    """The receipt is rendered by the service shortly after submission (409 meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        response = api("GET", f"/api/applications/{application_id}/receipt", who)
        if response.status_code != 409 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return response
        assert "en préparation" in response.json()["error"]["message"]
        time.sleep(0.3)


def wait_published(platform, event_type: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine = platform.engine("applications")
        try:
            with engine.connect() as connection:
                row = connection.execute(
                    text(
                        "SELECT body, published_at FROM outbox WHERE event_type = :t "
                        "ORDER BY id DESC LIMIT 1"
                    ),
                    {"t": event_type},
                ).first()
        finally:
            engine.dispose()
        if row is not None and row.published_at is not None:
            return row.body
        time.sleep(0.2)
    raise AssertionError(f"{event_type} not published\n{platform.tail_logs()}")


def test_the_whole_path_from_the_call_to_the_admissibility_decision(platform, api):
    call = publish_call(api, "Appel d'intérêt de démonstration — parcours complet")
    assert call["status"] == "published"
    published = wait_published(platform, "call.published")
    assert published["payload"]["call_id"] == call["id"]

    # The cégep sees the call and opens its application; the institution is its own.
    listed = api("GET", "/api/calls", LEVIS_RAC).json()["items"]
    assert call["id"] in [c["id"] for c in listed]
    opened = api("POST", f"/api/calls/{call['id']}/applications", LEVIS_RAC)
    assert opened.status_code == 200, opened.text
    application = opened.json()
    application_id = application["id"]
    assert application["organisation_name"] == "Cégep de Lévis"
    assert application["region"] == "Chaudière-Appalaches"
    assert application["status"] == "draft"

    fill_every_section(api, LEVIS_RAC, application_id, call)
    for kind, name in (("support_letter", "lettre-appui.pdf"), ("official_document", "ca.pdf")):
        response = upload(api, LEVIS_RAC, application_id, kind, name, MINIMAL_PDF)
        assert response.status_code == 200, response.text
        assert response.json()["mime"] == "application/pdf"

    # Each signatory signs with their own account.
    for signatory, capacity in (
        (LEVIS_DG, "director_general"),
        (LEVIS_STUDIES, "second_signatory"),
    ):
        signed = api("POST", f"/api/applications/{application_id}/sign", signatory)
        assert signed.status_code == 200, signed.text
        assert signed.json()["capacity"] == capacity
    view = api("GET", f"/api/applications/{application_id}", LEVIS_RAC).json()
    assert view["complete"] and view["can_submit"]
    assert [s["full_name"] for s in view["signatures"]] == ["Isabelle Bégin", "Marc-André Gagnon"]

    submitted = api("POST", f"/api/applications/{application_id}/submit", LEVIS_RAC)
    assert submitted.status_code == 200, submitted.text
    reference = submitted.json()["reference"]
    deadline_year = date.fromisoformat(call["deadline_date"]).year
    assert reference == f"CERAC-{deadline_year}-CLV-{application_id:04d}"
    receipt = wait_receipt(api, application_id, LEVIS_DG)
    assert receipt.headers["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")
    assert reference in receipt.headers["Content-Disposition"]
    event = wait_published(platform, "application.submitted")
    assert event["payload"]["reference"] == reference
    assert event["payload"]["content_sha256"] == submitted.json()["content_sha256"]

    # Read-only once submitted.
    section = call["sections"][0]
    again = api(
        "PUT",
        f"/api/applications/{application_id}/sections/{section['id']}",
        LEVIS_RAC,
        json={"answers": {}},
    )
    assert again.status_code == 409
    assert "ne peut plus être modifiée" in again.json()["error"]["message"]

    # The ministry's table, filtered, and its CSV.
    table = api(
        "GET", f"/api/calls/{call['id']}/applications?order=collégial&status=submitted", ANALYST
    )
    assert table.status_code == 200, table.text
    assert [r["reference"] for r in table.json()["items"]] == [reference]
    assert table.json()["count"] == 1
    exported = api("GET", f"/api/calls/{call['id']}/applications.csv", ANALYST)
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    # The screen's columns: the institution first, its reference further on.
    header = rows[0]
    assert header[:2] == ["Établissement", "Type"] and "Référence" in header
    assert rows[1][0] == "Cégep de Lévis" and rows[1][header.index("Référence")] == reference

    # Paper copy, then the four rules confirmed, then the decision.
    paper = api(
        "POST",
        f"/api/applications/{application_id}/paper-receipt",
        ANALYST,
        json={"received_on": today().isoformat()},
    )
    assert paper.status_code == 200, paper.text
    assert paper.json()["paper_late"] is False
    rules = api("GET", f"/api/applications/{application_id}", ANALYST).json()["rules"]
    assert [(r["rule"], r["passed"]) for r in rules] == [
        ("institution", True),
        ("signatures", True),
        ("completeness", True),
        ("deposit", True),
    ]
    early = api(
        "POST",
        f"/api/applications/{application_id}/admissibility/decision",
        ANALYST,
        json={"decision": "recevable"},
    )
    assert early.status_code == 409
    for rule in rules:
        reviewed = api(
            "POST",
            f"/api/applications/{application_id}/admissibility/rules/{rule['rule']}",
            ANALYST,
            json={"passed": True},
        )
        assert reviewed.status_code == 200, reviewed.text
    decided = api(
        "POST",
        f"/api/applications/{application_id}/admissibility/decision",
        ANALYST,
        json={"decision": "recevable", "comment": "Demande conforme."},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["admissibility"] == "recevable"
    event = wait_published(platform, "application.admissibility_decided")
    assert event["payload"]["application_id"] == application_id
    assert event["payload"]["admissible"] is True
    assert [r["rule"] for r in event["payload"]["rules"]] == [
        "institution",
        "signatures",
        "completeness",
        "deposit",
    ]
    # An evaluator reads an application only once scoring assigns it to them (and never
    # when in conflict): admissible is not enough.
    response = api("GET", f"/api/applications/{application_id}", EVALUATOR)
    assert response.status_code == 404
    assert "ne vous est pas confiée" in response.json()["error"]["message"]


def reviewed_application(platform, api, call: dict) -> int:
    """The Cégep de Lévis's application, submitted, its paper copy received and its four
    rules confirmed by the analyst: ready for the decision."""
    application_id = api("POST", f"/api/calls/{call['id']}/applications", LEVIS_RAC).json()["id"]
    fill_every_section(api, LEVIS_RAC, application_id, call)
    for kind in ("support_letter", "official_document"):
        assert upload(api, LEVIS_RAC, application_id, kind, f"{kind}.pdf", MINIMAL_PDF).ok
    for signatory in (LEVIS_DG, LEVIS_STUDIES):
        assert api("POST", f"/api/applications/{application_id}/sign", signatory).ok
    assert api("POST", f"/api/applications/{application_id}/submit", LEVIS_RAC).ok
    assert api("POST", f"/api/applications/{application_id}/paper-receipt", ANALYST,
               json={"received_on": today().isoformat()}).ok  # fmt: skip
    for rule in ("institution", "signatures", "completeness", "deposit"):
        assert api("POST", f"/api/applications/{application_id}/admissibility/rules/{rule}",
                   ANALYST, json={"passed": True}).ok  # fmt: skip
    return application_id


def test_bulk_admissibility_from_the_table_with_a_confirmation(platform, api):
    """The analyst ticks applications in the call's table, chooses the decision and its
    reason, reads what will happen, confirms; each application is decided alone, the
    refused one is reported, and the decision is published as a single one would be."""
    call = publish_call(api, "Appel d'intérêt — décision de recevabilité groupée")
    application_id = reviewed_application(platform, api, call)
    browser = requests.Session()
    browser.cookies.set("rac_session", platform.session_cookie(ANALYST))
    table = browser.get(f"{platform.url}/appels/{call['id']}/demandes", timeout=60)
    assert f'name="application_ids" value="{application_id}"' in table.text
    reason = "Dossier conforme, vérifié en comité d'analyse."
    confirm = f"/appels/{call['id']}/demandes/recevabilite"
    chosen = {"application_ids": [application_id], "decision": "recevable", "comment": reason}
    step = browser.get(f"{platform.url}{confirm}", timeout=60, params=chosen)
    assert step.status_code == 200
    assert "1 demande sera déclarée" in step.text and "Confirmer les décisions" in step.text
    assert scalar(platform, "SELECT admissibility FROM applications WHERE id = :a",
                  a=application_id) is None  # the confirmation page decides nothing  # fmt: skip
    empty = browser.get(f"{platform.url}{confirm}", timeout=60)
    assert "Cochez au moins une demande" in empty.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', step.text).group(1)
    done = browser.post(f"{platform.url}{confirm}", timeout=60, allow_redirects=False, data={
        "csrf_token": csrf, "application_ids": [str(application_id), "999999"],
        "decision": "recevable", "comment": reason})  # fmt: skip
    assert done.status_code == 200, done.text[:500]
    assert "1 demande déclarée recevable ; 1 demande refusée" in ordinary_spaces(done.text)
    assert "Cette demande n&#39;appartient pas à cet appel d&#39;intérêt." in done.text
    assert scalar(platform, "SELECT admissibility FROM applications WHERE id = :a",
                  a=application_id) == "recevable"  # fmt: skip
    event = wait_published(platform, "application.admissibility_decided")
    assert event["payload"]["application_id"] == application_id
    assert event["payload"]["comment"] == reason
    # Over the API, a missing reason is refused in French and decides nothing.
    bare = api("POST", f"/api/calls/{call['id']}/admissibility-decisions", ANALYST,
               json={"application_ids": [application_id], "decision": "non_recevable"})  # fmt: skip
    assert bare.status_code == 422
    assert bare.json()["error"]["details"] == {
        "comment": "Indiquez le motif commun de ces décisions (5 caractères au moins)."
    }


def test_bad_inputs_get_a_clear_error_and_change_nothing(platform, api):
    call = publish_call(api, "Appel d'intérêt de démonstration — mauvaises entrées")
    applications_before = scalar(platform, "SELECT COUNT(*) FROM applications")

    # Unknown call.
    unknown = api("POST", "/api/calls/987654/applications", CMV_DG)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Appel d'intérêt introuvable."
    # A forged institution id in the body: refused, the institution is the account's own.
    forged = api(
        "POST", f"/api/calls/{call['id']}/applications", CMV_DG, json={"organisation_id": 1}
    )
    assert forged.status_code == 422
    assert forged.json()["error"]["details"] == {"organisation_id": "Ce champ n'est pas permis."}
    assert scalar(platform, "SELECT COUNT(*) FROM applications") == applications_before

    opened = api("POST", f"/api/calls/{call['id']}/applications", CMV_DG)
    assert opened.status_code == 200, opened.text
    application_id = opened.json()["id"]
    # A second application of the same institution.
    second = api("POST", f"/api/calls/{call['id']}/applications", CMV_DG)
    assert second.status_code == 409
    assert second.json()["error"]["details"] == {"application_id": str(application_id)}

    # Disguised and oversized files.
    exe = upload(api, CMV_DG, application_id, "support_letter", "lettre-appui.pdf", EXE)
    assert exe.status_code == 422
    assert "ne correspond à aucun format accepté" in exe.json()["error"]["message"]
    big = upload(
        api,
        CMV_DG,
        application_id,
        "support_letter",
        "lettre.pdf",
        MINIMAL_PDF + b"0" * (10 * 1024 * 1024),
    )
    assert big.status_code == 422
    assert "taille maximale de 10 Mo" in big.json()["error"]["message"]
    huge = upload(
        api,
        CMV_DG,
        application_id,
        "support_letter",
        "lettre.pdf",
        b"%PDF-" + b"0" * (13 * 1024 * 1024),
    )
    assert huge.status_code == 413
    assert (
        scalar(
            platform, "SELECT COUNT(*) FROM attachments WHERE application_id = :a", a=application_id
        )
        == 0
    )

    # Missing sections (and documents and signatures): submission refused, with details.
    missing = api("POST", f"/api/applications/{application_id}/submit", CMV_DG)
    assert missing.status_code == 422
    details = missing.json()["error"]["details"]
    assert {"support_letters", "official_documents", "signatures"} <= set(details)
    assert any(key.startswith("section-") for key in details)
    # Wrong signatory role: a cégep's RAC coordinator may not sign.
    levis_call = api("POST", f"/api/calls/{call['id']}/applications", LEVIS_RAC).json()
    wrong = api("POST", f"/api/applications/{levis_call['id']}/sign", LEVIS_RAC)
    assert wrong.status_code == 422
    assert "direction des études ou de la formation continue" in wrong.json()["error"]["message"]
    # A text longer than the question allows.
    section = call["sections"][-1]
    question = section["questions"][0]
    long_text = api(
        "PUT",
        f"/api/applications/{application_id}/sections/{section['id']}",
        CMV_DG,
        json={"answers": {str(question["id"]): "x" * 801}},
    )
    assert long_text.status_code == 422
    assert long_text.json()["error"]["details"] == {  # on the answer sent (contract path)
        f"answers.{question['id']}": "La réponse compte 801 caractères; le maximum est 800."
    }
    assert (
        scalar(platform, "SELECT COUNT(*) FROM answers WHERE application_id = :a", a=application_id)
        == 0
    )
    assert (
        scalar(platform, "SELECT status FROM applications WHERE id = :a", a=application_id)
        == "draft"
    )

    # Closed call.
    api("POST", f"/api/calls/{call['id']}/close", ADMIN)
    closed = api("POST", f"/api/calls/{call['id']}/applications", LEVIS_DG)
    assert closed.status_code == 409  # Lévis already has one: conflict either way
    other = publish_call(api, "Appel d'intérêt de démonstration — fermé")
    assert api("POST", f"/api/calls/{other['id']}/close", ADMIN).status_code == 200
    closed = api("POST", f"/api/calls/{other['id']}/applications", CMV_DG)
    assert closed.status_code == 409
    assert closed.json()["error"]["message"] == "L'appel d'intérêt est fermé."

    # Late submission: the demo's 2012-2013 call closed on 21 December 2012 at 23:59.
    demo_draft = scalar(
        platform,
        "SELECT a.id FROM applications a JOIN calls c ON c.id = a.call_id "
        "WHERE a.organisation_code = 'CLV' AND c.deadline_date = '2012-12-21'",
    )
    late = api("POST", f"/api/applications/{demo_draft}/submit", LEVIS_DG)
    assert late.status_code == 409
    assert (
        "21 décembre 2012, 23 h 59, heure de Montréal) est passée"
        in (late.json()["error"]["message"])
    )
    assert (
        scalar(platform, "SELECT status FROM applications WHERE id = :a", a=demo_draft) == "draft"
    )
    # Invalid grid: refused at publication with the reason.
    draft = api("POST", "/api/calls", ADMIN, json=call_body("Appel à la grille incomplète")).json()
    refused = api("POST", f"/api/calls/{draft['id']}/publish", ADMIN)
    assert refused.status_code == 422
    assert (
        "La somme des pondérations doit être de 100 (actuellement 0)."
        in (refused.json()["error"]["details"]["problemes"])
    )


def test_tenants_and_employers_stay_out(platform, api):
    demo_submitted = scalar(
        platform,
        "SELECT id FROM applications WHERE organisation_code = 'CMV' "
        "AND status = 'submitted' ORDER BY id LIMIT 1",
    )
    attachment = scalar(
        platform,
        "SELECT id FROM attachments WHERE application_id = :a ORDER BY id LIMIT 1",
        a=demo_submitted,
    )
    for who in (LEVIS_RAC, LEVIS_DG):
        for path in (
            f"/api/applications/{demo_submitted}",
            f"/api/applications/{demo_submitted}/attachments/{attachment}",
            f"/api/applications/{demo_submitted}/receipt",
        ):
            response = api("GET", path, who)
            assert response.status_code == 404, (who, path, response.text)
            assert "Cégep Marie-Victorin" not in response.text
        deleted = api("DELETE", f"/api/applications/{demo_submitted}/attachments/{attachment}", who)
        assert deleted.status_code == 404
    # Its own institution and the ministry's analysts read it.
    own = api("GET", f"/api/applications/{demo_submitted}/attachments/{attachment}", CMV_DG)
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    assert api("GET", f"/api/applications/{demo_submitted}", ANALYST).status_code == 200
    # Employers see nothing of this area; evaluators no undecided application.
    for path in (
        "/api/calls",
        f"/api/applications/{demo_submitted}",
        f"/api/applications/{demo_submitted}/attachments/{attachment}",
    ):
        assert api("GET", path, EMPLOYER).status_code == 403
    assert api("GET", f"/api/applications/{demo_submitted}", EVALUATOR).status_code == 404
    assert scalar(platform, "SELECT COUNT(*) FROM attachments WHERE id = :a", a=attachment) == 1


def test_the_demo_call_of_seed_000(platform, api):
    [demo] = [
        c
        for c in api("GET", "/api/calls", ANALYST).json()["items"]
        if c["deadline_date"] == "2012-12-21"
    ]
    call = api("GET", f"/api/calls/{demo['id']}", ANALYST).json()
    assert call["launch_date"].startswith("2012-09")
    assert call["designation_date"].startswith("2013-05")
    assert call["experimentation_years"] == ["2013-2014", "2014-2015"]
    assert [(c["group"], c["weight"], c["threshold"]) for c in call["criteria"]] == [
        (g, w, t) for g, _, w, t in CRITERIA_2012
    ]
    parts = [s["mandate_part"] for s in call["sections"] if s["mandate_part"]]
    assert parts == ["offer", "quality", "development", "reporting"]
    guide = api("GET", f"/api/calls/{demo['id']}/guide", LEVIS_RAC)
    assert guide.status_code == 200 and guide.content.startswith(b"%PDF")
    table = api("GET", f"/api/calls/{demo['id']}/applications", ANALYST).json()
    statuses = {r["organisation_name"]: r["status"] for r in table["items"]}
    assert statuses["Cégep de Lévis"] == "draft"
    assert statuses["Cégep Marie-Victorin"] == "submitted"


def test_complements_are_asked_notified_answered_and_the_analysis_resumes(platform, api):
    """The « demande de compléments » over the real bus and PostgreSQL: the analyst asks, the
    institution is e-mailed and finds it in its inbox, provides the items and answers, the
    analyst is told, resumes and decides; the deposit time is the original one throughout,
    and every exchange is in the application's history."""
    call = publish_call(api, "Appel d'intérêt de démonstration — compléments")
    application_id = api("POST", f"/api/calls/{call['id']}/applications", CMV_DG).json()["id"]
    fill_every_section(api, CMV_DG, application_id, call)
    for kind, name in (("support_letter", "lettre.pdf"), ("official_document", "ca.pdf")):
        assert upload(api, CMV_DG, application_id, kind, name, MINIMAL_PDF).status_code == 200
    for signatory in (CMV_DG, CMV_FC):
        assert api("POST", f"/api/applications/{application_id}/sign", signatory).status_code == 200
    deposited = api("POST", f"/api/applications/{application_id}/submit", CMV_DG).json()
    reference = deposited["reference"]
    question = next(q for s in call["sections"] for q in s["questions"] if q["kind"] == "text")

    # The analyst asks; a bad request is refused in French and changes nothing.
    path = f"/api/applications/{application_id}/complements"
    refused = api("POST", path, ANALYST, json={"items": [], "due_date": today().isoformat()})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["items"] == "Au moins un élément est requis."
    assert api("POST", path, LEVIS_DG, json={"items": []}).status_code == 403
    due = today() + timedelta(days=10)
    requested = api(
        "POST",
        path,
        ANALYST,
        json={
            "items": [
                {
                    "label": "Lettre d'appui d'un employeur",
                    "kind": "document",
                    "piece_kind": "support_letter",
                },
                {
                    "label": "Précision sur le service",
                    "kind": "answer",
                    "question_id": question["id"],
                },
            ],
            "due_date": due.isoformat(),
            "message": "Merci de compléter le dossier.",
        },
    )
    assert requested.status_code == 200, requested.text
    view = api("GET", f"/api/applications/{application_id}", CMV_DG).json()
    assert view["status_label"] == "Compléments demandés"
    document, answer = view["complements"]["requests"][0]["items"]

    # The institution is told by e-mail and in its inbox.
    subject = f"Compléments demandés pour votre demande {reference}"
    wait_until(
        lambda: [m for m in platform.mails_to(CMV_DG) if m["Subject"].startswith(subject)],
        timeout=60,
        message=f"complements e-mail\n{platform.tail_logs()}",
    )
    inbox = api("GET", "/api/messages", CMV_DG).json()["messages"]
    assert any(
        reference in m["subject"] and m["link"].endswith(f"/demandes/{application_id}")
        for m in inbox
    )

    # Only the named items change: the form does not; another institution cannot answer.
    section = call["sections"][0]
    frozen = api(
        "PUT",
        f"/api/applications/{application_id}/sections/{section['id']}",
        CMV_DG,
        json={"answers": {}},
    )
    assert frozen.status_code == 409
    assert "seuls les éléments que le Ministère" in frozen.json()["error"]["message"]
    items = f"{path}/items"
    assert api("PUT", f"{items}/{answer['id']}", LEVIS_DG, json={"answer": "x"}).status_code == 404
    early = api("POST", f"{path}/answer", CMV_DG, json={})
    assert early.status_code == 422 and "fournissez d'abord" in early.json()["error"]["message"]
    provided = api(
        "POST",
        f"{items}/{document['id']}/file",
        CMV_DG,
        files={"file": ("lettre-employeur.pdf", MINIMAL_PDF, "application/pdf")},
    )
    assert provided.status_code == 200 and provided.json()["provided"], provided.text
    text_answer = "Le service accompagne 180 personnes par année."
    written = api("PUT", f"{items}/{answer['id']}", CMV_DG, json={"answer": text_answer})
    assert written.status_code == 200, written.text
    sent = api("POST", f"{path}/answer", CMV_DG, json={"comment": "Voici nos compléments."})
    assert sent.status_code == 200, sent.text

    # The analysts are told; the analyst resumes and decides.
    wait_until(
        lambda: [
            m
            for m in platform.mails_to(ANALYST)
            if f"Compléments reçus : demande {reference}" in m["Subject"]
        ],
        timeout=60,
        message=f"answer e-mail\n{platform.tail_logs()}",
    )
    resumed = api(
        "POST",
        f"/api/applications/{application_id}/admissibility/resume",
        ANALYST,
        json={"note": "Compléments reçus."},
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "submitted"
    assert resumed.json()["submitted_at"] == deposited["submitted_at"]
    assert (
        scalar(
            platform,
            "SELECT value FROM answers WHERE application_id = :a AND question_id = :q",
            a=application_id,
            q=question["id"],
        )
        == text_answer
    )
    paper = api(
        "POST",
        f"/api/applications/{application_id}/paper-receipt",
        ANALYST,
        json={"received_on": today().isoformat()},
    )
    assert paper.status_code == 200, paper.text
    rules = api("GET", f"/api/applications/{application_id}", ANALYST).json()["rules"]
    for rule in rules:
        assert rule["passed"], rule
        api(
            "POST",
            f"/api/applications/{application_id}/admissibility/rules/{rule['rule']}",
            ANALYST,
            json={"passed": True},
        )
    decided = api(
        "POST",
        f"/api/applications/{application_id}/admissibility/decision",
        ANALYST,
        json={"decision": "recevable"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["submitted_at"] == deposited["submitted_at"]

    # Every exchange is in the application's history, and stays on its page.
    def history_actions():
        response = api("GET", f"/api/audit/history/application/{application_id}", ANALYST)
        actions = [e["action"] for e in response.json()["entries"]]
        return actions if "admissibility_decided" in actions else None

    actions = wait_until(history_actions, timeout=60, message="history of the exchanges")
    for action in ("complements_requested", "complements_answered", "admissibility_resumed"):
        assert action in actions
    exchange = api("GET", f"/api/applications/{application_id}", CMV_DG).json()["complements"]
    [request] = exchange["requests"]
    assert (request["status"], request["answer_comment"]) == ("resumed", "Voici nos compléments.")
    assert request["items"][0]["attachment"]["filename"] == "lettre-employeur.pdf"
