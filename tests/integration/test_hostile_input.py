"""Hostile input over the real platform (every service in its own process, one platform for
the module): markup and template syntax in free text, lying uploads and ZIP bombs, oversized
bodies, SQL metacharacters in every search and filter, CSRF on every form, a token of a
deleted user, schemathesis against ``/api/openapi.json`` for each role, and — last, over
everything the module did — no password, token, cookie, reset link or candidate name in any
process's log.

Each is refused (4xx with a French message, nothing changed) or rendered harmlessly (escaped
in HTML, literal in plain text and PDFs, never evaluated as a template).
"""

from __future__ import annotations

import copy
import inspect
import io
import json
import re
import time
from datetime import date

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from pypdf import PdfReader
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text

import gateway.web.app  # noqa: F401  (registers every route)
from gateway.web.framework import PUBLIC, REGISTRY
from rac_shared.actor import Role
from rac_shared.clock import clock
from rac_shared.events import CeracDesignated
from services.applications.testing import EXE, MINIMAL_PDF
from tests.integration.test_applications_flow import publish_call
from tests.integration.test_plans_flow import CONTENT, ESTIMATE
from tests.support.platform import DEMO_PASSWORD
from tests.support.polling import wait_until
from tests.unit.test_security_uploads import DOCX_BOMB, gib_of_zeros, small, zip_of

pytestmark = pytest.mark.integration

HOSTILE = '<script>alert("x")</script><b>gras</b> {{ 7*7777 }} {% raw %}r{% endraw %}'
ESCAPED = "&lt;script&gt;alert("
EVALUATED = "54439"  # what {{ 7*7777 }} would become if a template ever evaluated user text
CANDIDATES = ("Ophélie Zacharie-Brisebois", "Bartholomé Quenneville-Azoulay")
# Parses as a PDF, and a browser sniffing it would render the script.
POLYGLOT = MINIMAL_PDF.replace(
    b"endobj\n3 0 obj", b"endobj\n<html><script>alert(1)</script>\n3 0 obj"
)
SQL_VALUES = ("' OR 1=1 --", "%", "_", "\\", "%' OR '1'='1", "1; DROP TABLE users; --")

ADMIN = "admin@mes.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"
EVALUATOR = "evaluatrice@mes.demo.quebec"
LEVIS_RAC = "rac@cegeplevis.demo.quebec"
LEVIS_DG = "dg@cegeplevis.demo.quebec"
CMV = "fc@cmv.demo.quebec"
EMPLOYER = "rh@cisss.demo.quebec"
RESET_USER = "fp@csnavigateurs.demo.quebec"
BY_ROLE = {
    Role.MINISTRY_ADMIN: ADMIN,
    Role.MINISTRY_ANALYST: ANALYST,
    Role.MINISTRY_EVALUATOR: EVALUATOR,
    Role.DIRECTOR_GENERAL: LEVIS_DG,
    Role.DIRECTOR_OF_STUDIES: "etudes@cegeplevis.demo.quebec",
    Role.DIRECTOR_CONTINUING_EDUCATION: CMV,
    Role.DIRECTOR_VOCATIONAL_TRAINING: RESET_USER,
    Role.RAC_COORDINATOR: LEVIS_RAC,
    Role.EMPLOYER_REPRESENTATIVE: EMPLOYER,
}
HOSTILE_CERAC = 9301
ENDPOINTS = {spec.endpoint: spec for spec in REGISTRY}


class Who:
    """Just what ``RouteSpec.allows`` reads of an actor."""

    def __init__(self, role: Role):
        self.role = role


