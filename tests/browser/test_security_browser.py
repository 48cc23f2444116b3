"""In Chromium: a ministry evaluator whose second factor was reset enrols a new app at
sign-in (QR code, key, first code, recovery codes shown once) and later signs in with a
recovery code; an analyst reads the journal, filters it, opens an object's history and
exports the journal in CSV."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from gateway.demo import DEMO_TOTP_SECRETS
from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
    pass_second_step,
)
from tests.browser.test_login_pages import menu_link
from tests.support.platform import DEMO_PASSWORD
from tests.support.two_factor import platform_now

pytestmark = [pytest.mark.integration, pytest.mark.browser]

EVALUATOR = "evaluatrice@mes.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"


def sign_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def test_an_evaluator_enrols_a_new_app_then_signs_in_with_a_recovery_code(
    platform, page, artefacts
):
    admin = platform.token("admin@mes.demo.quebec")
    with platform.engine("gateway").connect() as connection:
        user_id = connection.execute(
            text("SELECT id FROM users WHERE email = :e"), {"e": EVALUATOR}
        ).scalar()
    assert platform.api("POST", f"/api/users/{user_id}/second-factor/reset", admin).ok

    sign_in(page, EVALUATOR)
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer la double authentification")
    expect(page.get_by_text("obligatoire pour les comptes du Ministère")).to_be_visible()
    expect(page.locator("figure.qr-code svg title")).to_have_text(
        "Code QR à lire avec votre application d'authentification"
    )
    page.screenshot(path=artefacts / "second-factor-enrolment.png", full_page=True)
    secret = page.locator("code.totp-secret").inner_text().replace(" ", "")
    assert secret != DEMO_TOTP_SECRETS[EVALUATOR]  # a new secret, not the demo's
    page.get_by_label("Code de vérification").fill("000000")
    page.get_by_role("button", name="Activer").click()
    expect(page.get_by_role("alert")).to_contain_text("Ce code n'est pas valide")
    page.get_by_label("Code de vérification").fill(pyotp.TOTP(secret).at(platform_now(platform)))
    page.get_by_role("button", name="Activer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Codes de récupération")
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}", c) for c in codes)
    page.screenshot(path=artefacts / "second-factor-recovery-codes.png", full_page=True)
    page.get_by_role("link", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    page.get_by_role("button", name="Se déconnecter").click()

    sign_in(page, EVALUATOR)
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérification en deux étapes")
    page.get_by_label("Code de vérification").fill(codes[0])
    page.get_by_role("button", name="Vérifier").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    page.get_by_role("link", name="Sécurité du compte").click()
    expect(page.get_by_text("Il vous reste 9 codes de récupération inutilisés.")).to_be_visible()
    expect(page.get_by_text("obligatoire pour votre rôle")).to_be_visible()


def test_an_analyst_reads_the_journal_and_an_invoice_history(platform, page, artefacts):
    sign_in(page, ANALYST)
    pass_second_step(page, ANALYST)
    menu_link(page, "Journal d'audit").click()  # under « Plus » in the analyst's menu
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal d'audit")
    page.get_by_label("Type d'objet").select_option("invoice")
    page.get_by_role("button", name="Afficher").click()
    expect(page).to_have_url(re.compile(r"/journal\?.*objet=invoice"))
    rows = page.locator("table.audit tbody tr")
    expect(rows.first).to_contain_text("Facture")
    expect(page.get_by_text("Solde :").first).to_be_visible()  # before → after
    page.screenshot(path=artefacts / "audit-journal.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter en CSV").click()
    content = download.value.path().read_bytes().decode("utf-8-sig")
    assert content.startswith("N°;Date et heure;Nature;")

    page.get_by_role("link", name=re.compile(r"^Facture CLV-2026-0001")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Historique — Facture CLV-2026-0001")
    expect(page.get_by_text(re.compile("Facture émise le"))).to_be_visible()
    page.screenshot(path=artefacts / "audit-history.png", full_page=True)

    # Each reading is in the journal, the last one first.
    page.goto("/journal?nature=read")
    expect(page.locator("table.audit tbody tr").first).to_contain_text(
        "Consultation de l'historique : facture"
    )
