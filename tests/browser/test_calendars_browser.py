"""Calendars in a real Chromium: the employer's representative downloads a plan's calendar
from the plan's page, then opens « Calendrier », sees the offer's deadline among the dates to
come, replaces the address of the personal feed and revokes it; a calendar application
that still holds an old address gets nothing."""

from __future__ import annotations

import pytest
import requests
from icalendar import Calendar
from playwright.sync_api import expect

from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
)
from tests.browser.test_login_pages import assert_accessible_basics, log_in

pytestmark = [pytest.mark.integration, pytest.mark.browser]

EMPLOYER = "rh@cisss.demo.quebec"


def test_the_employer_downloads_a_plan_s_calendar_and_manages_the_personal_feed(
    platform, page, artefacts
):
    token = platform.token(EMPLOYER)
    plans = platform.api("GET", "/api/plans", token).json()["items"]
    issued = next(p for p in plans if p["awaiting_acceptance"] and p["accepted_version"] is None)
    log_in(page, EMPLOYER)

    page.goto(f"/plans/{issued['id']}")
    with page.expect_download() as download_info:
        page.get_by_role(
            "link", name="Ajouter les échéances et les calendriers du plan à votre agenda"
        ).click()
    download = download_info.value
    assert download.suggested_filename == f"calendrier-plan-{issued['id']}.ics"
    calendar = Calendar.from_ical(download.path().read_bytes())
    titles = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    deadline = (
        f"Date limite d'acceptation du plan de mise en œuvre {issued['reference']} "
        f"(version {issued['awaiting_version']})"
    )
    assert deadline in titles
    assert any(t.startswith("Évaluation de ") for t in titles)

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Calendrier"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Calendrier")
    assert_accessible_basics(page)
    expect(page.get_by_role("cell", name=deadline)).to_be_visible()
    page.screenshot(path=str(artefacts / "calendar-page.png"), full_page=True)

    # The demo opened this person's feed: the address is shown, fetched without a session.
    address = page.get_by_label("Votre adresse d'abonnement")
    first = address.input_value()
    assert requests.get(first, timeout=30).status_code == 200
    expect(
        page.get_by_role("link", name="S'abonner avec votre application de calendrier")
    ).to_have_attribute("href", "webcal://" + first.split("://", 1)[1])

    page.get_by_role(
        "button", name="Remplacer l'adresse (l'ancienne cessera de fonctionner)"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Votre adresse d'abonnement est prête.")
    second = page.get_by_label("Votre adresse d'abonnement").input_value()
    assert second != first
    assert requests.get(first, timeout=30).status_code == 404
    assert requests.get(second, timeout=30).status_code == 200

    page.get_by_role("link", name="Révoquer l'adresse").click()  # its confirmation step
    expect(page.get_by_role("heading", level=1)).to_contain_text("Révoquer votre adresse")
    expect(page.get_by_role("note")).to_contain_text("cessera aussitôt de fonctionner")
    assert_accessible_basics(page)
    page.get_by_role("button", name="Révoquer l'adresse").click()
    expect(page.get_by_role("status")).to_contain_text("Votre adresse d'abonnement est révoquée")
    expect(page.get_by_role("button", name="Créer votre adresse d'abonnement")).to_be_visible()
    assert requests.get(second, timeout=30).status_code == 404
    page.screenshot(path=str(artefacts / "calendar-feed-revoked.png"), full_page=True)