def fiscal_year(day: date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{start + 1}"


class World:
    """The module's users, and every secret handed out (the log test looks for them)."""

    def __init__(self, platform):
        self.platform = platform
        self.tokens: dict[str, str] = {}
        self.cookies: dict[str, str] = {}
        self.secrets: set[str] = {DEMO_PASSWORD}

    def token(self, email: str) -> str:
        if email not in self.tokens:
            self.tokens[email] = self.platform.token(email)
            self.secrets.add(self.tokens[email])
        return self.tokens[email]

    def api(self, method: str, path: str, who: str | None, expect: int | None = 200, **kw):
        response = self.platform.api(method, path, self.token(who) if who else None, **kw)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.text[:500]}"
        return response

    def browser(self, email: str) -> requests.Session:
        if email not in self.cookies:
            self.cookies[email] = self.platform.session_cookie(email)
            self.secrets.add(self.cookies[email])
        session = requests.Session()
        session.cookies.set("rac_session", self.cookies[email])
        return session

    def page(self, path: str, who: str, status: int = 200) -> requests.Response:
        response = self.browser(who).get(f"{self.platform.url}{path}", timeout=30)
        assert response.status_code == status, f"{path}: {response.status_code}"
        return response

    def csrf(self, email: str) -> str:
        html = self.page("/messages", email).text
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def world(platform) -> World:
    """A CERAC designated under a hostile name (as scoring's relay publishes the decision),
    of the Cégep de Lévis, two years ago: its reports are open."""
    world = World(platform)
    organisation = world.api("GET", "/api/me", LEVIS_RAC).json()["organisation"]["id"]
    year = fiscal_year(clock.today())
    previous = fiscal_year(date(clock.today().year - 1, clock.today().month, 1))
    platform.publish_event(
        CeracDesignated(
            cerac_id=HOSTILE_CERAC, evaluation_id=HOSTILE_CERAC, application_id=HOSTILE_CERAC,
            call_id=1, call_title=f"Appel {HOSTILE}", organisation_id=organisation,
            organisation_name=f"Cégep {HOSTILE}", reference="CERAC-HOSTILE-9301",
            education_order="collégial", mandate_parts=["offer", "quality", "development"],
            experimentation_years=[previous, year], decision_date=date(int(previous[:4]), 5, 31),
            total="80.00", below_threshold=False, decided_by_user_id=1,
        )
    )  # fmt: skip
    wait_until(
        lambda: [
            r
            for r in world.api("GET", "/api/reporting/reports", LEVIS_RAC).json()["items"]
            if r["cerac_id"] == HOSTILE_CERAC
        ],
        message="the hostile CERAC's reports were not opened",
    )
    return world


# -- helpers ---------------------------------------------------------------------------------


def assert_escaped(html: str, where: str) -> None:
    assert "<script>alert" not in html, f"{where}: raw <script>"
    assert "<b>gras</b>" not in html, f"{where}: raw markup"
    assert ESCAPED in html, f"{where}: the hostile text is not shown (escaped)"
    assert "{{ 7*7777 }}" in html, f"{where}: template syntax not shown literally"
    assert EVALUATED not in html, f"{where}: template syntax evaluated"


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def mails_mentioning(platform, needle: str, to: str, count: int = 1) -> list:
    def found():
        mails = [m for m in platform.mails_to(to) if needle in m["Subject"]]
        return mails if len(mails) >= count else None

    return wait_until(found, message=f"no mail « {needle} » to {to}")


def assert_mail_harmless(mail, where: str) -> None:
    html = mail.get_body(preferencelist=("html",)).get_content()
    plain = mail.get_body(preferencelist=("plain",)).get_content()
    assert_escaped(html, f"{where} (HTML part)")
    assert HOSTILE in plain, f"{where}: the plain-text part is not literal"
    assert EVALUATED not in plain and EVALUATED not in mail["Subject"]
    assert "\n" not in mail["Subject"]


# -- free text: pages, e-mails, PDFs ---------------------------------------------------------


SECTION = {
    "objectives": f"Objectifs {HOSTILE}",
    "narrative": f"Récit {HOSTILE}",
    "indicators": [{"label": f"Indicateur {HOSTILE}", "unit": "u", "target": "3", "achieved": "3"}],
}


