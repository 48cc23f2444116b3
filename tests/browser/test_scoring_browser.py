"""In Chromium against the whole platform: an evaluator scores the application assigned to
them (a score outside the scale is refused and the input kept, a draft is saved, then the
evaluation is submitted and locked); an admin designates three CERACs in an education
order and the fourth designation is refused with a clear message."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from rac_shared.clock import MONTREAL
from rac_shared.events import ApplicationAdmissibilityDecided
from rac_shared.french import plural
from services.applications.demo import CRITERIA_2012
from services.applications.testing import MINIMAL_PDF
from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
    pass_second_step,
)
from tests.support.platform import DEMO_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ADMIN = "admin@mes.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"
EVALUATOR = "evaluatrice@mes.demo.quebec"
GOOD = ["15", "11", "11", "8", "15", "15"]


class Api:
    def __init__(self, platform):
        self.platform = platform
        self.tokens: dict[str, str] = {}

    def __call__(self, method: str, path: str, who: str, **kwargs):
        if who not in self.tokens:
            self.tokens[who] = self.platform.token(who)
        response = self.platform.api(method, path, self.tokens[who], **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.text}"
        return response.json()


@pytest.fixture(scope="module")
def api(platform):
    return Api(platform)


def published_call(api, title: str) -> dict:
    today = datetime.now(MONTREAL).date()
    call = api(
        "POST",
        "/api/calls",
        ADMIN,
        json={
            "title": title,
            "education_orders": ["secondaire", "collégial"],
            "launch_date": today.isoformat(),
            "deadline_date": (today + timedelta(days=20)).isoformat(),
            "analysis_date": (today + timedelta(days=40)).isoformat(),
            "designation_date": (today + timedelta(days=60)).isoformat(),
            "experimentation_years": [f"{today.year + 1}-{today.year + 2}"],
        },
    )
    section = api("POST", f"/api/calls/{call['id']}/sections", ADMIN, json={"title": "Profil"})
    api(
        "POST",
        f"/api/calls/{call['id']}/sections/{section['id']}/questions",
        ADMIN,
        json={"label": "Décrivez votre service de RAC.", "kind": "text", "max_length": 300},
    )
    api(
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
    api(
        "POST",
        f"/api/calls/{call['id']}/guide",
        ADMIN,
        files={"file": ("guide.pdf", MINIMAL_PDF, "application/pdf")},
    )
    api("POST", f"/api/calls/{call['id']}/publish", ADMIN)
    return call


def admissible(platform, api, call: dict, organisations: list[dict], base: int) -> list[int]:
    """Admissibility decisions as the applications service publishes them; the evaluation
    ids the scoring service opened for them."""
    for offset, organisation in enumerate(organisations):
        platform.publish_event(
            ApplicationAdmissibilityDecided(
                application_id=base + offset,
                call_id=call["id"],
                organisation_id=organisation["id"],
                organisation_name=organisation["name"],
                reference=f"CERAC-NAV-{base + offset}",
                admissible=True,
                decision="recevable",
                rules=[],
                decided_by_user_id=1,
                decided_at=datetime.now(UTC),
            )
        )
    engine = platform.engine("scoring")
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                found = connection.execute(
                    text(
                        "SELECT application_id, id FROM evaluations WHERE call_id = :c "
                        "ORDER BY application_id"
                    ),
                    {"c": call["id"]},
                ).all()
            if len(found) == len(organisations):
                return [row.id for row in found]
            time.sleep(0.3)
    finally:
        engine.dispose()
    raise AssertionError(f"evaluations not opened\n{platform.tail_logs()}")


def form_committee(api, call_id: int) -> dict[str, int]:
    ids = {email: api("GET", "/api/me", email)["id"] for email in (EVALUATOR, ANALYST)}
    for user_id in ids.values():
        api("POST", f"/api/scoring/committees/{call_id}/members", ADMIN, json={"user_id": user_id})
    return ids


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    pass_second_step(page, email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")


def every_field_is_labelled(page: Page) -> None:
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.outerHTML)"""
    )
    assert unlabelled == []
    expect(page.locator("h1")).to_have_count(1)


