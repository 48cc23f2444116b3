"""An access request in a real Chromium: the Cégep de Lévis's coordinator opens the plans'
« Renseignements personnels » page, reads the register (the demo's anonymised plan and
access request), exports one candidate-worker's information as JSON, and finds the export
in the register; the anonymised plan's page says what happened to its personal
information."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
)
from tests.browser.test_login_pages import assert_accessible_basics, log_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]

COORDINATOR = "rac@cegeplevis.demo.quebec"
PERSON = "karine.lapointe@exemple.quebec"


def test_an_access_request_is_exported_and_registered(platform, page, artefacts):
    log_in(page, COORDINATOR)
    page.goto("/plans")
    page.get_by_role("link", name="Renseignements personnels (demandes d'accès)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Renseignements personnels des personnes candidates"
    )
    assert_accessible_basics(page)
    register = page.get_by_role("table", name="Exportations et anonymisations")
    expect(register).to_contain_text("Renseignements personnels anonymisés (règle de conservation)")
    expect(register).to_contain_text("marie-eve.gagnon@exemple.quebec — 1 plan")

    page.get_by_label("Courriel de la personne candidate").fill(PERSON)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Exporter ses renseignements").click()
    download = download_info.value
    assert download.suggested_filename.startswith("renseignements-personnels-")
    export = json.loads(download.path().read_text(encoding="utf-8"))
    assert export["full_name"] == "Karine Lapointe"
    assert export["plans"][0]["versions"][0]["email"] == PERSON

    page.reload()
    expect(page.get_by_role("table", name="Exportations et anonymisations")).to_contain_text(
        f"{PERSON} — 1 plan"
    )
    page.screenshot(path=str(artefacts / "privacy-register.png"), full_page=True)

    # The anonymised plan's page: nobody named, the reason said.
    page.get_by_role("table", name="Exportations et anonymisations").get_by_role(
        "link", name=re.compile(r"^plan PMO-CLV-")
    ).click()
    expect(page.get_by_text("selon la règle de conservation")).to_be_visible()
    expect(page.get_by_text("Personne candidate 1").first).to_be_visible()
    expect(page.get_by_role("link", name="Télécharger le PDF de la version 1")).to_have_count(0)
    page.screenshot(path=str(artefacts / "privacy-anonymised-plan.png"), full_page=True)
