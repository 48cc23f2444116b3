"""The one-click unsubscribe link opened in a real Chromium, as a reader whose mail client
has no one-click support would: the page says what the link does without changing anything,
the button turns the optional reminders off, and the page then says so."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from rac_shared import events as ev
from rac_shared.clock import end_of_day
from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
)
from tests.browser.test_login_pages import assert_accessible_basics
from tests.support.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

EMPLOYER = "rh@cisss.demo.quebec"


def test_a_reader_turns_reminders_off_from_the_link_of_a_reminder(platform, page, artefacts):
    admin = platform.token("admin@mes.demo.quebec")
    organisations = platform.api("GET", "/api/organisations", admin).json()["organisations"]
    ids = {o["code"]: o["id"] for o in organisations}
    platform.publish_event(
        ev.PlanReminderDue(
            plan_id=81,
            version=1,
            reference="PMO-CLV-2026-081",
            institution_id=ids["CLV"],
            employer_id=ids["CCA"],
            days_left=10,
            acceptance_deadline=end_of_day(date(2026, 12, 12)),
        )
    )
    (mail,) = wait_until(
        lambda: [m for m in platform.mails_to(EMPLOYER) if "PMO-CLV-2026-081" in m["Subject"]]
    )
    link = re.fullmatch(r"<(.+)>", mail["List-Unsubscribe"].strip()).group(1)
    token = platform.token(EMPLOYER)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Rappels facultatifs par courriel")
    assert_accessible_basics(page)
    page.screenshot(path=str(artefacts / "unsubscribe-before.png"), full_page=True)
    assert platform.api("GET", "/api/messages/preferences", token).json() == {
        "optional_reminders": True
    }

    page.get_by_role("button", name="Ne plus recevoir les rappels facultatifs").click()
    expect(page.get_by_role("status")).to_have_text(
        "C'est fait : vous ne recevrez plus les rappels facultatifs par courriel."
    )
    page.screenshot(path=str(artefacts / "unsubscribe-done.png"), full_page=True)
    assert platform.api("GET", "/api/messages/preferences", token).json() == {
        "optional_reminders": False
    }
    expect(
        page.get_by_role("link", name="Gérer vos préférences de notification")
    ).to_have_attribute("href", "/messages/preferences")

    page.goto(link)
    expect(page.get_by_role("status")).to_have_text(
        "Vous ne recevez déjà plus les rappels facultatifs par courriel."
    )
