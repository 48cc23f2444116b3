"""In Chromium against the whole platform (demo data): a ministry analyst opens the network
dashboard from the navigation; every figure has its SVG chart drawn on the server (visible,
with its French title), its data table and its CSV export; the page's Content-Security-Policy
blocks nothing; a screenshot is kept under ``tests/artefacts/``. An employer gets a refusal."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gateway.web.dashboard.figures import FIGURES
from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
    pass_second_step,
)
from tests.browser.test_login_pages import menu_link
from tests.support.platform import DEMO_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ANALYST = "analyste@mes.demo.quebec"
EMPLOYER = "rh@cisss.demo.quebec"


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse courriel").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    pass_second_step(page, email)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")


def test_an_analyst_opens_the_dashboard_and_the_charts_render(page, artefacts):
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    log_in(page, ANALYST)
    menu_link(page, "Tableau de bord").click()  # under « Plus » in the analyst's menu
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord du réseau des CERAC")
    sections = page.locator("section.dashboard-figure")
    expect(sections).to_have_count(len(FIGURES))
    expect(page.get_by_text("Données indisponibles")).to_have_count(0)

    charts = page.locator("svg[role='img']")
    assert charts.count() >= 5  # the demo has data for most figures; the others say so
    for index in range(charts.count()):
        chart = charts.nth(index)
        expect(chart).to_be_visible()
        title = chart.locator("title")
        assert title.text_content().strip(), "every chart has a French title"
        labelled_by = chart.get_attribute("aria-labelledby").split()
        assert labelled_by[0] == title.get_attribute("id")
        box = chart.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        # Drawn with colours (presentation attributes: no inline style under the CSP).
        assert chart.locator("[fill='#0072b2'], [fill='#0072B2']").count() > 0
    expect(page.get_by_role("img", name="CERAC désignés par ordre d'enseignement")).to_be_visible()

    for slug in FIGURES:
        section = page.locator(f"#figure-{slug}")
        expect(section.locator("table caption")).to_have_count(1)
        expect(section.locator(f"a[href^='/tableau-de-bord/{slug}.csv']")).to_have_count(1)
    page.locator("#figure-cerac summary").click()
    expect(page.locator("#figure-cerac table")).to_be_visible()
    expect(page.locator("#figure-cerac table thead")).to_contain_text("Ordre d'enseignement")

    page.screenshot(path=str(artefacts / "tableau-de-bord.png"), full_page=True)
    assert blocked == []

    with page.expect_download() as download_info:
        page.locator("#figure-cerac a[href^='/tableau-de-bord/cerac.csv']").click()
    content = open(download_info.value.path(), encoding="utf-8").read()
    assert content.startswith("\ufeffOrdre d'enseignement;CERAC désignés")


def test_an_employer_is_refused_the_dashboard(page):
    log_in(page, EMPLOYER)
    nav = page.get_by_role("navigation", name="Navigation principale")
    expect(nav.get_by_role("link", name="Tableau de bord")).to_have_count(0)
    response = page.goto("/tableau-de-bord")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