def test_hostile_text_is_shown_literally_on_pages_in_mails_and_pdfs(world, platform):
    api = world.api
    # The organisation's name (carried by the designation event) on the network pages.
    for path in ("/reseau", f"/reseau/{HOSTILE_CERAC}"):
        assert_escaped(world.page(path, CMV).text, path)

    # A support request (object, programme, message) → the CERAC's e-mail and pages.
    api("POST", f"/api/network/ceracs/{HOSTILE_CERAC}/support-requests", CMV, json={
        "object": f"Objet {HOSTILE}", "program": f"Programme {HOSTILE}",
        "message": f"Message {HOSTILE}",
    })  # fmt: skip
    [mail] = mails_mentioning(platform, "Demande de soutien", LEVIS_RAC)
    assert_mail_harmless(mail, "support request e-mail")
    for who in (LEVIS_RAC, CMV):
        assert_escaped(world.page("/reseau/demandes", who).text, f"/reseau/demandes ({who})")

    # A development project (title, objectives, budget line) → ministry's e-mail, pages, PDF.
    today = clock.today().isoformat()
    project = api("POST", "/api/funding/projects", LEVIS_RAC, expect=201, json={
        "title": f"Titre {HOSTILE}", "mandate_part": "development",
        "objectives": f"Objectifs {HOSTILE}",
        "budget_lines": [{"label": f"Ligne {HOSTILE}", "amount": "1000.00"}],
        "period_start": today, "period_end": today,
    }).json()  # fmt: skip
    assert project["title"] == f"Titre {HOSTILE}"  # kept as typed
    [mail] = mails_mentioning(platform, "Projet de développement", ANALYST)
    assert_mail_harmless(mail, "project e-mail")
    for path in (f"/financement/projets/{project['id']}", f"/financement/ceracs/{HOSTILE_CERAC}"):
        assert_escaped(world.page(path, ADMIN).text, path)
    statement = world.page(f"/financement/ceracs/{HOSTILE_CERAC}/releve.pdf", ADMIN)
    text_ = pdf_text(statement.content)
    assert '<script>alert("x")</script>' in text_ and "{{ 7*7777 }}" in text_, text_[:500]
    assert EVALUATED not in text_

    # The yearly report's narrative, objectives and indicators → analyst's e-mail, pages.
    report = next(
        r
        for r in api("GET", "/api/reporting/reports", LEVIS_RAC).json()["items"]
        if r["cerac_id"] == HOSTILE_CERAC
    )
    offer = {**SECTION, "indicators": SECTION["indicators"] + [
        {"source": "support_received", "target": "5"},
        {"source": "support_answered", "target": "5"},
    ]}  # fmt: skip
    sections = {"offer": offer, "quality": SECTION, "development": SECTION}
    api("PUT", f"/api/reporting/reports/{report['id']}", LEVIS_RAC, json={"sections": sections})
    api("POST", f"/api/reporting/reports/{report['id']}/submit", LEVIS_RAC)
    [mail] = mails_mentioning(platform, "Reddition de comptes déposée", ANALYST)
    assert_mail_harmless(mail, "report e-mail")
    for path in (f"/redditions/{report['id']}", "/redditions", "/tableau-de-bord"):
        assert_escaped(world.page(path, ANALYST).text, path)

    # An application's answers (a call published for the test) → the application's pages.
    call = publish_call(lambda m, p, who, **kw: api(m, p, who, expect=None, **kw), "Appel test")
    application = api("POST", f"/api/calls/{call['id']}/applications", LEVIS_RAC).json()
    section = next(s for s in call["sections"] if any(q["kind"] == "text" for q in s["questions"]))
    answers = {str(q["id"]): f"Réponse {HOSTILE}" for q in section["questions"]
               if q["kind"] == "text"}  # fmt: skip
    path = f"/api/applications/{application['id']}/sections/{section['id']}"
    api("PUT", path, LEVIS_RAC, json={"answers": answers})
    for path in (
        f"/demandes/{application['id']}",
        f"/demandes/{application['id']}/sections/{section['id']}",
    ):
        assert_escaped(world.page(path, LEVIS_RAC).text, path)