def test_an_evaluator_scores_an_application(platform, api, page, artefacts):
    call = published_call(api, "Appel d'intérêt — notation dans le navigateur")
    levis = api("GET", "/api/me", "dg@cegeplevis.demo.quebec")["organisation"]
    [evaluation_id] = admissible(platform, api, call, [levis], 770000 + call["id"] * 10)
    members = form_committee(api, call["id"])
    api(
        "POST",
        f"/api/scoring/evaluations/{evaluation_id}/assignments",
        ADMIN,
        json={"user_id": members[EVALUATOR]},
    )

    log_in(page, EVALUATOR)
    expect(page.get_by_role("link", name=re.compile("Évaluer les demandes"))).to_be_visible()
    page.goto("/evaluations")
    every_field_is_labelled(page)
    row = page.get_by_role("row").filter(has_text="CERAC-NAV-")
    expect(row).to_contain_text("Cégep de Lévis")
    expect(row).to_contain_text("À faire")
    row.get_by_role("link", name=re.compile("^Noter")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Évaluation de la demande du Cégep de Lévis"
    )
    every_field_is_labelled(page)

    # Out of the scale: refused, every input kept, the field marked.
    notes = page.get_by_label(re.compile(r"^Note sur"))
    comments = page.get_by_label("Commentaire", exact=True)
    expect(notes).to_have_count(6)
    notes.nth(0).fill("25")
    comments.nth(0).fill("Offre de service bien documentée.")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("La note doit être comprise entre 0 et 20 points")
    expect(page.get_by_label(re.compile(r"^Note sur")).nth(0)).to_have_value("25")
    expect(page.get_by_label(re.compile(r"^Note sur")).nth(0)).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page.get_by_label("Commentaire", exact=True).nth(0)).to_have_value(
        "Offre de service bien documentée."
    )

    # A draft, then the submission.
    notes = page.get_by_label(re.compile(r"^Note sur"))
    notes.nth(0).fill("14,5")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("status")).to_contain_text("Votre brouillon est enregistré")
    expect(page.locator("#etat")).to_contain_text("Brouillon enregistré")
    notes = page.get_by_label(re.compile(r"^Note sur"))
    comments = page.get_by_label("Commentaire", exact=True)
    for index, value in enumerate(GOOD):
        if index:
            notes.nth(index).fill(value)
        comments.nth(index).fill(f"Justification du critère {index + 1}.")
    page.get_by_role("button", name="Soumettre l'évaluation").click()
    expect(page.get_by_role("status")).to_contain_text("Votre évaluation est soumise")
    expect(page.locator("#etat")).to_contain_text("Soumise")
    expect(page.get_by_label(re.compile(r"^Note sur")).nth(0)).to_have_value("14,5")
    expect(page.get_by_label(re.compile(r"^Note sur")).nth(0)).to_have_attribute("readonly", "")
    expect(page.get_by_role("button", name="Soumettre l'évaluation")).to_have_count(0)
    page.screenshot(path=artefacts / "scoring-evaluator-submitted.png", full_page=True)

    assignment = api("GET", f"/api/scoring/evaluations/{evaluation_id}", EVALUATOR)
    assert assignment["status"] == "submitted"
    assert [c["score"] for c in assignment["criteria"]] == [
        "14.50", "11.00", "11.00", "8.00", "15.00", "15.00"
    ]  # fmt: skip


def test_an_admin_designates_three_cerac_and_the_fourth_is_refused(platform, api, page, artefacts):
    call = published_call(api, "Appel d'intérêt — désignation dans le navigateur")
    levis = api("GET", "/api/me", "dg@cegeplevis.demo.quebec")["organisation"]
    cmv = api("GET", "/api/me", "dg@cmv.demo.quebec")["organisation"]
    ids = admissible(platform, api, call, [levis, cmv, levis, cmv], 780000 + call["id"] * 10)
    members = form_committee(api, call["id"])
    criteria = api("GET", f"/api/scoring/committees/{call['id']}", ADMIN)["criteria"]
    for rank, evaluation_id in enumerate(ids):
        values = [str(int(v) + (3 - rank if i == 0 else 0)) for i, v in enumerate(GOOD)]
        for email in (EVALUATOR, ANALYST):
            api(
                "POST",
                f"/api/scoring/evaluations/{evaluation_id}/assignments",
                ADMIN,
                json={"user_id": members[email]},
            )
            api(
                "PUT",
                f"/api/scoring/evaluations/{evaluation_id}/scores",
                email,
                json={
                    "scores": [
                        {"criterion_id": c["id"], "score": v, "comment": "Argumenté."}
                        for c, v in zip(criteria, values, strict=True)
                    ],
                    "submit": True,
                },
            )

    log_in(page, ADMIN)
    page.goto(f"/comites/{call['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Comité d'évaluation")
    expect(page.locator("#table-matrice")).to_contain_text("Geneviève Lévesque")
    every_field_is_labelled(page)
    page.get_by_role("link", name="Classement et désignation").click()
    every_field_is_labelled(page)
    college = page.locator("section.order").filter(has_text="Ordre collégial")
    expect(college.locator(".designated-count")).to_have_text("0 CERAC désigné sur 3")

    for number, evaluation_id in enumerate(ids[:3], start=1):
        form = page.locator(f"#decision-{evaluation_id}")
        form.get_by_label("Désigné CERAC").check()
        form.get_by_role("button", name=re.compile("^Consigner la décision")).click()
        expect(page.get_by_role("status")).to_contain_text(
            "La décision de la ou du ministre est consignée"
        )
        college = page.locator("section.order").filter(has_text="Ordre collégial")
        expect(college.locator(".designated-count")).to_have_text(
            f"{plural(number, 'CERAC désigné')} sur 3"
        )

    fourth = page.locator(f"#decision-{ids[3]}")
    fourth.get_by_label("Désigné CERAC").check()
    fourth.get_by_role("button", name=re.compile("^Consigner la décision")).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(
        "Un maximum de trois établissements par ordre d'enseignement peut être désigné"
    )
    expect(alert).to_contain_text("La désignation est refusée.")
    college = page.locator("section.order").filter(has_text="Ordre collégial")
    expect(college.locator(".designated-count")).to_have_text("3 CERAC désignés sur 3")
    # Nothing changed: the fourth still awaits a decision, its choice still selected.
    expect(page.locator(f"#decision-{ids[3]}").get_by_label("Désigné CERAC")).to_be_checked()
    page.screenshot(path=artefacts / "scoring-fourth-designation-refused.png", full_page=True)
    committee = api("GET", f"/api/scoring/committees/{call['id']}", ADMIN)
    decisions = {e["id"]: e["decision"] for e in committee["evaluations"]}
    assert [decisions[i] for i in ids] == ["designated"] * 3 + [None]


