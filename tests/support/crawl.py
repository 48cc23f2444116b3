"""The crawler: a role walks the site from its home page, following the links it is shown.

Shared by the integration crawl (status, leaks, RPCs per page) and the browser's reflow and
accessibility walk (tests/browser/test_reflow_browser.py), so both visit the same pages.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import urldefrag, urlparse

import requests

ROLES = (
    "admin@mes.demo.quebec",
    "analyste@mes.demo.quebec",
    "evaluatrice@mes.demo.quebec",
    "rac@cegeplevis.demo.quebec",
    "dg@cmv.demo.quebec",
    "rac@csnavigateurs.demo.quebec",
    "direction@boulangerie.demo.quebec",
    "rh@cisss.demo.quebec",
)
PAGES_PER_ROLE = 45
SAME_SHAPE = 2  # pages of one shape visited (e.g. /plans/{id}) per role
SKIPPED = re.compile(r"^/(static/|deconnexion|favicon\.ico)|/pdf$|\.pdf$")
LINK = re.compile(r'href="([^"]+)"')
LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg2")


def shape(path: str) -> str:
    return re.sub(r"/\d+", "/{id}", path)


def crawl(
    platform,
    email: str,
    pages: int = PAGES_PER_ROLE,
    same_shape: int = SAME_SHAPE,
    html_only: bool = False,
) -> tuple[list[str], list[str]]:
    """The pages ``email`` reaches (at most ``pages``, ``same_shape`` of each shape), and
    the problems met on the way; ``html_only``: only the pages that answered 200 in HTML
    (what a browser shows, not a redirect, a download or a refusal)."""
    session = requests.Session()
    session.cookies.set("rac_session", platform.session_cookie(email))
    seen, shapes, problems, html = set(), Counter(), [], set()
    queue = deque(["/"])
    while queue and len(seen) < pages:
        path = queue.popleft()
        if path in seen or shapes[shape(path)] >= same_shape:
            continue
        seen.add(path)
        shapes[shape(path)] += 1
        response = session.get(f"{platform.url}{path}", allow_redirects=False, timeout=30)
        if response.status_code >= 500 or any(leak in response.text for leak in LEAKS):
            problems.append(f"{email} GET {path} → {response.status_code}")
            continue
        for call in filter(None, response.headers.get("X-RAC-RPC", "").split(", ")):
            service, count = call.split("=")
            if int(count) > 1:
                problems.append(f"{email} GET {path}: {count} RPCs to {service}")
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        if response.status_code == 200:
            html.add(path)
        for href in LINK.findall(response.text):
            link = urldefrag(href.replace("&amp;", "&"))[0]
            parsed = urlparse(link)
            if parsed.scheme or parsed.netloc or not link.startswith("/"):
                continue
            if not SKIPPED.search(parsed.path) and link not in seen:
                queue.append(link)
    return sorted(html if html_only else seen), problems