def test_plan_texts_refuse_markup_and_candidate_names_reach_the_pdf_literally(world):
    api = world.api
    employer = api("GET", "/api/me", EMPLOYER).json()["organisation"]["id"]
    plan = api("POST", "/api/plans", LEVIS_RAC, json={
        "employer_id": employer, "program_kind": "AEC", "program_code": "JEE.0K",
        "program_title": "Techniques d'éducation à l'enfance", "target_jobs": "le personnel",
    }).json()  # fmt: skip
    content = copy.deepcopy(CONTENT)
    for candidate, name in zip(content["candidates"], CANDIDATES, strict=True):
        candidate["full_name"] = name
    api("PATCH", f"/api/plans/{plan['id']}", LEVIS_RAC, json=content)
    before = api("GET", f"/api/plans/{plan['id']}", LEVIS_RAC).json()["content"]
    for field_ in ("full_name", "job_title"):
        hostile = copy.deepcopy(content)
        hostile["candidates"][0][field_] = HOSTILE
        refused = api("PATCH", f"/api/plans/{plan['id']}", LEVIS_RAC, expect=422, json=hostile)
        assert "balises HTML" in refused.json()["error"]["message"]
    for title in (HOSTILE, "{{ 7*7777 }}", "{% raw %}x"):
        refused = api("POST", "/api/plans", LEVIS_RAC, expect=422, json={
            "employer_id": employer, "program_kind": "AEC", "program_code": "JEE.0K",
            "program_title": title, "target_jobs": "le personnel",
        })  # fmt: skip
    assert api("GET", f"/api/plans/{plan['id']}", LEVIS_RAC).json()["content"] == before
    api("PUT", f"/api/plans/{plan['id']}/estimate", LEVIS_RAC, json=ESTIMATE)
    api("POST", f"/api/plans/{plan['id']}/issue", LEVIS_RAC)
    document = pdf_text(api("GET", f"/api/plans/{plan['id']}/pdf", LEVIS_RAC).content)
    assert all(name in document for name in CANDIDATES)


# -- uploads and bodies ----------------------------------------------------------------------


