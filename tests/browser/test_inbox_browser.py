"""The in-app inbox in a real Chromium against the whole platform: a RAC coordinator issues
a plan through the API; the employer's representative sees the unread count in the page
header, opens the inbox, follows the message to the plan, marks the message read and the
count goes down."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from rac_shared.french import plural
from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
)
from tests.browser.test_login_pages import assert_accessible_basics, log_in
from tests.integration.test_plans_flow import COORDINATOR, EMPLOYER, create_issued_plan

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def header_count(page: Page) -> int:
    """The unread count shown next to « Messages » in the main navigation (0 when absent)."""
    link = page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name=re.compile("^Messages")
    )
    badge = link.locator(".badge")
    if badge.count() == 0:
        return 0
    count = int(badge.inner_text())
    expect(badge).to_have_attribute("aria-label", f"{count} non lus")
    return count


def wait_for_message(platform, token: str, reference: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = platform.api("GET", "/api/messages", token)
        if response.status_code != 200:  # 503/504 on a busy machine: ask again
            time.sleep(0.3)
            continue
        found = [m for m in response.json()["messages"] if reference in m["subject"]]
        if found:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no in-app message about {reference}\n{platform.tail_logs()}")


def test_employer_follows_the_plan_notice_from_the_inbox(platform, page, artefacts):
    tokens = {email: platform.token(email) for email in (COORDINATOR, EMPLOYER)}
    plan = create_issued_plan(platform, tokens)
    reference = plan["reference"]
    message = wait_for_message(platform, tokens[EMPLOYER], reference)
    assert not message["read"]

    log_in(page, EMPLOYER)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    unread = header_count(page)
    assert unread >= 1

    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name=re.compile("^Messages")
    ).click()
    expect(page).to_have_url(re.compile(r"/messages$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages")
    assert header_count(page) == unread
    unread_text = plural(unread, "message non lu", "messages non lus")
    expect(page.locator("main")).to_contain_text(unread_text)
    assert_accessible_basics(page)
    item = page.locator("ul.inbox > li").filter(has_text=reference)
    expect(item).to_have_count(1)
    expect(item.get_by_role("heading", level=2)).to_contain_text(
        f"Non lu : Plan de mise en œuvre {reference} à accepter"
    )
    page.screenshot(path=artefacts / "inbox-unread.png", full_page=True)

    item.get_by_role("link", name="Ouvrir").click()
    expect(page).to_have_url(re.compile(rf"/plans/{plan['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)

    page.go_back()
    item = page.locator("ul.inbox > li").filter(has_text=reference)
    item.get_by_role("button", name="Marquer comme lu").click()
    expect(page).to_have_url(re.compile(r"/messages$"))
    item = page.locator("ul.inbox > li").filter(has_text=reference)
    expect(item).to_have_class(re.compile(r"\bread\b"))
    expect(item.get_by_role("button", name="Marquer comme lu")).to_have_count(0)
    assert header_count(page) == unread - 1
    page.goto("/")
    assert header_count(page) == unread - 1
    inbox = platform.api("GET", "/api/messages", tokens[EMPLOYER]).json()
    assert [m["read"] for m in inbox["messages"] if reference in m["subject"]] == [True]
