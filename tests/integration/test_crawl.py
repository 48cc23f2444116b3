"""Every role walks the site from its home page, following the links it is shown.

Over the demo data on the real platform: no page fails (5xx) or leaks a stack trace, and no
page asks a service more than once (the gateway reports the RPCs a request made, per service,
in ``X-RAC-RPC`` outside production): a page's cost stays one round trip per service.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from urllib.parse import urldefrag, urlparse

import pytest
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
SKIPPED = re.compile(r"^/(static/|deconnexion)|/pdf$|\.pdf$")
LINK = re.compile(r'href="([^"]+)"')
LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg2")


def shape(path: str) -> str:
    return re.sub(r"/\d+", "/{id}", path)


def crawl(platform, email: str) -> tuple[list[str], list[str]]:
    session = requests.Session()
    session.cookies.set("rac_session", platform.session_cookie(email))
    seen, shapes, problems = set(), Counter(), []
    queue = deque(["/"])
    while queue and len(seen) < PAGES_PER_ROLE:
        path = queue.popleft()
        if path in seen or shapes[shape(path)] >= SAME_SHAPE:
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
        for href in LINK.findall(response.text):
            link = urldefrag(href.replace("&amp;", "&"))[0]
            parsed = urlparse(link)
            if parsed.scheme or parsed.netloc or not link.startswith("/"):
                continue
            if not SKIPPED.search(parsed.path) and link not in seen:
                queue.append(link)
    return sorted(seen), problems


@pytest.mark.parametrize("email", ROLES)
def test_every_page_a_role_can_reach_answers_with_at_most_one_rpc_per_service(platform, email):
    visited, problems = crawl(platform, email)
    assert len(visited) >= 5, f"{email} reached too few pages: {visited}"
    assert not problems, "\n".join(problems)
