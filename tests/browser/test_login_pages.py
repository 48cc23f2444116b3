"""The pages a user meets first, driven in a real Chromium against the whole platform:
login for each kind of user, home page, own organisation, tenant isolation, logout,
wrong password, accessibility basics and the password reset by e-mail."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
    pass_second_step,
)
from tests.support.platform import DEMO_PASSWORD
from tests.support.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

MINISTRY_LINK = "Consulter les établissements et organisations du réseau"
OWN_ORGANISATION_LINK = "Consulter la fiche de votre organisation"

# (email, role key, full name, role label, organisation code, organisation name, other code)
USERS = [
    (
        "admin@mes.demo.quebec",
        "ministry_admin",
        "Hélène Tremblay",
        "Administration du Ministère",
        "MES",
        "Ministère de l'Enseignement supérieur",
        None,
    ),
    (
        "rac@cegeplevis.demo.quebec",
        "rac_coordinator",
        "Sophie Bélanger",
        "Coordination de la RAC",
        "CLV",
        "Cégep de Lévis",
        "CMV",
    ),
    (
        "fp@csnavigateurs.demo.quebec",
        "director_vocational_training",
        "Chantal Fortin",
        "Direction du service de la formation professionnelle",
        "CSN",
        "Centre de services scolaire des Navigateurs",
        "CLV",
    ),
    (
        "rh@cisss.demo.quebec",
        "employer_representative",
        "Julie Morin",
        "Représentante de l'organisation",
        "CCA",
        "CISSS de Chaudière-Appalaches",
        "CLV",
    ),
]


NAMES = {"CLV": "Cégep de Lévis", "CMV": "Cégep Marie-Victorin"}


def organisation_ids(platform) -> dict[str, int]:
    engine = platform.engine("gateway")
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT code, id FROM organisations")).all()
    finally:
        engine.dispose()
    return {code: id_ for code, id_ in rows}


def menu_link(page: Page, name: str):
    """A link of the main menu, « Plus » opened first when the link is under it (a long
    menu keeps its first entries in the band: base.html.j2)."""
    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.wait_for()
    more = nav.locator("li.more > details")
    # A closed disclosure's links are hidden from the accessibility tree: counted anyway.
    if more.count() and more.get_by_role("link", name=name, include_hidden=True).count():
        if more.get_attribute("open") is None:
            more.locator("summary").click()
    return nav.get_by_role("link", name=name)


def log_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    pass_second_step(page, email)


def assert_accessible_basics(page: Page) -> None:
    """WCAG smoke checks that need no external tool."""
    assert page.locator("html").get_attribute("lang") == "fr-CA"
    expect(page.get_by_role("main")).to_have_count(1)
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
    # Every aria-describedby points to an element that exists.
    dangling = page.evaluate(
        """() => [...document.querySelectorAll('[aria-describedby]')]
            .flatMap(el => el.getAttribute('aria-describedby').split(/\\s+/))
            .filter(id => !document.getElementById(id))"""
    )
    assert dangling == []
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_have_count(1)
    assert skip.get_attribute("href") == "#contenu"
    # On a freshly loaded page, one Tab must land on the skip link.
    assert page.evaluate("() => document.activeElement === document.body")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.tagName, document.activeElement.textContent.trim()]"
    )
    assert focused == ["A", "Aller au contenu"]
    # Once focused, the skip link is on screen (not left at -999px).
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "contenu"


@pytest.mark.parametrize(
    "email, role, full_name, role_label, code, organisation, other_code",
    USERS,
    ids=[u[1] for u in USERS],
)
def test_each_kind_of_user_logs_in_sees_its_home_and_logs_out(
    platform, page, artefacts, email, role, full_name, role_label, code, organisation, other_code
):
    ids = organisation_ids(platform)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/connexion\?suite=/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.screenshot(path=artefacts / "login.png", full_page=True)

    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    pass_second_step(page, email)

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bonjour {full_name}")
    expect(page.locator("main .lead")).to_have_text(f"{role_label} — {organisation}")
    expect(page.locator(".site-header .who")).to_have_text(f"{full_name} · {role_label}")
    # Every service answered the home page's summary call.
    expect(page.get_by_text("momentanément indisponibles")).to_have_count(0)
    expect(page.get_by_role("link", name="Consulter vos messages")).to_be_visible()
    page.screenshot(path=artefacts / f"home-{role}.png", full_page=True)

    if other_code is None:
        expect(page.get_by_role("link", name=OWN_ORGANISATION_LINK)).to_have_count(0)
        page.get_by_role("link", name=MINISTRY_LINK).click()
        expect(page).to_have_url(re.compile(r"/organisations$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Établissements et organisations")
        table = page.get_by_role("table")
        expect(table.get_by_role("link", name="Cégep de Lévis", exact=True)).to_have_attribute(
            "href", f"/organisations/{ids['CLV']}"
        )
        expect(table.get_by_role("link", name="Cégep Marie-Victorin")).to_be_visible()
        page.screenshot(path=artefacts / "organisations-ministry_admin.png", full_page=True)
        table.get_by_role("link", name="Cégep de Lévis", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Cégep de Lévis")
    else:
        expect(page.get_by_role("link", name=MINISTRY_LINK)).to_have_count(0)
        expect(
            page.get_by_role("navigation").get_by_role("link", name="Organisations")
        ).to_have_count(0)
        page.get_by_role("link", name=OWN_ORGANISATION_LINK).click()
        expect(page).to_have_url(re.compile(rf"/organisations/{ids[code]}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(organisation)
        expect(page.get_by_role("table")).to_contain_text(full_name)
        expect(page.get_by_role("table")).to_contain_text(email)
        page.screenshot(path=artefacts / f"organisation-{role}.png", full_page=True)

        # Another organisation's page, typed in the address bar: a French 404, no leak.
        response = page.goto(f"/organisations/{ids[other_code]}")
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
        expect(page.get_by_role("alert")).to_contain_text("Organisation introuvable.")
        expect(page.get_by_role("link", name="Retour à l'accueil")).to_be_visible()
        content = page.content()
        assert NAMES[other_code] not in content and "Personnes ayant un compte" not in content
        if role == "rac_coordinator":
            page.screenshot(path=artefacts / "error-404.png", full_page=True)

        # The ministry's list of organisations is not for them either.
        response = page.goto("/organisations")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
        page.goto("/")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/connexion\?fait=deconnecte$"))
    expect(page.get_by_role("status")).to_have_text("Vous êtes déconnecté.")
    # The session is really gone: the home page asks to log in again.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/connexion\?suite=/$"))


def test_wrong_password_is_refused_with_an_alert(page, artefacts):
    log_in(page, "dg@cmv.demo.quebec", "pas-le-bon-mot-de-passe")
    expect(page.get_by_role("alert")).to_have_text("Courriel ou mot de passe incorrect.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    # The address is kept, the password is not, and the field is flagged for screen readers.
    expect(page.get_by_label("Adresse courriel")).to_have_value("dg@cmv.demo.quebec")
    expect(page.get_by_label("Adresse courriel")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Mot de passe")).to_have_value("")
    page.screenshot(path=artefacts / "login-error.png", full_page=True)
    assert_accessible_basics(page)
    # The right password still works afterwards.
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Nathalie Ouellet")


def test_login_and_home_pages_pass_accessibility_smoke_checks(page):
    page.goto("/connexion")
    assert_accessible_basics(page)
    log_in(page, "etudes@cegeplevis.demo.quebec")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Marc-André Gagnon")
    assert_accessible_basics(page)
    expect(page.get_by_role("navigation", name="Navigation principale")).to_have_count(1)


def test_password_reset_by_email_in_the_browser(platform, page, artefacts):
    email = "direction@boulangerie.demo.quebec"
    new_password = "pain-de-menage-2026"

    page.goto("/connexion")
    page.get_by_role("link", name="Mot de passe oublié").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mot de passe oublié")
    assert_accessible_basics(page)
    page.get_by_label("Adresse courriel de votre compte").fill(email)
    page.get_by_role("button", name="Recevoir un lien de réinitialisation").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Si un compte correspond à l'adresse {email}, un courriel contenant un lien"
    )
    page.screenshot(path=artefacts / "password-forgotten-sent.png", full_page=True)

    def reset_mails() -> list[str]:
        # The demo's other notices (a declined offer's copy) may reach this address too.
        mine = [m for m in platform.mails() if m["To"] == email]
        bodies = [m.get_body(preferencelist=("plain",)).get_content() for m in mine]
        return [body for body in bodies if "/mot-de-passe/reinitialiser/" in body]

    wait_until(reset_mails, timeout=30, message="no password-reset e-mail")
    [body] = reset_mails()
    assert "Bonjour Éric Poulin" in body
    link = re.search(r"https?://\S+/mot-de-passe/reinitialiser/[\w-]+", body).group(0)
    assert link.startswith(platform.url)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisir un nouveau mot de passe")
    assert_accessible_basics(page)
    # Too short: the server refuses it with a French message (the form is novalidate, so
    # every browser gets the same accessible error summary).
    page.get_by_label("Nouveau mot de passe").fill("court")
    page.get_by_label("Confirmation").fill("court")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.get_by_role("alert")).to_contain_text("au moins 12 caractères")
    expect(page.get_by_label("Nouveau mot de passe")).to_have_attribute("aria-invalid", "true")
    # Confirmation differs: the server refuses with a field-level message; nothing changed.
    page.get_by_label("Nouveau mot de passe").fill(new_password)
    page.get_by_label("Confirmation").fill(new_password + "x")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "La confirmation ne correspond pas au mot de passe."
    )
    expect(page.get_by_label("Confirmation")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=artefacts / "password-reset-error.png", full_page=True)
    assert_accessible_basics(page)

    page.get_by_label("Nouveau mot de passe").fill(new_password)
    page.get_by_label("Confirmation").fill(new_password)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page).to_have_url(re.compile(r"/connexion\?fait=reinitialise$"))
    expect(page.get_by_role("status")).to_have_text(
        "Votre mot de passe a été changé. Connectez-vous avec le nouveau."
    )

    # The old password no longer works; the new one does.
    log_in(page, email, DEMO_PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Courriel ou mot de passe incorrect.")
    log_in(page, email, new_password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Éric Poulin")

    # The link served once.
    page.goto(link)
    page.get_by_label("Nouveau mot de passe").fill("encore-un-autre-mdp")
    page.get_by_label("Confirmation").fill("encore-un-autre-mdp")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.get_by_role("alert")).to_contain_text("invalide ou expiré")
