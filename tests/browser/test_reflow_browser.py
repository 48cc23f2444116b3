"""Every page each role reaches, in Chromium, on a phone and at 200 % zoom: no horizontal
scrolling of the page (WCAG 1.4.10, Reflow) and no serious or critical axe-core violation.

The pages are those the integration crawler reaches (tests/support/crawl.py), one of each
shape per role. Each role gets two browser contexts, reused from page to page:

- a phone, 360×740 CSS px: the page must not scroll sideways, and axe-core runs there;
- 1280×800 at 200 % zoom: for layout, browser zoom is a 640×400 CSS px viewport drawn at a
  device scale of 2, which is how the context is made; the page must not scroll sideways.

Wide tables may scroll inside their own labelled region (``.table-scroll``), never the page.
Screenshots (full page) of the first page of each shape, at both sizes, go to
``tests/artefacts/reflow/`` for a person to look at, with each role's home page at 1280×800;
the others are only measured, to keep the run short. A page's Content-Security-Policy must
block nothing.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.fixtures_browser import browser_fixture  # noqa: F401 - fixture
from tests.support.axe import BLOCKING, axe_script
from tests.support.crawl import ROLES, crawl, shape

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1}
ZOOMED = {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# What sticks out past the right edge: named in the failure, to find the rule to fix.
CULPRITS = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
          && !(e.parentElement && e.parentElement.closest('.table-scroll')))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
          + ' ' + Math.round(e.getBoundingClientRect().right))"""
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""
_shot_shapes: set[tuple[str, str]] = set()


def _context(browser, platform, email: str, options: dict) -> BrowserContext:
    context = browser.new_context(base_url=platform.url, locale="fr-CA", **options)
    context.set_default_timeout(30_000)
    context.add_cookies(
        [{"name": "rac_session", "value": platform.session_cookie(email), "url": platform.url}]
    )
    return context


def _file_name(size: str, email: str, path: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "accueil"
    return f"{size}-{email.split('@')[0]}-{email.split('@')[1].split('.')[0]}-{slug[:60]}.png"


def _walk(context, size: str, email: str, pages: list[str], artefacts, axe: bool) -> list[str]:
    problems: list[str] = []
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    if axe:
        page.add_init_script(path=str(axe_script()))  # runs outside the page's CSP
    for path in pages:
        page.goto(path)
        overflow = page.evaluate(OVERFLOW)
        if overflow > 0:
            problems.append(f"{size} {email} {path}: {overflow}px wider, {page.evaluate(CULPRITS)}")
        if axe:
            for violation in page.evaluate(AXE_RUN):
                if violation["impact"] in BLOCKING:
                    problems.append(f"{size} {email} {path}: axe {violation}")
        if (size, shape(path)) not in _shot_shapes:
            _shot_shapes.add((size, shape(path)))
            shot = artefacts / "reflow" / _file_name(size, email, path)
            page.screenshot(path=shot, full_page=True)
        if blocked:
            problems.append(f"{size} {email} {path}: CSP blocked {blocked[:2]}")
            blocked.clear()
    page.close()
    return problems


@pytest.mark.parametrize("email", ROLES)
def test_every_page_reflows_on_a_phone_and_at_200_percent_and_passes_axe(
    browser, platform, email, artefacts
):
    (artefacts / "reflow").mkdir(exist_ok=True)
    pages, _ = crawl(platform, email, same_shape=1, html_only=True)
    assert len(pages) >= 5, f"{email} reached too few pages: {pages}"
    problems = []
    for size, options, axe in (("360", PHONE, True), ("1280-zoom200", ZOOMED, False)):
        context = _context(browser, platform, email, options)
        try:
            problems += _walk(context, size, email, pages, artefacts, axe)
        finally:
            context.close()
    # For a person to look at: the home page on a desktop screen (the menu in one band).
    context = _context(browser, platform, email, DESKTOP)
    try:
        page = context.new_page()
        page.goto("/")
        page.screenshot(path=artefacts / "reflow" / _file_name("1280", email, "/"))
    finally:
        context.close()
    assert not problems, "\n".join(problems)
