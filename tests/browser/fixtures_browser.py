"""Playwright fixtures: Debian's Chromium (``playwright install`` cannot download here).

Import them into a test module with
``from tests.browser.fixtures_browser import browser_fixture, context_fixture, page_fixture``;
tests then ask for ``browser``, ``context`` and ``page``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


_SHARED: dict[str, Browser] = {}


@pytest.fixture(name="browser", scope="session")
def browser_fixture() -> Browser:
    # Each test module imports this fixture, which makes one session fixture per module;
    # Playwright's sync API allows one instance per process, so they share one Chromium.
    if "browser" in _SHARED:
        yield _SHARED["browser"]
        return
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        _SHARED["browser"] = launched
        try:
            yield launched
        finally:
            _SHARED.pop("browser", None)
            launched.close()


@pytest.fixture(name="context")
def context_fixture(browser, platform) -> BrowserContext:
    """A fresh browser profile (no cookies) per test, pointed at the platform."""
    created = browser.new_context(
        base_url=platform.url, locale="fr-CA", viewport={"width": 1280, "height": 800}
    )
    created.set_default_timeout(15_000)
    try:
        yield created
    finally:
        created.close()


@pytest.fixture(name="page")
def page_fixture(context) -> Page:
    return context.new_page()


def pass_second_step(page: Page, email: str) -> None:
    """After « Se connecter »: a ministry account types its authenticator's code, as its
    owner would (``tests/support/two_factor.py`` computes it for the page's platform)."""
    from urllib.parse import urlsplit

    from playwright.sync_api import expect

    from tests.support.platform import RUNNING
    from tests.support.two_factor import code_for, needs_code

    if not needs_code(email):
        return
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérification en deux étapes")
    url = urlsplit(page.url)
    page.get_by_label("Code de vérification").fill(
        code_for(RUNNING[f"{url.scheme}://{url.netloc}"], email)
    )
    page.get_by_role("button", name="Vérifier").click()
