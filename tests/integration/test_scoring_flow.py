"""Evaluation and designation of CERACs over the real platform (gateway, services, RabbitMQ,
PostgreSQL): an application declared admissible opens its evaluation once, even when the
event is delivered twice → two members score it → consolidation → ranking → the
minister's designation → ``cerac.designated`` published, the institution e-mailed with the
letter. Then the cap of three per order, the ministerial justification, conflicts of
interest and bad scores over the API, and who sees what."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import text

from rac_shared.clock import MONTREAL
from rac_shared.events import ApplicationAdmissibilityDecided, Envelope
from services.applications.demo import CRITERIA_2012
from services.applications.testing import MINIMAL_PDF
from tests.support.typography import ordinary_spaces

pytestmark = pytest.mark.integration

ADMIN = "admin@mes.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"
EVALUATOR = "evaluatrice@mes.demo.quebec"
LEVIS_RAC = "rac@cegeplevis.demo.quebec"
LEVIS_DG = "dg@cegeplevis.demo.quebec"
LEVIS_STUDIES = "etudes@cegeplevis.demo.quebec"
CMV_DG = "dg@cmv.demo.quebec"
CSN_DG = "dg@csnavigateurs.demo.quebec"
EMPLOYER = "rh@cisss.demo.quebec"
LEVIS_EVALUATOR = "evaluateur@cegeplevis.demo.quebec"  # evaluators of the network
CSN_EVALUATOR = "evaluatrice@csnavigateurs.demo.quebec"
PEOPLE = (ADMIN, ANALYST, EVALUATOR, LEVIS_RAC, LEVIS_DG, LEVIS_STUDIES, CMV_DG, CSN_DG, EMPLOYER,
          LEVIS_EVALUATOR, CSN_EVALUATOR)  # fmt: skip
GOOD = ["15", "11", "11", "8", "15", "15"]  # every threshold met, 75 points


def today() -> date:
    return datetime.now(MONTREAL).date()


@pytest.fixture(scope="module")
def tokens(platform):
    return {email: platform.token(email) for email in PEOPLE}


@pytest.fixture(scope="module")
def api(platform, tokens):
    def call(method: str, path: str, who: str, **kwargs):
        return platform.api(method, path, tokens[who], **kwargs)

    return call


@pytest.fixture(scope="module")
def me(api):
    return {email: api("GET", "/api/me", email).json() for email in PEOPLE}


def rows(platform, service: str, sql: str, **params) -> list:
    engine = platform.engine(service)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


def wait_for(predicate, message: str, platform, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{message}\n{platform.tail_logs()}")


def publish_call(api, title: str) -> dict:
    start = today()
    call = api(
        "POST",
        "/api/calls",
        ADMIN,
        json={
            "title": title,
            "education_orders": ["secondaire", "collégial"],
            "launch_date": start.isoformat(),
            "deadline_date": (start + timedelta(days=30)).isoformat(),
            "analysis_date": (start + timedelta(days=60)).isoformat(),
            "designation_date": (start + timedelta(days=90)).isoformat(),
            "experimentation_years": [f"{start.year + 1}-{start.year + 2}"],
        },
    ).json()
    section = api(
        "POST", f"/api/calls/{call['id']}/sections", ADMIN, json={"title": "Présentation"}
    ).json()
    api(
        "POST",
        f"/api/calls/{call['id']}/sections/{section['id']}/questions",
        ADMIN,
        json={"label": "Décrivez votre service de RAC.", "kind": "text", "max_length": 800},
    )
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
    assert grid.status_code == 200, grid.text
    api(
        "POST",
        f"/api/calls/{call['id']}/guide",
        ADMIN,
        files={"file": ("guide.pdf", MINIMAL_PDF, "application/pdf")},
    )
    published = api("POST", f"/api/calls/{call['id']}/publish", ADMIN)
    assert published.status_code == 200, published.text
    return api("GET", f"/api/calls/{call['id']}", ADMIN).json()


def admissible_application(api, call: dict) -> int:
    """The Cégep de Lévis applies, signs, submits; the analyst declares it « recevable »."""
    application_id = api("POST", f"/api/calls/{call['id']}/applications", LEVIS_RAC).json()["id"]
    for section in call["sections"]:
        answers = {}
        for question in section["questions"]:
            if question["kind"] == "yes_no":
                answers[str(question["id"])] = "oui"
            elif question["kind"] == "text":
                answers[str(question["id"])] = "Réponse complète du Cégep de Lévis."
        saved = api(
            "PUT",
            f"/api/applications/{application_id}/sections/{section['id']}",
            LEVIS_RAC,
            json={"answers": answers},
        )
        assert saved.status_code == 200, saved.text
    for kind in ("support_letter", "official_document"):
        uploaded = api(
            "POST",
            f"/api/applications/{application_id}/attachments",
            LEVIS_RAC,
            data={"kind": kind},
            files={"file": (f"{kind}.pdf", MINIMAL_PDF, "application/pdf")},
        )
        assert uploaded.status_code == 200, uploaded.text
    for signatory in (LEVIS_DG, LEVIS_STUDIES):
        assert api("POST", f"/api/applications/{application_id}/sign", signatory).ok
    submitted = api("POST", f"/api/applications/{application_id}/submit", LEVIS_RAC)
    assert submitted.status_code == 200, submitted.text
    api(
        "POST",
        f"/api/applications/{application_id}/paper-receipt",
        ANALYST,
        json={"received_on": today().isoformat()},
    )
    for rule in ("institution", "signatures", "completeness", "deposit"):
        reviewed = api(
            "POST",
            f"/api/applications/{application_id}/admissibility/rules/{rule}",
            ANALYST,
            json={"passed": True},
        )
        assert reviewed.status_code == 200, reviewed.text
    decided = api(
        "POST",
        f"/api/applications/{application_id}/admissibility/decision",
        ANALYST,
        json={"decision": "recevable"},
    )
    assert decided.status_code == 200, decided.text
    return application_id


def evaluation_of(platform, application_id: int):
    found = rows(
        platform,
        "scoring",
        "SELECT id FROM evaluations WHERE application_id = :a",
        a=application_id,
    )
    return found[0].id if found else None


def sheet(criteria, values, submit=True, comment="Appréciation argumentée."):
    return {
        "scores": [
            {"criterion_id": c["id"], "score": v, "comment": comment}
            for c, v in zip(criteria, values, strict=True)
        ],
        "submit": submit,
    }


def criteria_of(api, call_id: int) -> list[dict]:
    """The grid as the call's committee holds it."""
    return api("GET", f"/api/scoring/committees/{call_id}", ADMIN).json()["criteria"]