def test_uploads_that_lie_zip_bombs_and_oversized_bodies_are_refused_or_harmless(world, platform):
    api = world.api
    call = next(
        c for c in api("GET", "/api/calls", CMV).json()["items"] if c["title"] == "Appel test"
    )
    application = api("POST", f"/api/calls/{call['id']}/applications", CMV).json()
    url = f"/api/applications/{application['id']}/attachments"

    def upload(name: str, content: bytes, content_type: str, expect: int):
        return api("POST", url, CMV, expect=expect, data={"kind": "support_letter"},
                   files={"file": (name, content, content_type)})  # fmt: skip

    def attachments() -> list:
        return api("GET", f"/api/applications/{application['id']}", CMV).json()["attachments"]

    before = attachments()
    lying_odt = zip_of(gib_of_zeros("mimetype", declared=39), small("content.xml", b"<c/>"))
    for name, content, content_type in (
        ("lettre.pdf", EXE, "application/pdf"),  # an executable renamed .pdf
        ("lettre.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
        ("lettre.odt", lying_odt, "application/vnd.oasis.opendocument.text"),  # ODT bomb
        ("lettre.docx", MINIMAL_PDF, "application/pdf"),  # a PDF under another extension
        ("lettre.pdf", POLYGLOT, "application/pdf"),  # a PDF that is also a web page
        ("annexe.docx", DOCX_BOMB, "application/octet-stream"),  # inflates to 1 GiB
    ):
        started = time.monotonic()
        refused = upload(name, content, content_type, 422)
        assert time.monotonic() - started < 5, f"{name}: slow refusal"
        assert refused.json()["error"]["details"].get("fichier"), refused.text
    assert attachments() == before

    # A PDF sent as text/html: typed by its content, served back as a PDF attachment.
    stored = upload("lettre.pdf", MINIMAL_PDF, "text/html", 200).json()
    assert stored["mime"] == "application/pdf"
    served = api("GET", f"{url}/{stored['id']}", CMV)
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.content == MINIMAL_PDF

    assert requests.get(f"{platform.url}/readyz", timeout=10).status_code == 200

    # Bodies over the gateway's limit (12 Mo): 413 in French, on the API and on a form.
    too_big = b"%PDF-1.4\n" + b"0" * (13 * 1024 * 1024)
    response = upload("gros.pdf", too_big, "application/pdf", 413)
    assert response.json()["error"]["message"] == "Le contenu envoyé est trop volumineux."
    session = world.browser(CMV)
    page = session.post(
        f"{platform.url}/demandes/{application['id']}/pieces",
        data={"csrf_token": world.csrf(CMV), "kind": "support_letter"},
        files={"fichier": ("gros.pdf", too_big, "application/pdf")},
        timeout=60,
    )
    assert page.status_code == 413 and "trop volumineux" in page.text
    assert len(attachments()) == len(before) + 1


# -- SQL metacharacters in every search and filter -------------------------------------------

PARAM = re.compile(r'(?:args\.get\(|_arg\(ctx, )"(\w+)"|"(\w+)"')


def query_parameters(spec) -> set[str]:
    """The query parameters a route reads: its query model's (``route(query=…)``), named in
    its handler, or in a helper of the same module (two calls deep) that reads
    ``request.args`` (every string literal of it)."""
    source = inspect.getsource(spec.handler)
    module = inspect.getmodule(spec.handler)
    names = {m.group(1) for m in PARAM.finditer(source) if m.group(1)}
    if spec.query is not None and (not spec.api or spec.response is not None):
        names |= set(spec.query.model_fields)  # (an API file, not JSON, has no rows to count)
    pending, seen = [source], set()
    for _ in range(2):
        calls = {h for text_ in pending for h in re.findall(r"\b(_\w+)\(", text_)} - seen
        seen |= calls
        pending = []
        for helper in calls:
            function = getattr(module, helper, None)
            if inspect.isfunction(function):
                helper_source = inspect.getsource(function)
                pending.append(helper_source)
                if "request.args" in helper_source:
                    names |= {a or b for a, b in PARAM.findall(helper_source)}
    return names


def searchable_routes(call_id: int):
    """GET routes that read query parameters, with their URL (a call's applications list
    for routes addressed by ``call_id``)."""
    routes = []
    for spec in REGISTRY:
        if "GET" not in spec.methods or spec.access == PUBLIC:
            continue
        path = spec.path.replace("<int:call_id>", str(call_id))
        params = query_parameters(spec)
        if params and "<" not in path:
            routes.append((spec, path, sorted(params)))
    return routes


def rows(payload) -> int:
    """How many records a JSON answer holds: the lengths of its lists, one level down."""
    if isinstance(payload, list):
        return len(payload)
    if isinstance(payload, dict):
        return sum(
            len(v) if isinstance(v, list) else rows(v) if isinstance(v, dict) else 0
            for v in payload.values()
        )
    return 0


def test_sql_metacharacters_in_searches_and_filters_change_nothing_and_match_nothing(world):
    call = next(c for c in world.api("GET", "/api/calls", ADMIN).json()["items"]
                if c["title"] == "Appel test")  # fmt: skip
    routes = searchable_routes(call["id"])
    endpoints = {spec.endpoint for spec, _, _ in routes}
    assert {"network_page", "api_network", "invoices_page", "api_invoices", "api_plans",
            "plans_page", "api_reports", "call_applications_page",
            "api_call_applications"} <= endpoints, endpoints  # fmt: skip
    failures = []
    for spec, path, params in routes:
        role = next(
            r for r in (Role.MINISTRY_ADMIN, Role.RAC_COORDINATOR, Role.EMPLOYER_REPRESENTATIVE,
                        Role.MINISTRY_ANALYST, Role.MINISTRY_EVALUATOR, Role.DIRECTOR_GENERAL)
            if spec.allows(Who(r))
        )  # fmt: skip
        who = BY_ROLE[role]
        session = None if spec.api else world.browser(who)
        baseline = None
        if spec.api:  # what the route answers without the filter (a 404 when it has nothing,
            # as a committee's assignment proposal for a call with no committee yet)
            unfiltered = world.api("GET", path, who, expect=None)
            assert unfiltered.status_code in (200, 404), f"{path}: {unfiltered.status_code}"
            baseline = unfiltered.json() if unfiltered.status_code == 200 else None
        for name in params:
            for value in SQL_VALUES:
                if spec.api:
                    response = world.api("GET", path, who, expect=None, params={name: value})
                else:
                    response = session.get(
                        f"{world.platform.url}{path}", params={name: value}, timeout=30
                    )
                where = f"{path}?{name}={value!r}"
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.status_code}")
                elif spec.api and response.status_code == 200 and baseline is not None:
                    if rows(response.json()) > rows(baseline):
                        failures.append(f"{where}: more rows than without the filter")
                elif response.status_code not in (200, 303, 400, 404, 422):
                    failures.append(f"{where}: {response.status_code}")
    assert not failures, "\n".join(failures)

    # The free-text search matches the text, never everything.
    everything = world.api("GET", "/api/network/ceracs", CMV).json()["ceracs"]["items"]
    assert len(everything) >= 3
    for value in SQL_VALUES:
        found = world.api("GET", "/api/network/ceracs", CMV, params={"q": value}).json()
        for cerac in found["ceracs"]["items"]:
            assert value.lower() in json.dumps(cerac, ensure_ascii=False).lower(), value
        assert len(found["ceracs"]["items"]) < len(everything), value
    assert world.api("GET", "/api/network/ceracs", CMV, params={"q": "Sherbrooke"}).json()[
        "ceracs"
    ]["items"], "control: a real search finds its CERAC"


