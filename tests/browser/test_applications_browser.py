"""In Chromium against the whole platform: a cégep fills its application section by
section, attaches documents, two signatories sign with their own accounts, the application
is submitted and its receipt downloaded; then an analyst records the paper copy, reviews
the four admissibility rules and declares the application « recevable »."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from rac_shared.clock import MONTREAL
from services.applications.demo import CRITERIA_2012
from services.applications.testing import EXE, MINIMAL_PDF
from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
    pass_second_step,
)
from tests.support.platform import DEMO_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TITLE = "Appel d'intérêt CERAC — essai dans le navigateur"
RAC = "rac@cegeplevis.demo.quebec"
DG = "dg@cegeplevis.demo.quebec"
STUDIES = "etudes@cegeplevis.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"


def published_call(platform) -> dict:
    """The ministry's call, created and published through the API."""
    token = platform.token("admin@mes.demo.quebec")
    today = datetime.now(MONTREAL).date()
    body = {
        "title": TITLE,
        "education_orders": ["collégial"],
        "launch_date": today.isoformat(),
        "deadline_date": (today + timedelta(days=20)).isoformat(),
        "analysis_date": (today + timedelta(days=40)).isoformat(),
        "designation_date": (today + timedelta(days=60)).isoformat(),
        "experimentation_years": [f"{today.year + 1}-{today.year + 2}"],
    }
    call = platform.api("POST", "/api/calls", token, json=body).json()
    section = platform.api(
        "POST",
        f"/api/calls/{call['id']}/sections",
        token,
        json={"title": "Présentation de l'établissement"},
    ).json()
    for question in (
        {
            "label": "Décrivez le service de RAC de l'établissement.",
            "kind": "text",
            "max_length": 300,
        },
        {
            "label": "Depuis combien d'années offrez-vous la RAC?",
            "kind": "choice",
            "options": ["Moins de 5 ans", "5 ans ou plus"],
        },
    ):
        response = platform.api(
            "POST",
            f"/api/calls/{call['id']}/sections/{section['id']}/questions",
            token,
            json=question,
        )
        assert response.status_code == 200, response.text
    platform.api(
        "PUT",
        f"/api/calls/{call['id']}/criteria",
        token,
        json={
            "criteria": [
                {"group": g, "label": label, "weight": w, "threshold": t}
                for g, label, w, t in CRITERIA_2012
            ]
        },
    )
    platform.api(
        "POST",
        f"/api/calls/{call['id']}/guide",
        token,
        files={"file": ("guide.pdf", MINIMAL_PDF, "application/pdf")},
    )
    response = platform.api("POST", f"/api/calls/{call['id']}/publish", token)
    assert response.status_code == 200, response.text
    return call


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    pass_second_step(page, email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/connexion\?fait=deconnecte$"))


def assert_labelled(page: Page) -> None:
    """Every visible form control has a label; one h1; French page."""
    assert page.locator("html").get_attribute("lang") == "fr-CA"
    expect(page.locator("h1")).to_have_count(1)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden')
            .filter(el => !(el.labels && el.labels.length)
                          && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.outerHTML)"""
    )
    assert unlabelled == []
    dangling = page.evaluate(
        """() => [...document.querySelectorAll('[aria-describedby]')]
            .flatMap(el => el.getAttribute('aria-describedby').split(/\\s+/))
            .filter(id => id && !document.getElementById(id))"""
    )
    assert dangling == []


def fill_section(page: Page, text: str) -> None:
    for area in page.locator("main form.form textarea").all():
        area.fill(text)
    for radio in page.get_by_role("radio", name="Oui", exact=True).all():
        radio.check()
    for select in page.locator("main form.form select").all():
        select.select_option(index=2)
    page.get_by_role("button", name="Enregistrer la section").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Les réponses de la section sont enregistrées."
    )


def test_a_cegep_submits_with_two_signatories_then_an_analyst_declares_it_admissible(
    platform, page, artefacts
):
    call = published_call(platform)

    # -- the RAC coordinator opens and fills the application ------------------------------
    log_in(page, RAC)
    page.get_by_role(
        "link", name=re.compile(rf"Présenter une demande de reconnaissance\s:\s{TITLE}")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    page.get_by_role("button", name="Commencer la demande de votre établissement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Demande de reconnaissance — Cégep de Lévis"
    )
    expect(page.get_by_role("status").first).to_contain_text("Votre demande est ouverte.")
    assert_labelled(page)
    application_url = page.url.split("?")[0]

    # A validation error keeps what was typed and changes nothing.
    page.get_by_role("link", name=re.compile("Remplir la section Présentation")).click()
    description = page.get_by_label(re.compile("Décrivez le service de RAC"))
    description.fill("x" * 301)
    page.get_by_role("button", name="Enregistrer la section").click()
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été modifié")
    expect(page.get_by_role("alert")).to_contain_text(
        "La réponse compte 301 caractères ; le maximum est 300."
    )
    expect(description).to_have_value("x" * 301)
    expect(description).to_have_attribute("aria-invalid", "true")
    assert_labelled(page)
    page.screenshot(path=artefacts / "application-section-error.png", full_page=True)
    fill_section(page, "Le service de RAC du Cégep de Lévis accompagne 150 personnes par année.")

    sections = page.locator("section[aria-labelledby=sections] h3")
    titles = [t.split(". ", 1)[1] for t in sections.all_inner_texts()]
    assert len(titles) == 5
    assert "Présentation de l'établissement" in titles
    for title in (t for t in titles if t != "Présentation de l'établissement"):
        page.get_by_role("link", name=f"Remplir la section {title}").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        fill_section(page, f"Engagement du Cégep de Lévis : {title}.")

    # Attachments: a disguised executable is refused, real PDFs are kept.
    page.get_by_label("Type de pièce").select_option("Lettre d'appui")
    page.get_by_label(re.compile("^Fichier")).set_input_files(
        files=[{"name": "lettre-appui.pdf", "mimeType": "application/pdf", "buffer": EXE}]
    )
    page.get_by_role("button", name="Joindre la pièce").click()
    expect(page.get_by_role("alert")).to_contain_text("ne correspond à aucun format accepté")
    for kind, name in (
        ("Lettre d'appui", "lettre-appui-cisss.pdf"),
        ("Document officiel", "resolution-ca.pdf"),
    ):
        page.get_by_label("Type de pièce").select_option(kind)
        page.get_by_label(re.compile("^Fichier")).set_input_files(
            files=[{"name": name, "mimeType": "application/pdf", "buffer": MINIMAL_PDF}]
        )
        page.get_by_role("button", name="Joindre la pièce").click()
        expect(page.get_by_role("status").first).to_have_text("La pièce jointe est ajoutée.")
    expect(page.get_by_role("table", name="2 pièces jointes")).to_be_visible()
    checklist = page.locator("#verification + ul")
    expect(checklist.locator("li.todo")).to_have_count(1)
    expect(checklist.locator("li.todo")).to_contain_text("Signatures requises")
    expect(page.get_by_role("button", name="Déposer la demande")).to_have_count(0)
    expect(page.get_by_text("peuvent signer la demande d'un cégep")).to_be_visible()
    page.screenshot(path=artefacts / "application-before-signatures.png", full_page=True)
    log_out(page)

    # -- the director general signs ---------------------------------------------------------
    log_in(page, DG)
    page.get_by_role("link", name=re.compile("Signer la demande de reconnaissance")).click()
    expect(page).to_have_url(application_url)
    page.get_by_role("button", name="Signer la demande").click()
    expect(page.get_by_role("status").first).to_have_text("Votre signature est enregistrée.")
    expect(page.locator("#signatures ~ ul, #signatures + p + ul").first).to_contain_text(
        "Isabelle Bégin, Direction générale"
    )
    log_out(page)

    # -- the director of studies signs and submits -------------------------------------------
    log_in(page, STUDIES)
    page.goto(application_url)
    page.get_by_role("button", name="Signer la demande").click()
    expect(page.get_by_role("status").first).to_have_text("Votre signature est enregistrée.")
    expect(page.locator("main")).to_contain_text("Marc-André Gagnon, Direction des études")
    page.get_by_role("button", name="Déposer la demande").click()
    expect(page.get_by_role("status").first).to_contain_text("La demande est déposée.")
    expect(page.locator("#statut")).to_contain_text("Déposée")
    reference = page.locator("dt:has-text('Numéro de référence') + dd").inner_text()
    assert re.fullmatch(r"CERAC-\d{4}-CLV-\d{4}", reference)
    expect(page.get_by_role("button", name="Signer la demande")).to_have_count(0)
    # The receipt is rendered a moment after the submission: the page says so, asks the
    # gateway by itself (static/feedback.js) and offers the link when it is ready, without
    # being reloaded (a marker set on this document survives only if it stays loaded).
    receipt_link = page.get_by_role("link", name="Télécharger l'accusé de réception (PDF)")
    if not receipt_link.count():
        expect(page.locator("#accuse-en-preparation")).to_contain_text("en préparation")
        page.evaluate("window.stillTheSamePage = true")
        expect(receipt_link).to_be_visible(timeout=60_000)
        assert page.evaluate("window.stillTheSamePage === true")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger l'accusé de réception (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"accuse-reception-{reference}.pdf"
    receipt = download.path().read_bytes()
    assert receipt.startswith(b"%PDF")
    page.screenshot(path=artefacts / "application-submitted.png", full_page=True)
    log_out(page)

    # -- the analyst: table, paper copy, four rules, decision ---------------------------------
    log_in(page, ANALYST)
    page.goto(f"/appels/{call['id']}/demandes")
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes de reconnaissance")
    page.get_by_label("Statut", exact=True).select_option("Déposée")
    page.get_by_role("button", name="Afficher").click()
    table = page.get_by_role("table", name="1 demande selon ces critères")
    expect(table).to_contain_text(reference)
    expect(table).to_contain_text("Non reçue")
    assert_labelled(page)
    page.screenshot(path=artefacts / "applications-table.png", full_page=True)
    table.get_by_role("link", name="Cégep de Lévis").click()
    expect(page).to_have_url(application_url)

    today = datetime.now(MONTREAL).date().isoformat()
    page.get_by_label("Date de réception de la copie papier").fill(today)
    page.get_by_role("button", name="Consigner la réception").click()
    expect(page.get_by_role("status").first).to_have_text(
        "La réception de la copie papier est consignée."
    )
    rules = page.get_by_role("table", name="Règles de recevabilité")
    expect(rules.locator("td > strong")).to_have_text(["Satisfaite"] * 4)
    # Deciding before reviewing every rule is refused.
    page.get_by_role("radio", name="Recevable", exact=True).check()
    page.get_by_role("button", name="Consigner la décision").click()
    expect(page.get_by_role("alert")).to_contain_text("Chaque règle doit être confirmée")
    for index in range(4):
        page.get_by_role("button", name=re.compile("^Consigner la revue")).nth(index).click()
        expect(page.get_by_role("status").first).to_have_text(
            "Votre revue de la règle est consignée."
        )
    expect(rules.get_by_text("Confirmée : satisfaite")).to_have_count(4)
    assert_labelled(page)
    page.get_by_role("radio", name="Recevable", exact=True).check()
    page.get_by_label("Commentaire (facultatif)").fill("Demande complète et signée.")
    page.get_by_role("button", name="Consigner la décision").click()
    expect(page.get_by_role("status").first).to_have_text(
        "La décision de recevabilité est consignée."
    )
    expect(page.locator("#statut")).to_contain_text("recevabilité : recevable")
    expect(page.locator("section[aria-labelledby=recevabilite]")).to_contain_text(
        "Décision : Recevable"
    )
    page.screenshot(path=artefacts / "application-admissible.png", full_page=True)


def test_the_ministry_admin_builds_publishes_and_amends_a_call_in_the_pages(
    platform, page, artefacts
):
    today = datetime.now(MONTREAL).date()
    title = "Appel d'intérêt bâti dans les pages"
    log_in(page, "admin@mes.demo.quebec")
    page.goto("/appels")
    page.get_by_role("link", name="Créer un appel d'intérêt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouvel appel d'intérêt")
    assert_labelled(page)
    page.get_by_label("Titre de l'appel").fill(title)
    page.get_by_label("Date de lancement").fill(today.isoformat())
    # The deadline before the launch: refused, the typed values are kept.
    page.get_by_label(re.compile("^Date limite de dépôt")).fill(
        (today - timedelta(days=1)).isoformat()
    )
    page.get_by_label("Date prévue de l'analyse des demandes").fill(
        (today + timedelta(days=40)).isoformat()
    )
    page.get_by_label("Date prévue de la désignation").fill(
        (today + timedelta(days=60)).isoformat()
    )
    page.get_by_label(re.compile("^Années d'expérimentation")).fill(
        f"{today.year + 1}-{today.year + 2}, {today.year + 2}-{today.year + 3}"
    )
    page.get_by_role("button", name="Créer l'appel d'intérêt").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "La date limite de dépôt doit suivre la date de lancement."
    )
    expect(page.get_by_label("Titre de l'appel")).to_have_value(title)
    expect(page.get_by_label(re.compile("^Date limite de dépôt"))).to_have_attribute(
        "aria-invalid", "true"
    )
    page.get_by_label(re.compile("^Date limite de dépôt")).fill(
        (today + timedelta(days=20)).isoformat()
    )
    page.get_by_role("button", name="Créer l'appel d'intérêt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("status").first).to_contain_text("L'appel d'intérêt est créé.")
    call_url = page.url.split("?")[0]
    # The mandate's parts are already there; a section and a question are added.
    for part in ("Volet 1", "Volet 2", "Volet 3", "Reddition de comptes"):
        expect(page.locator("section[aria-labelledby=formulaire-edition]")).to_contain_text(part)
    page.get_by_label("Titre de la section").fill("Présentation de l'établissement")
    page.get_by_role("button", name="Ajouter la section").click()
    expect(page.get_by_role("status").first).to_have_text("Les modifications sont enregistrées.")
    page.get_by_text("Ajouter une question à « Présentation de l'établissement »").click()
    card = page.locator(".card", has_text="Présentation de l'établissement")
    card.get_by_label("Libellé de la question").fill("Décrivez votre service de RAC.")
    card.get_by_label("Type de réponse").select_option("text")
    card.get_by_label("Longueur maximale (texte, en caractères)").fill("2000")
    card.get_by_role("button", name="Ajouter la question").click()
    expect(page.get_by_role("status").first).to_have_text("Les modifications sont enregistrées.")
    expect(page.locator(".card", has_text="Présentation de l'établissement")).to_contain_text(
        "Décrivez votre service de RAC. — Texte, 2000 caractères au maximum, obligatoire"
    )

    # A grid of 90 points is saved as a draft but cannot be published.
    for index, (_group, label, weight, threshold) in enumerate(CRITERIA_2012):
        page.get_by_label(f"Libellé du critère {index + 1}", exact=True).fill(label)
        page.get_by_label(f"Pondération du critère {index + 1}", exact=True).fill(
            str(weight - (10 if index == 0 else 0))
        )
        page.get_by_label(f"Seuil du critère {index + 1}", exact=True).fill(str(threshold - 6))
    page.get_by_role("button", name="Enregistrer la grille").click()
    expect(page.get_by_role("status").first).to_have_text("Les modifications sont enregistrées.")
    page.get_by_role("button", name="Publier l'appel d'intérêt").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("L'appel ne peut pas être publié")
    expect(alert).to_contain_text("La somme des pondérations doit être de 100 (actuellement 90).")
    expect(alert).to_contain_text("Le guide de présentation (PDF) n'est pas joint.")
    assert_labelled(page)
    page.screenshot(path=artefacts / "call-not-publishable.png", full_page=True)
    page.get_by_label("Pondération du critère 1", exact=True).fill("20")
    page.get_by_role("button", name="Enregistrer la grille").click()
    expect(page.get_by_role("status").first).to_have_text("Les modifications sont enregistrées.")
    # The guide: an executable renamed .pdf is refused, a PDF is kept.
    page.get_by_label(re.compile("^Guide \\(PDF")).set_input_files(
        files=[{"name": "guide.pdf", "mimeType": "application/pdf", "buffer": EXE}]
    )
    page.get_by_role("button", name="Joindre le guide").click()
    expect(page.get_by_role("alert")).to_contain_text("ne correspond à aucun format accepté (PDF)")
    page.get_by_label(re.compile("^Guide \\(PDF")).set_input_files(
        files=[{"name": "guide-cerac.pdf", "mimeType": "application/pdf", "buffer": MINIMAL_PDF}]
    )
    page.get_by_role("button", name="Joindre le guide").click()
    expect(page.get_by_role("link", name="guide-cerac.pdf")).to_be_visible()
    page.get_by_role("button", name="Publier l'appel d'intérêt").click()
    expect(page.get_by_role("status").first).to_have_text("L'appel d'intérêt est publié.")
    expect(page.locator("main .lead")).to_contain_text("Publié")
    expect(page.get_by_role("table", name="Grille d'évaluation : 100 points")).to_be_visible()

    # A published call changes only by a logged amendment.
    new_deadline = today + timedelta(days=27)
    page.get_by_label("Motif de la modification").fill("Report demandé par les réseaux.")
    page.get_by_label("Nouvelle date limite de dépôt").fill(new_deadline.isoformat())
    page.get_by_role("button", name="Publier l'avis de modification").click()
    expect(page.get_by_role("status").first).to_contain_text("L'avis de modification est consigné")
    expect(page.locator("section[aria-labelledby=avis]")).to_contain_text("Avis no 1")
    expect(page.locator("main .lead")).to_contain_text("version 2")
    assert_labelled(page)
    page.screenshot(path=artefacts / "call-published-amended.png", full_page=True)
    # An institution of the order sees it, with the amended deadline.
    log_out(page)
    log_in(page, "fp@csnavigateurs.demo.quebec")
    page.goto(call_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(
        page.get_by_role("button", name="Commencer la demande de votre établissement")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Publier l'appel d'intérêt")).to_have_count(0)


def test_an_analyst_asks_for_complements_the_institution_answers_and_the_analysis_resumes(
    platform, page, artefacts
):
    """The « demande de compléments » in the pages, on the demo's Cégep Marie-Victorin
    application (deposited, its admissibility to decide)."""
    token = platform.token(ANALYST)
    [call] = [
        c
        for c in platform.api("GET", "/api/calls", token).json()["items"]
        if c["deadline_date"] == "2012-12-21"
    ]
    rows = platform.api("GET", f"/api/calls/{call['id']}/applications", token).json()["items"]
    [cmv] = [r for r in rows if r["organisation_name"] == "Cégep Marie-Victorin"]
    url = f"/demandes/{cmv['id']}"
    due = datetime.now(MONTREAL).date() + timedelta(days=10)

    # -- the analyst asks: a request without items or deadline is refused, then sent --------
    log_in(page, ANALYST)
    page.goto(url)
    page.get_by_text("Demander des compléments à l'établissement").click()
    page.get_by_role("button", name="Demander les compléments").click()
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été modifié")
    page.get_by_label("Libellé de l'élément 1").fill("Lettre d'appui d'un employeur de la région")
    page.get_by_label("Type de pièce attendue (document, élément 1)").select_option(
        "Lettre d'appui"
    )
    page.get_by_label("Libellé de l'élément 2").fill("Précision sur les programmes visés")
    page.get_by_label("Nature de l'élément 2").select_option("Réponse à fournir")
    page.get_by_label("Date limite de réponse").fill(due.isoformat())
    page.get_by_role("button", name="Demander les compléments").click()
    expect(page.get_by_role("status").first).to_have_text(
        "La demande de compléments est transmise à l'établissement."
    )
    expect(page.locator("#statut")).to_contain_text("Compléments demandés")
    expect(page.get_by_role("button", name="Consigner la décision")).to_have_count(0)
    assert_labelled(page)
    log_out(page)

    # -- the institution provides the two items and answers ----------------------------------
    log_in(page, "rac@cmv.demo.quebec")
    page.get_by_role(
        "link", name=re.compile("Répondre à la demande de compléments du Ministère")
    ).click()
    expect(page).to_have_url(re.compile(f"{url}#complements$"))
    page.get_by_label(re.compile(r"^Fichier\s: Lettre d'appui d'un employeur")).set_input_files(
        files=[{"name": "lettre-employeur.pdf", "mimeType": "application/pdf",
                "buffer": MINIMAL_PDF}]
    )  # fmt: skip
    page.get_by_role("button", name=re.compile("^Joindre le document")).click()
    expect(page.get_by_role("status").first).to_contain_text("L'élément demandé est fourni.")
    page.get_by_label("Réponse : Précision sur les programmes visés").fill(
        "Techniques d'éducation à l'enfance et Techniques de travail social."
    )
    page.get_by_role("button", name=re.compile("^Enregistrer la réponse")).click()
    expect(page.get_by_role("status").first).to_contain_text("L'élément demandé est fourni.")
    assert_labelled(page)
    page.get_by_role("button", name="Transmettre la réponse au Ministère").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Votre réponse est transmise au Ministère."
    )
    expect(page.locator("#complements ~ .card").first).to_contain_text("lettre-employeur.pdf")
    page.screenshot(path=artefacts / "application-complements-answered.png", full_page=True)
    log_out(page)

    # -- the analyst resumes the analysis ----------------------------------------------------
    log_in(page, ANALYST)
    page.goto(url)
    page.get_by_role("button", name="Reprendre l'analyse de la recevabilité").click()
    expect(page.get_by_role("status").first).to_have_text("L'analyse de la recevabilité reprend.")
    expect(page.locator("#statut")).to_contain_text("Déposée")
    expect(page.get_by_role("button", name="Consigner la décision")).to_be_visible()
    page.screenshot(path=artefacts / "application-complements-resumed.png", full_page=True)
