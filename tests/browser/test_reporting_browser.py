"""In Chromium against the whole platform: the Cégep Marie-Victorin is designated CERAC
(``cerac.designated`` over RabbitMQ); it appears in the network, searchable by competence
area; its RAC coordinator fills the 2013-2014 yearly report, part by part, sees a bad number
refused with what was typed kept, then saves and submits it; the analyst finds it to review.
Another CERAC's coordinator cannot open it."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from rac_shared.events import CeracDesignated
from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
    pass_second_step,
)
from tests.support.platform import DEMO_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.browser]

COORDINATOR = "rac@cmv.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"
CERAC_ID = 901  # the scoring demo's CERACs are 1 to 5


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    pass_second_step(page, email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")


def designate_marie_victorin(platform) -> None:
    with platform.engine("gateway").connect() as connection:
        organisation_id = connection.execute(
            text("SELECT id FROM organisations WHERE code = 'CMV'")
        ).scalar_one()
    platform.publish_event(
        CeracDesignated(
            cerac_id=CERAC_ID,
            evaluation_id=901,
            application_id=2,  # the demo's submitted application of the CMV
            call_id=1,
            call_title="Appel d'intérêt 2012-2013",
            organisation_id=organisation_id,
            organisation_name="Cégep Marie-Victorin",
            reference="CERAC-2012-901",
            education_order="collégial",
            mandate_parts=["offer", "quality", "development"],
            experimentation_years=["2013-2014", "2014-2015"],
            decision_date=date(2013, 5, 31),
            total="80",
            below_threshold=False,
            decided_by_user_id=1,
        )
    )
    token = platform.token(COORDINATOR)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reports = platform.api("GET", "/api/reporting/reports", token).json()["items"]
        if len(reports) == 2:
            return
        time.sleep(0.2)
    raise AssertionError("the designation did not reach the applications service")


def fill_part(page: Page, key: str, objectives: str, narrative: str, target: str, achieved: str):
    part = page.locator(f"fieldset#section-{key}")
    part.get_by_label("Objectifs").fill(objectives)
    part.get_by_label("Indicateur 1", exact=True).fill("Établissements accompagnés")
    part.get_by_label("Unité de l'indicateur 1").fill("établissements")
    part.get_by_label("Valeur cible de l'indicateur 1").fill(target)
    part.get_by_label("Valeur atteinte de l'indicateur 1").fill(achieved)
    part.get_by_label("Bilan des réalisations").fill(narrative)


def test_a_cerac_coordinator_fills_and_submits_the_yearly_report(platform, page, artefacts):
    designate_marie_victorin(platform)
    log_in(page, COORDINATOR)

    # The network lists the new CERAC; it is found by its competence area, not a region.
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Réseau des CERAC"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Réseau des CERAC")
    expect(page.get_by_role("link", name="Cégep Marie-Victorin")).to_be_visible()
    page.get_by_label("Mot-clé (établissement, domaine, programme)").fill("Sherbrooke")
    page.get_by_role("button", name="Chercher").click()
    expect(page.get_by_role("link", name="Cégep de Sherbrooke")).to_be_visible()
    expect(page.get_by_role("link", name="Cégep Marie-Victorin")).to_have_count(0)

    page.goto("/redditions")
    page.get_by_role("link", name="Reddition annuelle — 2013-2014").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reddition annuelle — 2013-2014")
    expect(page.get_by_text("Les objectifs sont à rédiger.").first).to_be_visible()
    page.get_by_role("link", name="Rédiger le rapport").click()

    offer = page.locator("fieldset#section-offer")
    offer.get_by_label("Objectifs").fill("Soutenir cinq établissements dans leur démarche.")
    offer.get_by_label("Valeur cible : Demandes d'appui reçues d'autres établissements").fill("5")
    offer.get_by_label("Valeur cible : Demandes d'appui auxquelles le CERAC a répondu").fill("5")
    offer.get_by_label("Bilan des réalisations").fill("Trois établissements accompagnés.")
    fill_part(page, "quality", "Harmoniser la grille d'entrevue.", "Grille adoptée.", "4", "5")
    fill_part(page, "development", "Outils à distance.", "Deux outils livrés.", "2", "douze")
    page.get_by_role("button", name="Enregistrer le brouillon").click()

    # A bad number: refused, nothing saved, what was typed is still there.
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été modifié")
    expect(page.get_by_role("alert")).to_contain_text("Un nombre est attendu")
    development = page.locator("fieldset#section-development")
    expect(development.get_by_label("Valeur atteinte de l'indicateur 1")).to_have_value("douze")
    expect(page.locator("fieldset#section-quality").get_by_label("Objectifs")).to_have_value(
        "Harmoniser la grille d'entrevue."
    )
    development.get_by_label("Valeur atteinte de l'indicateur 1").fill("2,5")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("status")).to_have_text("Le brouillon est enregistré.")
    expect(development.get_by_label("Valeur atteinte de l'indicateur 1")).to_have_value("2,5")

    page.get_by_role("button", name="Enregistrer et déposer le rapport").click()
    expect(page).to_have_url(re.compile(r"/redditions/\d+\?fait=depose$"))
    expect(page.get_by_role("status")).to_contain_text("Le rapport est déposé.")
    expect(page.get_by_text("Déposé, en analyse").first).to_be_visible()
    expect(page.get_by_role("link", name="Version 1")).to_be_visible()
    expect(page.get_by_role("link", name="Rédiger le rapport")).to_have_count(0)
    page.screenshot(path=artefacts / "reporting-submitted.png", full_page=True)
    report_url = page.url.split("?")[0]

    # Another institution's coordinator: "not found", nothing shown.
    other = page.context.browser.new_context(base_url=platform.url, locale="fr-CA")
    try:
        intruder = other.new_page()
        log_in(intruder, "rac@csnavigateurs.demo.quebec")
        response = intruder.goto(report_url)
        assert response is not None and response.status == 404
    finally:
        other.close()

    # The analyst finds it among the reports to review.
    page.get_by_role("button", name="Se déconnecter").click()
    log_in(page, ANALYST)
    page.goto("/redditions?statut=submitted")
    page.get_by_role("link", name="Reddition annuelle — 2013-2014").first.click()
    expect(
        page.get_by_role("heading", name=re.compile("Analyse du rapport déposé"))
    ).to_be_visible()


def test_review_versions_support_request_and_special_mandate(platform, page, artefacts):
    """Runs after the test above (same platform): the analyst sends the report back with a
    comment on one part; the version stays readable; an institution asks the CERAC for
    support and the CERAC answers; the admin entrusts a special mandate."""
    log_in(page, ANALYST)
    page.goto("/redditions?statut=submitted")
    page.get_by_role("link", name="Reddition annuelle — 2013-2014").first.click()
    page.get_by_role("radio", name="Demander des modifications").check()
    page.get_by_role("button", name="Consigner l'analyse").click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez, section par section")
    page.get_by_label("Commentaire sur « Améliorer la qualité des services offerts »").fill(
        "Nommez les établissements qui ont adopté la grille."
    )
    page.get_by_role("radio", name="Demander des modifications").check()
    page.get_by_role("button", name="Consigner l'analyse").click()
    expect(page.get_by_role("status")).to_have_text(
        "Les modifications demandées sont transmises au CERAC."
    )
    page.get_by_role("link", name="Version 1").click()
    expect(page.get_by_text("Nommez les établissements qui ont adopté la grille.")).to_be_visible()

    page.get_by_role("button", name="Se déconnecter").click()

    log_in(page, "admin@mes.demo.quebec")
    page.goto("/redditions/mandats/nouveau")
    page.get_by_label("CERAC").select_option(label="Cégep Marie-Victorin (Ordre collégial)")
    page.get_by_label("Objet du mandat").fill("Formation des spécialistes de contenu")
    page.get_by_label("Livrables (un par ligne, 10 au plus)").fill("Programme\nDeux ateliers")
    page.get_by_label("Échéance").fill(f"{date.today().year + 1}-03-31")
    page.get_by_label("Montant accordé ($, p. ex. 25 000,00)").fill("-5")
    page.get_by_role("button", name="Confier le mandat").click()
    expect(page.get_by_role("alert")).to_contain_text("La valeur ne peut pas être négative.")
    page.get_by_label("Montant accordé ($, p. ex. 25 000,00)").fill("25 000,00")
    page.get_by_role("button", name="Confier le mandat").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Mandat particulier — Formation des spécialistes de contenu"
    )
    expect(page.get_by_text("25 000,00 $", exact=False)).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()

    log_in(page, "rac@csnavigateurs.demo.quebec")
    page.goto(f"/reseau/{CERAC_ID}")
    page.get_by_label("Objet (obligatoire)").fill("Entrevue de validation")
    page.get_by_label("Message (obligatoire, 10 caractères au moins)").fill("Bref")
    page.get_by_role("button", name="Envoyer la demande d'appui").click()
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été modifié")
    page.get_by_label("Message (obligatoire, 10 caractères au moins)").fill(
        "Pouvez-vous nous présenter votre guide d'entrevue?"
    )
    page.get_by_role("button", name="Envoyer la demande d'appui").click()
    expect(page.get_by_role("status")).to_contain_text("Votre demande d'appui est envoyée")
    page.get_by_role("button", name="Se déconnecter").click()

    log_in(page, COORDINATOR)
    page.goto("/reseau/demandes")
    page.get_by_label("Votre réponse à « Entrevue de validation »").fill("Avec plaisir.")
    page.get_by_role("button", name="Répondre à « Entrevue de validation »").click()
    expect(page.get_by_role("status")).to_have_text("Votre réponse est envoyée à l'établissement.")
    page.goto("/redditions")
    expect(page.get_by_text("Modifications demandées").first).to_be_visible()
    expect(
        page.get_by_role("rowheader", name="Formation des spécialistes de contenu", exact=True)
    ).to_be_visible()
    page.screenshot(path=artefacts / "reporting-cerac-overview.png", full_page=True)