# -- CSRF on every form, over the platform ---------------------------------------------------


DIGESTED_COLUMNS = {
    "notifications.notifications": "concat_ws(',', t.id, t.event_id, t.recipient, t.channel)",
}


def database_digest(platform) -> dict[str, str]:
    """A digest of every table of every service (the audit trail aside, its chain's head
    included: it records refusals)."""
    digests = {}
    for service in platform.database_urls:
        engine = platform.engine(service)
        with engine.connect() as connection:
            tables = connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT IN ('audit_log', 'audit_chain_head', 'alembic_version') "
                    "ORDER BY tablename"
                )
            ).scalars()
            for table in list(tables):
                # E-mails of earlier tests are still being delivered in the background: their
                # delivery state may change, but no message may appear.
                row = DIGESTED_COLUMNS.get(f"{service}.{table}", "t::text")
                digests[f"{service}.{table}"] = connection.execute(
                    text(
                        f"SELECT md5(COALESCE(string_agg({row}, '|' ORDER BY {row}), '')) "
                        f'FROM "{table}" t'
                    )
                ).scalar()
        engine.dispose()
    return digests


def settled_digest(platform) -> dict[str, str]:
    """The digest once the platform is idle (e-mails of earlier tests may still be going)."""
    previous = database_digest(platform)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(1)
        current = database_digest(platform)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the platform never settled")


def concrete(path: str) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "jeton", path)


