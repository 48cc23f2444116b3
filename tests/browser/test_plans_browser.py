"""Implementation plans in a real Chromium against the whole platform: a RAC coordinator
builds a plan and issues it (in the background: the page shows the progress, then the
issued plan, with no reload by hand); the employer's representative logs in, downloads the
PDF and accepts it online. The pages work without JavaScript too (the status region's page
refreshes itself)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
)
from tests.browser.test_login_pages import assert_accessible_basics, log_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]

COORDINATOR = "rac@cegeplevis.demo.quebec"
EMPLOYER = "rh@cisss.demo.quebec"


def add_competency(page: Page, code: str, statement: str, group: str, w3: str, w6: str):
    form = page.locator("form[action$='/competences']")
    form.get_by_label("Code de la compétence").fill(code)
    form.get_by_label("Énoncé").fill(statement)
    form.get_by_label("Regroupement").fill(group)
    form.get_by_label("Nombre de semaines à 3 h / semaine").fill(w3)
    form.get_by_label("Nombre de semaines à 6 h / semaine").fill(w6)
    form.get_by_role("button", name="Ajouter la compétence").click()


def add_candidate(page: Page, name: str, title: str, email: str, rhythm: str, start: str):
    form = page.locator("form[action$='/candidats']")
    form.get_by_label("Nom complet").fill(name)
    form.get_by_label("Fonction").fill(title)
    form.get_by_label("Courriel").fill(email)
    form.get_by_label(f"{rhythm} h par semaine").check()
    form.get_by_label("Date de début").fill(start)
    form.get_by_role("button", name="Ajouter le candidat-travailleur").click()


def test_coordinator_builds_and_issues_then_employer_downloads_and_accepts(
    platform, context, artefacts, browser
):
    page = context.new_page()
    log_in(page, COORDINATOR)
    page.get_by_role("link", name="Plans de mise en œuvre", exact=False).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plans de mise en œuvre")
    page.get_by_role("link", name="Préparer un nouveau plan").click()

    # A wrong program code: a French error, the input kept.
    page.get_by_label("Organisation inscrite à la plateforme").select_option(
        label="CISSS de Chaudière-Appalaches"
    )
    page.get_by_label("Code du programme").fill("JEE0K")
    page.get_by_label("Titre du programme").fill("Techniques d'éducation à l'enfance")
    page.get_by_role("button", name="Créer le plan").click()
    expect(page.get_by_role("alert")).to_contain_text("XXX.XX")
    expect(page.get_by_label("Titre du programme")).to_have_value(
        "Techniques d'éducation à l'enfance"
    )
    page.get_by_label("Code du programme").fill("JEE.0K")
    page.get_by_label("Personnes en emploi visées").fill("le personnel éducateur")
    page.get_by_role("button", name="Créer le plan").click()
    expect(page.get_by_role("status")).to_contain_text("Le plan est créé")
    reference = re.search(r"PMO-CLV-\d{4}-\d{3}", page.locator("h1").inner_text()).group(0)
    plan_url = page.url.split("/modifier")[0]

    add_competency(page, "018N", "Analyser la fonction de travail", "REG A", "4", "2")
    add_competency(page, "018P", "Observer le comportement de l'enfant", "REG A", "4", "2")
    add_competency(page, "018S", "Concevoir des activités de développement global", "", "6", "3")
    add_competency(page, "018T", "Durée impossible", "", "2", "5")  # 6 h slower than 3 h
    expect(page.get_by_role("alert")).to_contain_text("6 h par semaine")
    add_candidate(page, "Audrey Cloutier", "Éducatrice", "audrey@exemple.quebec", "3", "2027-01-11")
    add_candidate(page, "Simon Gosselin", "Éducateur", "simon@exemple.quebec", "6", "2027-01-18")
    expect(page.get_by_role("table", name=re.compile("Candidats-travailleurs"))).to_contain_text(
        "Simon Gosselin"
    )
    page.goto(f"{plan_url}/modifier")  # freshly loaded, no #fragment, for the keyboard check
    assert_accessible_basics(page)
    page.screenshot(path=artefacts / "plan-editor.png", full_page=True)

    page.get_by_role("link", name="Estimation des coûts").first.click()
    page.get_by_label("Ligne 1 : poste").select_option("advisory")
    page.get_by_label("Ligne 1 : description").fill("Services-conseils auprès de l'organisation")
    page.get_by_label("Ligne 1 : quantité").fill("10")
    page.get_by_label("Ligne 1 : unité").fill("heure")
    page.get_by_label("Ligne 1 : prix unitaire").fill("95.00")
    page.get_by_label("Ligne 2 : poste").select_option("evaluation")
    page.get_by_label("Ligne 2 : description").fill("Frais d'évaluation par candidat-travailleur")
    page.get_by_label("Ligne 2 : quantité").fill("2")
    page.get_by_label("Ligne 2 : unité").fill("candidat")
    page.get_by_label("Ligne 2 : prix unitaire").fill("1450.00")
    page.get_by_label("Ligne 2 : taxes").select_option("exempt")
    page.get_by_label("Versement 1 : libellé").fill("À l'acceptation du plan")
    page.get_by_label("Versement 1 : pourcentage").fill("100")
    page.get_by_role("button", name="Enregistrer l'estimation").click()
    expect(page.get_by_role("status")).to_contain_text("L'estimation des coûts est enregistrée")
    expect(page.get_by_role("table", name=re.compile("Estimation des coûts"))).to_contain_text(
        "2\xa0900,00"
    )
    page.goto(f"{plan_url}/estimation")
    assert_accessible_basics(page)

    # Issuing runs in the background: the page shows its progress, then goes on to the issued
    # plan by itself. The test holds the plan's row (FOR NO KEY UPDATE: the task's foreign key
    # still inserts), so the worker, which locks it FOR UPDATE to commit the issue, stays at
    # « en cours » until the progress has been seen.
    page.goto(plan_url)
    plan_id = int(plan_url.rstrip("/").rsplit("/", 1)[1])
    engine = platform.engine("plans")
    try:
        with engine.connect() as held:
            lock = text("SELECT id FROM plans WHERE id = :id FOR NO KEY UPDATE")
            held.execute(lock, {"id": plan_id})
            page.get_by_role("button", name="Émettre le plan").click()
            progress = page.locator("#emission[role=status]")
            expect(progress).to_contain_text("en cours", timeout=60_000)
            expect(progress).to_contain_text("Émission de la version 1 en cours")
            expect(page.get_by_role("button", name="Émettre le plan")).to_have_count(0)
            page.screenshot(path=artefacts / "plan-issuing-progress.png", full_page=True)
            held.rollback()
    finally:
        engine.dispose()
    page.wait_for_url(re.compile(r"\?fait=plan-emis$"), timeout=120_000)  # no reload by hand
    expect(page.get_by_role("status").first).to_contain_text("Le plan est émis")
    expect(page.locator("main")).to_contain_text("Version 1 — Émise, en attente d'acceptation")
    page.screenshot(path=artefacts / "plan-issued-institution.png", full_page=True)

    # Cancelling is a destructive step of its own, which says what will happen; going back
    # changes nothing.
    page.get_by_role("link", name="Annuler le plan…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Annuler le plan {reference} ?")
    expect(page.get_by_role("note")).to_contain_text("L'annulation est définitive")
    expect(page.get_by_role("button", name="Annuler le plan")).to_have_class("danger")
    page.screenshot(path=artefacts / "plan-cancel-confirmation.png", full_page=True)
    page.get_by_role("link", name="Revenir sans rien changer").click()
    expect(page.locator("main")).to_contain_text("Version 1 — Émise, en attente d'acceptation")

    # The employer: home page action, plan page, PDF download, online acceptance.
    employer_context = browser.new_context(
        base_url=platform.url, locale="fr-CA", viewport={"width": 1280, "height": 800}
    )
    try:
        employer = employer_context.new_page()
        log_in(employer, EMPLOYER)
        employer.get_by_role("link", name=re.compile(f"Plan {reference} .* à accepter")).click()
        expect(employer.get_by_role("heading", level=1)).to_contain_text(reference)
        expect(employer.locator("main")).to_contain_text("Il ne peut, en aucun cas, utiliser")
        with employer.expect_download() as download_info:
            employer.get_by_role("link", name="Télécharger le PDF de la version 1").click()
        download = download_info.value
        assert download.suggested_filename == f"{reference}-v1.pdf"
        path = download.path()
        with open(path, "rb") as handle:
            assert handle.read(5) == b"%PDF-"
        employer.get_by_role("link", name="Lire et accepter le plan en ligne").click()
        assert_accessible_basics(employer)
        employer.get_by_label("Votre titre").fill("Directrice des ressources humaines")
        employer.get_by_label(re.compile(r"Écrivez «\s*J’accepte\s*»")).fill("J’accepte")
        employer.get_by_role("button", name="Accepter le plan").click()
        expect(employer.get_by_role("alert")).to_contain_text("Confirmez avoir lu le plan")
        expect(employer.get_by_label("Votre titre")).to_have_value(
            "Directrice des ressources humaines"
        )
        employer.get_by_label(re.compile("J'ai lu le plan")).check()
        employer.get_by_role("button", name="Accepter le plan").click()
        expect(employer.get_by_role("status")).to_contain_text("Le plan est accepté")
        expect(employer.locator("main")).to_contain_text("Acceptée en ligne par Julie Morin")
        employer.screenshot(path=artefacts / "plan-accepted-employer.png", full_page=True)
    finally:
        employer_context.close()

    page.goto("/plans")
    row = page.get_by_role("row", name=re.compile(reference))
    expect(row).to_contain_text("Accepté")


def test_employer_sees_the_amendment_in_force_and_declines_the_pending_one(
    platform, context, artefacts
):
    """The demo's plan for the CISSS: version 2 (an amendment) in force, version 3 awaiting
    acceptance. The representative declines version 3, with a reason, after confirming."""
    page = context.new_page()
    log_in(page, EMPLOYER)
    page.goto("/plans")
    page.get_by_role(
        "row", name=re.compile("Soutien administratif en milieu de santé")
    ).get_by_role("link").first.click()
    main = page.locator("main")
    expect(main).to_contain_text("Version en vigueur")
    expect(main).to_contain_text(
        "la modification (version 3) attend l'acceptation de l'organisation ; la version 2 "
        "demeure en vigueur d'ici là"
    )
    expect(main).to_contain_text("Version 3 — Émise, en attente d'acceptation (modification de la")
    page.screenshot(path=artefacts / "plan-amendment-pending-employer.png", full_page=True)

    page.get_by_role("link", name="Refuser la modification").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Refuser la modification du plan")
    expect(page.locator("main")).to_contain_text("La version 2 du plan demeure en vigueur")
    assert_accessible_basics(page)
    page.get_by_label(re.compile("Motif du refus")).fill(
        "Le déplacement des évaluations tombe pendant notre période d'agrément."
    )
    page.get_by_role("button", name="Refuser la modification").click()
    expect(page.get_by_role("alert")).to_contain_text("Confirmez que vous refusez")
    expect(page.get_by_label(re.compile("Motif du refus"))).to_have_value(
        "Le déplacement des évaluations tombe pendant notre période d'agrément."
    )
    page.get_by_label(re.compile("Je confirme refuser cette modification")).check()
    page.get_by_role("button", name="Refuser la modification").click()
    expect(page.get_by_role("status")).to_contain_text("L'offre est refusée")
    expect(main).to_contain_text("Version 2 — Acceptée")  # the employer reads the one in force
    page.get_by_role("link", name="Version 3").click()
    expect(main).to_contain_text("Refusée par l'organisation")
    expect(main).to_contain_text(
        "Motif : Le déplacement des évaluations tombe pendant notre période d'agrément. La "
        "version 2 demeure en vigueur."
    )
    expect(page.get_by_role("link", name="Refuser la modification")).to_have_count(0)
    page.screenshot(path=artefacts / "plan-amendment-declined-employer.png", full_page=True)