def test_an_admin_previews_then_saves_a_bulk_assignment_free_of_conflicts(
    platform, api, page, artefacts
):
    """The committee page shows the conflicts detected (the network evaluators' own
    institutions, the demo's declared link); the bulk assignment is previewed, then saved."""
    call = published_call(api, "Appel d'intérêt — affectation groupée dans le navigateur")
    applying = ("dg@cegeplevis.demo.quebec", "dg@cmv.demo.quebec", "dg@csnavigateurs.demo.quebec")
    applicants = [api("GET", "/api/me", email)["organisation"] for email in applying]
    ids = admissible(platform, api, call, applicants, 760000 + call["id"] * 10)
    members = form_committee(api, call["id"])
    for email in ("evaluateur@cegeplevis.demo.quebec", "evaluatrice@csnavigateurs.demo.quebec"):
        members[email] = api("GET", "/api/me", email)["id"]
        api("POST", f"/api/scoring/committees/{call['id']}/members", ADMIN,
            json={"user_id": members[email]})  # fmt: skip

    log_in(page, ADMIN)
    page.goto(f"/comites/{call['id']}")
    detected = page.locator("#table-conflits-detectes")
    expect(detected).to_contain_text("Membre du personnel du Cégep de Lévis")
    expect(detected).to_contain_text("Lien déclaré avec le Cégep Marie-Victorin : ancien employeur")
    expect(detected.locator("tbody tr")).to_have_count(3)
    page.get_by_role("link", name=re.compile("^Affectation groupée")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Affectation groupée")
    every_field_is_labelled(page)
    page.get_by_label("Évaluateurs par demande").fill("4")
    page.get_by_role("button", name="Actualiser l'aperçu").click()
    expect(page.locator("#affectation-impossible")).to_contain_text(
        "ne peut recevoir 4 évaluatrices ou évaluateurs"
    )
    save = page.get_by_role("button", name="Enregistrer les affectations proposées")
    expect(save).to_have_count(0)
    page.get_by_label("Évaluateurs par demande").fill("2")
    page.get_by_role("button", name="Actualiser l'aperçu").click()
    expect(page.locator("#table-affectations-proposees tbody tr")).to_have_count(6)
    page.screenshot(path=artefacts / "scoring-bulk-assignment-preview.png", full_page=True)
    before = api("GET", f"/api/scoring/committees/{call['id']}", ADMIN)["evaluations"]
    assert all(e["assignments"] == [] for e in before)  # the preview saved nothing
    save.click()
    expect(page.get_by_role("status")).to_contain_text("L'affectation groupée est enregistrée")

    view = api("GET", f"/api/scoring/committees/{call['id']}", ADMIN)
    conflicted = {(c["evaluator_user_id"], c["evaluation_id"]) for c in view["detected_conflicts"]}
    made = {(a["user_id"], e["id"]) for e in view["evaluations"] for a in e["assignments"]}
    assert len(made) == 6 and not made & conflicted
    assert {e["id"] for e in view["evaluations"]} == set(ids)
    assert all(e["assigned_count"] == 2 for e in view["evaluations"])