def test_every_form_refuses_a_missing_or_wrong_csrf_token_and_changes_nothing(world, platform):
    # The one-click unsubscribe POST takes no CSRF token (RFC 8058; the only such route, see
    # tests/unit/test_security_csrf.py): its signed token is refused in test_email_replies.py.
    forms = [s for s in REGISTRY if "POST" in s.methods and not s.api and s.csrf]
    assert len(forms) > 50
    csrf = {email: world.csrf(email) for email in set(BY_ROLE.values())}
    anonymous = requests.Session()
    anonymous.get(f"{platform.url}/connexion", timeout=10)
    before = settled_digest(platform)
    failures = []
    for spec in forms:
        if spec.access == PUBLIC:
            session, someone_else = anonymous, csrf[CMV]
        else:
            email = BY_ROLE[next(r for r in Role if spec.allows(Who(r)))]
            session = world.browser(email)
            someone_else = csrf[LEVIS_DG if email != LEVIS_DG else CMV]
        for data in ({"motif": "x"}, {"csrf_token": "0" * 64}, {"csrf_token": someone_else}):
            response = session.post(
                f"{platform.url}{concrete(spec.path)}", data=data, allow_redirects=False, timeout=30
            )
            if response.status_code != 403 or "Le formulaire a expiré" not in response.text:
                failures.append(f"POST {spec.path} with {data}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert database_digest(platform) == before


# -- a token of a deleted user ---------------------------------------------------------------


def test_a_token_of_a_deleted_user_is_refused(world, platform):
    engine = platform.engine("gateway")
    email = "ephemere@cegeplevis.demo.quebec"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (email, full_name, title, role, organisation_id, "
                "password_hash, active, session_version, created_at) "
                "SELECT :e, 'Compte éphémère', title, role, organisation_id, password_hash, "
                "true, 1, created_at FROM users WHERE email = :model"
            ),
            {"e": email, "model": LEVIS_RAC},
        )
    token = world.token(email)
    cookie = platform.session_cookie(email)
    world.secrets.add(cookie)
    assert world.api("GET", "/api/me", email).json()["email"] == email  # control
    with engine.begin() as connection:
        user_id = connection.execute(
            text("SELECT id FROM users WHERE email = :e"), {"e": email}
        ).scalar()
        connection.execute(text("DELETE FROM audit_log WHERE user_id = :i"), {"i": user_id})
        connection.execute(text("DELETE FROM users WHERE id = :i"), {"i": user_id})
    engine.dispose()
    # Every gateway process drops its cached session users on PostgreSQL's notice.
    wait_until(
        lambda: platform.api("GET", "/api/me", token).status_code == 401,
        timeout=5,
        interval=0.05,
        message="the deleted user was still accepted",
    )
    refused = platform.api("GET", "/api/me", token)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Session révoquée ou compte désactivé."
    page = requests.get(
        f"{platform.url}/", cookies={"rac_session": cookie}, allow_redirects=False, timeout=10
    )
    assert page.status_code == 303 and page.headers["Location"] == "/connexion?suite=/"


# -- schemathesis ----------------------------------------------------------------------------