def form_committee(api, me, call_id: int) -> None:
    for email in (EVALUATOR, ANALYST):
        response = api(
            "POST",
            f"/api/scoring/committees/{call_id}/members",
            ADMIN,
            json={"user_id": me[email]["id"]},
        )
        assert response.status_code == 200, response.text


def evaluate(api, me, criteria, evaluation_id: int, first=GOOD, second=GOOD) -> None:
    for email, values in ((EVALUATOR, first), (ANALYST, second)):
        assigned = api(
            "POST",
            f"/api/scoring/evaluations/{evaluation_id}/assignments",
            ADMIN,
            json={"user_id": me[email]["id"]},
        )
        assert assigned.status_code == 200, assigned.text
        scored = api(
            "PUT",
            f"/api/scoring/evaluations/{evaluation_id}/scores",
            email,
            json=sheet(criteria, values),
        )
        assert scored.status_code == 200, scored.text


def test_from_admissibility_to_designation(platform, api, me):
    call = publish_call(api, "Appel d'intérêt — évaluation et désignation")
    application_id = admissible_application(api, call)
    evaluation_id = wait_for(
        lambda: evaluation_of(platform, application_id), "no evaluation opened", platform
    )

    # The same admissibility event delivered a second time: nothing more is opened.
    [event] = rows(
        platform,
        "applications",
        "SELECT body FROM outbox WHERE event_type = 'application.admissibility_decided' "
        "AND body->'payload'->>'application_id' = :a",
        a=str(application_id),
    )
    platform.publish_event(None, envelope=Envelope.model_validate(event.body))
    handled = (
        f"SELECT COUNT(*) AS n FROM processed_events WHERE event_id = '{event.body['event_id']}'"
    )
    time.sleep(1.5)
    assert rows(platform, "scoring", handled)[0].n == 1
    assert rows(
        platform, "scoring", "SELECT COUNT(*) AS n FROM evaluations WHERE call_id = :c",
        c=call["id"],
    )[0].n == 1  # fmt: skip

    committee = api("GET", f"/api/scoring/committees/{call['id']}", ADMIN).json()
    criteria = committee["criteria"]
    assert [(c["weight"], c["threshold"]) for c in criteria] == [
        (w, t) for _, _, w, t in CRITERIA_2012
    ]
    [row] = committee["evaluations"]
    assert (row["organisation_name"], row["education_order"]) == ("Cégep de Lévis", "collégial")

    form_committee(api, me, call["id"])
    for email in (EVALUATOR, ANALYST):
        api(
            "POST",
            f"/api/scoring/evaluations/{evaluation_id}/assignments",
            ADMIN,
            json={"user_id": me[email]["id"]},
        )
    assert api("GET", f"/api/scoring/evaluations/{evaluation_id}", EVALUATOR).status_code == 200

    # The evaluator reads the application's content on the scoring page (applications RPC).
    cookie = platform.session_cookie(EVALUATOR)
    page = requests.get(
        f"{platform.url}/evaluations/{evaluation_id}", cookies={"rac_session": cookie}, timeout=30
    )
    assert page.status_code == 200
    assert "Réponse complète du Cégep de Lévis." in page.text
    assert "Grille d'évaluation" in page.text

    # A score outside the scale: a clear error, nothing saved.
    outside = api(
        "PUT",
        f"/api/scoring/evaluations/{evaluation_id}/scores",
        EVALUATOR,
        json=sheet(criteria, ["25", "11", "11", "8", "15", "15"]),
    )
    assert outside.status_code == 422
    assert outside.json()["error"]["details"] == {  # the field of the list sent
        "scores.0.score": "La note doit être comprise entre 0 et 20 points "
        "(pondération du critère)."
    }
    assert rows(
        platform, "scoring", "SELECT COUNT(*) AS n FROM scores s JOIN assignments a "
        "ON a.id = s.assignment_id WHERE a.evaluation_id = :e", e=evaluation_id,
    )[0].n == 0  # fmt: skip

    first = api(
        "PUT",
        f"/api/scoring/evaluations/{evaluation_id}/scores",
        EVALUATOR,
        json=sheet(criteria, ["14,5", "11", "11", "8", "15", "15"]),
    )
    assert first.status_code == 200 and first.json()["status"] == "submitted", first.text
    # Before consolidation nobody sees the scores, not even the admin.
    hidden = api("GET", f"/api/scoring/committees/{call['id']}", ADMIN).json()["evaluations"][0]
    assert not hidden["scores_visible"] and hidden["cells"][0]["scores"] is None
    analyst_view = api("GET", f"/api/scoring/evaluations/{evaluation_id}", ANALYST).json()
    assert all(c["score"] is None for c in analyst_view["criteria"])

    second = api(
        "PUT",
        f"/api/scoring/evaluations/{evaluation_id}/scores",
        ANALYST,
        json=sheet(criteria, ["19", "11", "11", "8", "15", "15"]),
    )
    assert second.status_code == 200, second.text
    view = api("GET", f"/api/scoring/committees/{call['id']}", ADMIN).json()
    [row] = view["evaluations"]
    assert row["status"] == "consolidated" and row["total"] == "76.75"
    assert row["cells"][0]["flagged"] and row["cells"][0]["mean"] == "16.75"
    assert [s["evaluator_name"] for s in row["cells"][0]["scores"]] == [
        "Geneviève Lévesque",
        "François Côté",
    ]
    assert view["ranking"]["collégial"]["ranked"][0]["proposed"]
    exported = api("GET", f"/api/scoring/committees/{call['id']}/matrix.csv", ANALYST)
    assert exported.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[1][:3] == ["collégial", "Cégep de Lévis", row["reference"]]

    # The institution still sees « en évaluation ».
    mine = [r for r in api("GET", "/api/scoring/results", LEVIS_DG).json()["results"]
            if r["evaluation_id"] == evaluation_id]  # fmt: skip
    assert mine[0]["status_label"] == "En évaluation" and mine[0]["total"] is None

    decided = api(
        "POST",
        f"/api/scoring/evaluations/{evaluation_id}/decision",
        ADMIN,
        json={"designated": True, "decision_date": today().isoformat()},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"] == "designated"
    published = wait_for(
        lambda: rows(
            platform,
            "scoring",
            "SELECT body FROM outbox WHERE event_type = 'cerac.designated' "
            "AND published_at IS NOT NULL AND body->'payload'->>'evaluation_id' = :e",
            e=str(evaluation_id),
        ),
        "cerac.designated not published",
        platform,
    )
    payload = published[0].body["payload"]
    assert payload["organisation_name"] == "Cégep de Lévis"
    assert payload["mandate_parts"] == ["offer", "quality", "development"]
    assert rows(
        platform, "scoring", "SELECT organisation_id FROM ceracs WHERE evaluation_id = :e",
        e=evaluation_id,
    )[0].organisation_id == me[LEVIS_DG]["organisation"]["id"]  # fmt: skip

    # The institution's result (without evaluators) and its letter, by e-mail and download.
    [result] = [r for r in api("GET", "/api/scoring/results", LEVIS_DG).json()["results"]
                if r["evaluation_id"] == evaluation_id]  # fmt: skip
    assert result["decision_label"] == "Désigné CERAC" and result["total"] == "76.75"
    results_page = api("GET", "/api/scoring/results", LEVIS_DG).text
    assert "Lévesque" not in results_page and "Côté" not in results_page
    letter = api("GET", f"/api/scoring/evaluations/{evaluation_id}/letter", LEVIS_DG)
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
    assert api("GET", f"/api/scoring/evaluations/{evaluation_id}/letter", CMV_DG).status_code == 404

    def designation_mail():
        return [
            m for m in platform.mails_to(LEVIS_DG)
            if m["Subject"] == "Désignation du Cégep de Lévis à titre de CERAC"
        ]  # fmt: skip

    [mail] = wait_for(designation_mail, "no designation e-mail", platform, timeout=40)
    attachments = [part for part in mail.iter_attachments()]
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    assert attachments[0].get_filename() == f"lettre-designation-{row['reference']}.pdf"
    assigned_mails = wait_for(
        lambda: [m for m in platform.mails_to(EVALUATOR) if "à évaluer" in m["Subject"]],
        "no assignment e-mail",
        platform,
    )
    assert "Cégep de Lévis" in assigned_mails[0]["Subject"]


def injected(platform, call_id: int, application_id: int, organisation: dict) -> Envelope:
    """An admissibility decision as the applications service publishes it."""
    return platform.publish_event(
        ApplicationAdmissibilityDecided(
            application_id=application_id,
            call_id=call_id,
            organisation_id=organisation["id"],
            organisation_name=organisation["name"],
            reference=f"CERAC-T-{application_id}",
            admissible=True,
            decision="recevable",
            rules=[],
            decided_by_user_id=1,
            decided_at=datetime.now(UTC),
        )
    )


def test_the_cap_of_three_justifications_conflicts_and_access(platform, api, me):
    call = publish_call(api, "Appel d'intérêt — plafond de trois par ordre")
    levis, cmv = me[LEVIS_DG]["organisation"], me[CMV_DG]["organisation"]
    navigateurs = me[CSN_DG]["organisation"]
    base = 880000 + call["id"] * 10
    # Five admissible applications (applications the platform never saw: their content is
    # not available, which the pages say), four collégial and one secondaire.
    for offset, organisation in enumerate((levis, cmv, levis, cmv, navigateurs)):
        injected(platform, call["id"], base + offset, organisation)
    wait_for(
        lambda: all(evaluation_of(platform, base + i) for i in range(5)),
        "evaluations not opened",
        platform,
    )
    ids = [evaluation_of(platform, base + i) for i in range(5)]
    criteria = criteria_of(api, call["id"])
    form_committee(api, me, call["id"])

    # Unassigned: the evaluator can neither read nor score it.
    unassigned = api("PUT", f"/api/scoring/evaluations/{ids[0]}/scores", EVALUATOR,
                     json=sheet(criteria, GOOD))  # fmt: skip
    assert unassigned.status_code == 404
    assert "ne vous est pas confiée" in unassigned.json()["error"]["message"]

    evaluate(api, me, criteria, ids[0], ["18", "13", "13", "9", "18", "18"])
    evaluate(api, me, criteria, ids[1], ["17", "12", "12", "8", "16", "16"])
    evaluate(api, me, criteria, ids[2], ["16", "12", "12", "8", "15", "15"])
    evaluate(api, me, criteria, ids[3])
    failing = ["20", "15", "15", "5", "20", "20"]
    evaluate(api, me, criteria, ids[4], failing, failing)

    ranked = api("GET", f"/api/scoring/committees/{call['id']}", ANALYST).json()["ranking"]
    assert [r["evaluation_id"] for r in ranked["collégial"]["ranked"]] == ids[:4]
    assert [r["proposed"] for r in ranked["collégial"]["ranked"]] == [True, True, True, False]
    assert ranked["secondaire"]["ranked"] == []

    for evaluation_id in ids[:3]:
        ok = api("POST", f"/api/scoring/evaluations/{evaluation_id}/decision", ADMIN,
                 json={"designated": True})  # fmt: skip
        assert ok.status_code == 200, ok.text
    fourth = api("POST", f"/api/scoring/evaluations/{ids[3]}/decision", ADMIN,
                 json={"designated": True})  # fmt: skip
    assert fourth.status_code == 409
    assert fourth.json()["error"]["message"].startswith(
        "Un maximum de trois établissements par ordre d'enseignement peut être désigné"
    )
    assert rows(platform, "scoring", "SELECT COUNT(*) AS n FROM ceracs WHERE call_id = :c",
                c=call["id"])[0].n == 3  # fmt: skip
    assert rows(platform, "scoring", "SELECT decision FROM evaluations WHERE id = :e",
                e=ids[3])[0].decision is None  # fmt: skip

    bare = api("POST", f"/api/scoring/evaluations/{ids[4]}/decision", ADMIN,
               json={"designated": True})  # fmt: skip
    assert bare.status_code == 422
    assert "justification ministérielle" in bare.json()["error"]["message"]
    justification = "Seul centre de services scolaire de la région à offrir la RAC en FP."
    justified = api("POST", f"/api/scoring/evaluations/{ids[4]}/decision", ADMIN,
                    json={"designated": True, "justification": justification})  # fmt: skip
    assert justified.status_code == 200, justified.text
    log = api("GET", f"/api/scoring/committees/{call['id']}", ADMIN).json()["log"]
    assert any(f"justification ministérielle : {justification}" in e["text"] for e in log)

    # Who sees what.
    assert api("GET", f"/api/scoring/committees/{call['id']}", EVALUATOR).status_code == 403
    assert api("GET", "/api/scoring/evaluations", LEVIS_DG).status_code == 403
    assert api("GET", "/api/scoring/results", EVALUATOR).status_code == 403
    assert api("GET", "/api/scoring/results", EMPLOYER).status_code == 403
    results = api("GET", "/api/scoring/results", CMV_DG).json()["results"]
    assert {r["evaluation_id"] for r in results} >= {ids[1], ids[3]}
    assert ids[0] not in {r["evaluation_id"] for r in results}
    assert "Lévesque" not in str(results) and "Côté" not in str(results)
    # The application's content is not on the platform: the scoring page says so.
    cookie = platform.session_cookie(EVALUATOR)
    page = requests.get(f"{platform.url}/evaluations/{ids[1]}",
                        cookies={"rac_session": cookie}, timeout=30)  # fmt: skip
    assert page.status_code == 200 and "n'est pas disponible" in page.text


def test_a_conflict_of_interest_hides_the_application_from_the_evaluator(platform, api, me):
    call = publish_call(api, "Appel d'intérêt — conflits d'intérêts")
    base = 890000 + call["id"] * 10
    injected(platform, call["id"], base, me[CMV_DG]["organisation"])
    evaluation_id = wait_for(lambda: evaluation_of(platform, base), "not opened", platform)
    form_committee(api, me, call["id"])
    api("POST", f"/api/scoring/evaluations/{evaluation_id}/assignments", ADMIN,
        json={"user_id": me[EVALUATOR]["id"]})  # fmt: skip
    key = str(me[CMV_DG]["organisation"]["id"])
    declared = api(
        "POST",
        f"/api/scoring/committees/{call['id']}/my-conflicts",
        EVALUATOR,
        json={"organisation_key": key, "reason": "Ancienne enseignante du cégep."},
    )
    assert declared.status_code == 200 and declared.json()["withdrawn"] == 1, declared.text
    assert api("GET", f"/api/scoring/evaluations/{evaluation_id}", EVALUATOR).status_code == 404
    workspace = api("GET", "/api/scoring/evaluations", EVALUATOR).json()
    assert evaluation_id not in [a["evaluation_id"] for a in workspace["assignments"]]
    again = api("POST", f"/api/scoring/evaluations/{evaluation_id}/assignments", ADMIN,
                json={"user_id": me[EVALUATOR]["id"]})  # fmt: skip
    assert again.status_code == 409
    assert "conflit d'intérêts" in again.json()["error"]["message"]
    # Bad inputs over the API: a float-like body that is not a number, an unknown field.
    wrong = api("PUT", f"/api/scoring/committees/{call['id']}/parameters", ADMIN,
                json={"min_evaluators": 1, "spread_gap_percent": "20"})  # fmt: skip
    assert wrong.status_code == 422
    extra = api("POST", f"/api/scoring/evaluations/{evaluation_id}/decision", ADMIN,
                json={"designated": True, "cap": 4})  # fmt: skip
    assert extra.status_code == 422
    assert extra.json()["error"]["details"] == {"cap": "Ce champ n'est pas permis."}


def test_network_evaluators_conflicts_and_the_bulk_assignment(platform, api, me):
    """Evaluators of two institutions sit with the ministry's: their own institution and a
    declared link are conflicts, detected, shown and blocking; the bulk assignment is
    previewed, respects them, balances the load and is saved once."""
    call = publish_call(api, "Appel d'intérêt — évaluateurs du réseau")
    levis, cmv = me[LEVIS_DG]["organisation"], me[CMV_DG]["organisation"]
    navigateurs = me[CSN_DG]["organisation"]
    base = 870000 + call["id"] * 10
    for offset, organisation in enumerate((levis, cmv, navigateurs)):
        injected(platform, call["id"], base + offset, organisation)
    wait_for(lambda: all(evaluation_of(platform, base + i) for i in range(3)), "not opened",
             platform)  # fmt: skip
    ids = [evaluation_of(platform, base + i) for i in range(3)]
    committee = f"/api/scoring/committees/{call['id']}"
    for email in (EVALUATOR, ANALYST, LEVIS_EVALUATOR, CSN_EVALUATOR):
        added = api("POST", f"{committee}/members", ADMIN, json={"user_id": me[email]["id"]})
        assert added.status_code == 200, added.text
    # The demo's evaluator of the Cégep de Lévis declared the Cégep Marie-Victorin as a
    # former employer; the one of the Navigateurs declares a partnership with Lévis.
    twice = api("POST", "/api/scoring/links", LEVIS_EVALUATOR,
                json={"organisation_id": cmv["id"], "kind": "partner"})  # fmt: skip
    assert twice.status_code == 409
    assert twice.json()["error"]["message"] == (
        "Un lien avec le Cégep Marie-Victorin est déjà déclaré pour Martin Gravel."
    )
    link = api("POST", "/api/scoring/links", CSN_EVALUATOR,
               json={"organisation_id": levis["id"], "kind": "partner"})  # fmt: skip
    assert link.status_code == 201, link.text
    bad_kind = api("POST", "/api/scoring/links", CSN_EVALUATOR,
                   json={"organisation_id": cmv["id"], "kind": "cousin"})  # fmt: skip
    assert bad_kind.status_code == 422
    assert bad_kind.json()["error"]["details"] == {"kind": "Choisissez la nature du lien."}

    view = api("GET", committee, ADMIN).json()
    detected = {(c["evaluator_user_id"], c["evaluation_id"]): c["reason"]
                for c in view["detected_conflicts"]}  # fmt: skip
    levis_id, csn_id = me[LEVIS_EVALUATOR]["id"], me[CSN_EVALUATOR]["id"]
    assert detected == {
        (levis_id, ids[0]): "Membre du personnel du Cégep de Lévis, qui dépose la demande",
        (levis_id, ids[1]): "Lien déclaré avec le Cégep Marie-Victorin : ancien employeur",
        (csn_id, ids[0]): "Lien déclaré avec le Cégep de Lévis : partenaire",
        (csn_id, ids[2]): "Membre du personnel du Centre de services scolaire des Navigateurs, "
        "qui dépose la demande",
    }
    refused = api("POST", f"/api/scoring/evaluations/{ids[0]}/assignments", ADMIN,
                  json={"user_id": levis_id})  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["error"]["message"].startswith(
        "Martin Gravel est en conflit d'intérêts avec le Cégep de Lévis (Membre du personnel"
    )

    too_many = api("GET", f"{committee}/assignment-proposal?per_application=12", ADMIN)
    assert too_many.status_code == 422
    preview = api("GET", f"{committee}/assignment-proposal?per_application=2", ADMIN).json()
    assert preview["feasible"] and len(preview["assignments"]) == 6
    proposed = {(a["evaluator_user_id"], a["evaluation_id"]) for a in preview["assignments"]}
    assert not proposed & set(detected)
    loads = [load["after"] for load in preview["loads"]]
    assert max(loads) - min(loads) <= 1
    assigned_sql = (
        "SELECT a.evaluator_user_id AS u, a.evaluation_id AS e FROM assignments a "
        "JOIN evaluations e ON e.id = a.evaluation_id WHERE e.call_id = :c"
    )
    assert rows(platform, "scoring", assigned_sql, c=call["id"]) == []  # a preview saves nothing
    body = {"per_application": 2, "proposal": preview["fingerprint"]}
    assert api("POST", f"{committee}/bulk-assignments", ANALYST, json=body).status_code == 403
    saved = api("POST", f"{committee}/bulk-assignments", ADMIN, json=body)
    assert saved.status_code == 200 and saved.json()["assigned"] == 6, saved.text
    again = api("POST", f"{committee}/bulk-assignments", ADMIN, json=body)
    assert again.status_code == 200 and again.json()["assigned"] == 0
    made = rows(platform, "scoring", assigned_sql, c=call["id"])
    assert {(r.u, r.e) for r in made} == proposed
    # The evaluator of the Cégep de Lévis sees only what was confided to them.
    mine = api("GET", "/api/scoring/evaluations", LEVIS_EVALUATOR).json()["assignments"]
    assert {a["evaluation_id"] for a in mine if a["call_id"] == call["id"]} == {
        e for u, e in proposed if u == levis_id
    }
    assert api("GET", f"/api/scoring/evaluations/{ids[0]}", LEVIS_EVALUATOR).status_code == 404
    # Only its author (or the administration) withdraws a link.
    link_path = f"/api/scoring/links/{link.json()['id']}"
    assert api("DELETE", link_path, LEVIS_EVALUATOR).status_code == 404
    assert api("DELETE", link_path, CSN_EVALUATOR).status_code == 200


def score_form(criteria, values, comment: str) -> dict:
    """The scoring page's fields, named by their path in the contract's ``ScoresIn``."""
    form = {}
    for index, (criterion, value) in enumerate(zip(criteria, values, strict=True)):
        form[f"scores.{index}.criterion_id"] = str(criterion["id"])
        form[f"scores.{index}.score"] = value
        form[f"scores.{index}.comment"] = comment
    return form


class Browser:
    """Page forms as a browser posts them: session cookie, CSRF token, redirects."""

    def __init__(self, platform, email: str):
        self.platform = platform
        self.session = requests.Session()
        self.session.cookies.set("rac_session", platform.session_cookie(email))

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.platform.url}{path}", timeout=60)

    def post(self, path: str, form: dict, page: str) -> requests.Response:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', self.get(page).text).group(1)
        return self.session.post(
            f"{self.platform.url}{path}",
            data={"csrf_token": csrf, **form},
            allow_redirects=False,
            timeout=60,
        )