SCHEMATHESIS_ROLES = {
    "ministry_admin": Role.MINISTRY_ADMIN,
    "ministry_analyst": Role.MINISTRY_ANALYST,
    "ministry_evaluator": Role.MINISTRY_EVALUATOR,
    "institution_coordinator": Role.RAC_COORDINATOR,
    "institution_director": Role.DIRECTOR_GENERAL,
    "employer_representative": Role.EMPLOYER_REPRESENTATIVE,
}
# A few state-changing operations, fuzzed too (their bodies are small and self-contained),
# and the multipart uploads (their bodies declared, files included).
FUZZED_POSTS = {"api_token", "api_password_reset", "api_mark_read", "api_preview_estimate"}
MULTIPART_UPLOADS = {"api_application_upload", "api_call_guide_upload", "api_report_upload"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(world, platform):
    document = requests.get(f"{platform.url}/api/openapi.json", timeout=10).json()
    return schemathesis.openapi.from_dict(document)


@pytest.mark.parametrize("role", sorted(SCHEMATHESIS_ROLES))
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(
    world, platform, api_schema, role
):
    email = BY_ROLE[SCHEMATHESIS_ROLES[role]]
    headers = {"Authorization": f"Bearer {world.token(email)}"}
    http = requests.Session()
    failures = []
    calls = 0
    uploads: set[str] = set()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        spec = ENDPOINTS[operation.definition.raw["operationId"]]
        if operation.method.upper() != "GET" and spec.endpoint not in (
            FUZZED_POSTS | MULTIPART_UPLOADS
        ):
            continue
        if not spec.allows(Who(SCHEMATHESIS_ROLES[role])):
            continue  # the matrix checks the 403s; here, the answers of allowed calls

        @settings(
            max_examples=3,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            nonlocal calls
            calls += 1
            if spec.endpoint in MULTIPART_UPLOADS:  # noqa: B023 - called in this iteration
                uploads.add(spec.endpoint)  # noqa: B023
                assert case.media_type == "multipart/form-data", case.media_type
            response = case.call(base_url=platform.url, session=http, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except BaseException as exc:  # noqa: BLE001 - collected, reported together
            if isinstance(exc, KeyboardInterrupt):
                raise
            first = [line for line in str(exc).splitlines() if line.strip()][:8]
            failures.append(f"{operation.method.upper()} {operation.path}: " + " / ".join(first))
    assert calls > 20
    assert not failures, "\n".join(failures)
    allowed = {e for e in MULTIPART_UPLOADS if ENDPOINTS[e].allows(Who(SCHEMATHESIS_ROLES[role]))}
    assert uploads == allowed, f"multipart operations not exercised: {allowed - uploads}"


# -- secrets and personal data never in logs (keep last: it reads what the module did) ---------


def all_logs(platform) -> dict[str, str]:
    """What every process of the platform wrote (stdout and stderr), by file."""
    return {
        path.name: path.read_text(errors="replace")
        for path in sorted(platform.workdir.glob("*.log"))
    }


def test_no_password_token_reset_link_or_candidate_name_reaches_any_log(world, platform):
    # A login by form and by API, a wrong password, API calls with the token...
    session = world.browser(RESET_USER)
    assert session.get(f"{platform.url}/", timeout=30).status_code == 200
    token = world.token(RESET_USER)
    assert world.api("GET", "/api/me", RESET_USER).status_code == 200
    wrong = requests.post(
        f"{platform.url}/api/auth/token",
        json={"email": RESET_USER, "password": f"{DEMO_PASSWORD}-faux"},
        timeout=10,
    )
    assert wrong.status_code == 401
    world.secrets.add(f"{DEMO_PASSWORD}-faux")
    # ...a password reset: asked, the link opened, a refused and a mistyped attempt, done.
    world.api("POST", "/api/auth/password-reset", None, expect=202, json={"email": RESET_USER})
    [mail] = mails_mentioning(platform, "Réinitialisation", RESET_USER)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    reset = re.search(r"/mot-de-passe/reinitialiser/([\w-]+)", body).group(1)
    world.secrets.add(reset)
    browser = requests.Session()
    form = browser.get(f"{platform.url}/mot-de-passe/reinitialiser/{reset}", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    url = f"{platform.url}/mot-de-passe/reinitialiser/{reset}"
    new_password = "nouveau-mot-de-passe-secret-2026"
    world.secrets.add(new_password)
    assert browser.post(url, data={"password": new_password}, timeout=10).status_code == 403
    mistyped = browser.post(
        url,
        data={"csrf_token": csrf, "password": new_password, "confirmation": "autre-chose-123"},
        timeout=10,
    )
    assert mistyped.status_code == 422
    done = browser.post(
        url,
        data={"csrf_token": csrf, "password": new_password, "confirmation": new_password},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 303
    assert platform.api("GET", "/api/me", token).status_code == 401  # the reset revoked it
    assert world.platform.token(RESET_USER, new_password)
    time.sleep(1)  # let every process flush what it logs about the last requests

    logs = all_logs(platform)
    assert {"web.log", "services.log"} <= set(logs)  # the gateway and the services
    assert sum(len(content) for content in logs.values()) > 1000, "nothing was logged at all?"
    needles = {
        **{f"secret {s[:6]}…": s for s in world.secrets},
        **{f"candidate {n}": n for n in CANDIDATES},
        **{f"candidate e-mail {c['email']}": c["email"] for c in CONTENT["candidates"]},
    }
    leaks = [
        f"{label} in {name}"
        for name, content in logs.items()
        for label, needle in needles.items()
        if needle in content
    ]
    assert not leaks, "\n".join(leaks)
    # The audit log records the requests, not the secrets they carry.
    with platform.engine("gateway").connect() as connection:
        paths = (
            connection.execute(text("SELECT path FROM audit_log WHERE kind = 'request'"))
            .scalars()
            .all()
        )
    assert any(p.startswith("/mot-de-passe/reinitialiser/") for p in paths)
    assert not [p for p in paths if reset in p]