def test_the_committee_pages_run_the_whole_evaluation(platform, api, me):
    """Every committee form of the pages, in French, with the errors re-rendered."""
    call = publish_call(api, "Appel d'intérêt — pages du comité")
    base = 870000 + call["id"] * 10
    injected(platform, call["id"], base, me[LEVIS_DG]["organisation"])
    injected(platform, call["id"], base + 1, me[CSN_DG]["organisation"])
    wait_for(lambda: evaluation_of(platform, base + 1), "not opened", platform)
    levis, navigateurs = evaluation_of(platform, base), evaluation_of(platform, base + 1)
    admin = Browser(platform, ADMIN)
    page = f"/comites/{call['id']}"

    bad = admin.post(f"{page}/parametres", {"min_evaluators": "1", "spread_gap_percent": "20"},
                     page)  # fmt: skip
    assert bad.status_code == 422
    assert 'role="alert"' in bad.text and "Au moins deux évaluateurs" in bad.text
    done = admin.post(
        f"{page}/parametres",
        {"min_evaluators": "2", "spread_gap_percent": "25", "overall_threshold": "62,5"},
        page,
    )
    assert done.status_code == 303 and done.headers["Location"] == f"{page}?fait=parametres"
    for email in (EVALUATOR, ANALYST):
        added = admin.post(f"{page}/membres", {"user_id": str(me[email]["id"])}, page)
        assert added.status_code == 303, added.text
    again = admin.post(f"{page}/membres", {"user_id": str(me[EVALUATOR]["id"])}, page)
    assert again.status_code == 409 and "fait déjà partie du comité" in again.text
    conflict = admin.post(
        f"{page}/conflits",
        {"user_id": str(me[ANALYST]["id"]), "organisation_key": str(
            me[CSN_DG]["organisation"]["id"]), "reason": "Conjoint à l'emploi du centre."},
        page,
    )  # fmt: skip
    assert conflict.status_code == 303, conflict.text
    for evaluation_id in (levis, navigateurs):
        for email in (EVALUATOR, ANALYST):
            assigned = admin.post(
                f"{page}/evaluations/{evaluation_id}/affectations",
                {"user_id": str(me[email]["id"])},
                page,
            )
            expected = 409 if (evaluation_id, email) == (navigateurs, ANALYST) else 303
            assert assigned.status_code == expected, assigned.text
    removed = admin.post(
        f"{page}/evaluations/{navigateurs}/affectations/{me[EVALUATOR]['id']}/retirer", {}, page
    )
    assert removed.status_code == 303

    # The evaluator's page form: a draft, then the submission; the analyst's too.
    criteria = criteria_of(api, call["id"])
    for email, values in ((EVALUATOR, ["14", "11", "11", "8", "15", "15"]),
                          (ANALYST, ["19,5", "11", "11", "8", "15", "15"])):  # fmt: skip
        evaluator = Browser(platform, email)
        form = score_form(criteria, values, "Argumenté.")
        own = f"/evaluations/{levis}"
        draft = evaluator.post(own, {**form, "action": "brouillon"}, own)
        assert draft.headers["Location"] == f"{own}?fait=brouillon"
        submitted = evaluator.post(own, {**form, "submit": "on"}, own)
        assert submitted.headers["Location"] == f"{own}?fait=soumise"
        locked = evaluator.post(own, {**form, "submit": "on"}, own)
        assert locked.status_code == 409 and "verrouillée" in locked.text
    view = api("GET", page.replace("/comites", "/api/scoring/committees"), ADMIN).json()
    row = next(e for e in view["evaluations"] if e["id"] == levis)
    assert row["status"] == "consolidated" and row["cells"][0]["flagged"]  # 5.5 > 25 % of 20

    reopened = admin.post(
        f"{page}/evaluations/{levis}/rouvrir",
        {"user_id": str(me[EVALUATOR]["id"]), "reason": "Relecture."},
        page,
    )
    assert reopened.status_code == 303  # fmt: skip
    evaluator = Browser(platform, EVALUATOR)
    own = f"/evaluations/{levis}"
    form = score_form(criteria, ["16", *GOOD[1:]], "Revu.")
    assert evaluator.post(own, {**form, "submit": "on"}, own).status_code == 303
    consensus = admin.post(
        f"{page}/evaluations/{levis}/consensus",
        {"criterion_id": str(criteria[0]["id"]), "score": "17",
         "justification": "Accord du comité après discussion."},
        page,
    )  # fmt: skip
    assert consensus.status_code == 303
    committee_page = ordinary_spaces(admin.get(page).text)
    assert "(consensus ; moyenne 17,75)" in committee_page
    assert "Geneviève Lévesque : 16" in committee_page
    designation = f"{page}/designation"
    recommended = admin.post(f"{page}/recommandation", {
        "education_order": "collégial", "evaluation_ids": [str(levis)], "comment": "Solide."},
        designation)  # fmt: skip
    assert recommended.headers["Location"] == f"{designation}?fait=recommandation"
    undecided = admin.post(designation, {"evaluation_id": str(levis)}, designation)
    assert undecided.status_code == 422 and "Choisissez la décision" in undecided.text
    decided = admin.post(
        designation,
        {"evaluation_id": str(levis), "designated": "true", "decision_date": today().isoformat()},
        designation,
    )
    assert decided.status_code == 303  # fmt: skip
    assert "Recommandée" in admin.get(designation).text
    letter = admin.get(f"/lettres/{levis}.pdf")
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
    report = admin.get(f"{page}/rapport.pdf")
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    results = Browser(platform, LEVIS_DG).get("/resultats").text
    assert "Désigné CERAC" in results and "Lévesque" not in results
    assert "En évaluation" in Browser(platform, CSN_DG).get("/resultats").text
