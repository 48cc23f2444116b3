"""Who may call what: every route of the gateway × every role × anonymous × own/other tenant.

The table below is keyed by (endpoint, method) and must cover exactly the route registry
(checked when the module is collected): a route added without an expectation, or an
expectation left behind by a removed route, fails the suite before any request is sent.

API routes are called with ``Authorization: Bearer``; pages with the session cookie that the
``/connexion`` form sets. Anonymous on a protected page → 303 to ``/connexion?suite=…``,
on the API → 401; a role that is not allowed → 403; another tenant's organisation → 404
(the ministry sees every organisation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
import requests
from werkzeug.routing import Map, Rule

import gateway.web.app  # noqa: F401  (registers every route)
from gateway.web.framework import ERROR_CODES, REGISTRY
from gateway.web.openapi import openapi_document
from rac_shared.actor import MINISTRY_ROLES, Role
from tests.integration.matrix_applications import applications_rows
from tests.integration.matrix_audit import audit_rows
from tests.integration.matrix_billing import billing_rows
from tests.integration.matrix_calendars import calendars_rows
from tests.integration.matrix_dashboard import dashboard_rows
from tests.integration.matrix_funding import funding_rows
from tests.integration.matrix_plans import plans_rows
from tests.integration.matrix_reporting import reporting_rows
from tests.integration.matrix_scoring import scoring_rows
from tests.integration.matrix_security import security_rows
from tests.support.platform import DEMO_PASSWORD

ALL = frozenset(Role)
# One demo user per role, from several organisations, so that "own" and "other" both exist.
ROLE_USERS = {
    Role.MINISTRY_ADMIN: "admin@mes.demo.quebec",
    Role.MINISTRY_ANALYST: "analyste@mes.demo.quebec",
    Role.MINISTRY_EVALUATOR: "evaluatrice@mes.demo.quebec",
    Role.DIRECTOR_GENERAL: "dg@cegeplevis.demo.quebec",
    Role.DIRECTOR_OF_STUDIES: "etudes@cegeplevis.demo.quebec",
    Role.DIRECTOR_CONTINUING_EDUCATION: "fc@cmv.demo.quebec",
    Role.DIRECTOR_VOCATIONAL_TRAINING: "fp@csnavigateurs.demo.quebec",
    Role.RAC_COORDINATOR: "rac@csnavigateurs.demo.quebec",
    Role.EMPLOYER_REPRESENTATIVE: "rh@cisss.demo.quebec",
}
# Whose organisation is "the other tenant": the first of these that is not one's own.
OTHER_TENANT_FROM = (Role.DIRECTOR_GENERAL, Role.DIRECTOR_CONTINUING_EDUCATION)
MISSING_MESSAGE_ID = 987654
BOGUS_RESET_TOKEN = "jeton-inexistant-0123456789"
NOBODY = "personne@nulle-part.quebec"

LOGIN = "login"  # sentinel outcome: 303 to /connexion?suite=<the requested path>


@dataclass(frozen=True)
class Outcome:
    status: int
    location: str | None = None  # expected Location header (exact) for redirects


OK = Outcome(200)


@dataclass(frozen=True)
class Row:
    """What one route answers: anonymous, allowed roles, other roles (403), other tenant."""

    path: str  # with {org}, {missing}, {token} placeholders
    allowed: frozenset = ALL
    granted: Outcome = OK
    anonymous: Outcome | str = LOGIN  # LOGIN means 303 to the login page (401 on the API)
    other_tenant: Outcome | None = None  # tenant routes: what a non-ministry role gets
    ministry_granted: Outcome | None = None  # when the ministry's roles (second factor in
    # force, the demo's apps enrolled) get something else than ``granted``
    form: dict = field(default_factory=dict)  # page POST fields (csrf_token added)
    json_body: str | dict | None = None  # API body: "credentials" | "nobody" | a JSON object


# Who may set the article of an organisation's name (gateway.directory.ARTICLE_EDITORS).
ARTICLE_EDITORS = frozenset(
    {Role.MINISTRY_ADMIN, Role.DIRECTOR_GENERAL, Role.EMPLOYER_REPRESENTATIVE}
)

EXPECTATIONS: dict[tuple[str, str], Row] = {
    # -- JSON API -------------------------------------------------------------------------
    ("api_token", "POST"): Row("/api/auth/token", anonymous=OK, json_body="credentials"),
    ("api_password_reset", "POST"): Row(
        "/api/auth/password-reset", granted=Outcome(202), anonymous=Outcome(202), json_body="nobody"
    ),
    ("api_me", "GET"): Row("/api/me"),
    ("api_home", "GET"): Row("/api/home"),
    ("api_organisations", "GET"): Row("/api/organisations"),
    ("api_organisation", "GET"): Row("/api/organisations/{org}", other_tenant=Outcome(404)),
    ("api_messages", "GET"): Row("/api/messages"),
    # A message that does not exist: 404 for anyone signed in (and nothing is marked).
    ("api_mark_read", "POST"): Row("/api/messages/{missing}/read", granted=Outcome(404)),
    ("api_openapi", "GET"): Row("/api/openapi.json", anonymous=OK),
    ("api_preferences", "GET"): Row("/api/messages/preferences"),
    ("api_set_preferences", "PUT"): Row(
        "/api/messages/preferences", json_body={"optional_reminders": True}
    ),
    # -- pages ----------------------------------------------------------------------------
    ("login_form", "GET"): Row("/connexion", granted=Outcome(303, "/"), anonymous=OK),
    # The ministry's accounts (the anonymous row signs the administrator in) go on to the
    # second step.
    ("login", "POST"): Row(
        "/connexion",
        granted=Outcome(303, "/"),
        ministry_granted=Outcome(303, "/connexion/verification?suite=/"),
        anonymous=Outcome(303, "/connexion/verification?suite=/"),
        form={"email": "credentials"},
    ),
    ("logout", "POST"): Row("/deconnexion", granted=Outcome(303, "/connexion?fait=deconnecte")),
    ("home", "GET"): Row("/"),
    ("password_forgotten_form", "GET"): Row("/mot-de-passe/oubli", anonymous=OK),
    ("password_forgotten", "POST"): Row(
        "/mot-de-passe/oubli", anonymous=OK, form={"email": NOBODY}
    ),
    ("password_reset_form", "GET"): Row("/mot-de-passe/reinitialiser/{token}", anonymous=OK),
    ("password_reset", "POST"): Row(
        "/mot-de-passe/reinitialiser/{token}",
        granted=Outcome(422),
        anonymous=Outcome(422),
        form={
            "password": "un-mot-de-passe-assez-long",
            "confirmation": "un-mot-de-passe-assez-long",
        },
    ),
    ("organisations_page", "GET"): Row("/organisations", allowed=MINISTRY_ROLES),
    ("organisation_page", "GET"): Row("/organisations/{org}", other_tenant=Outcome(404)),
    # Posted without a choice: refused (422) and re-rendered, nothing changes.
    ("organisation_article", "POST"): Row(
        "/organisations/{org}/article",
        allowed=ARTICLE_EDITORS,
        granted=Outcome(422),
        other_tenant=Outcome(404),
    ),
    ("inbox_page", "GET"): Row("/messages"),
    ("mark_message_read", "POST"): Row("/messages/{missing}/lu", granted=Outcome(404)),
    # One-click unsubscribe (RFC 8058): public, the signed token is the authority; a bogus
    # token is 404 for everyone and changes nothing.
    ("unsubscribe_page", "GET"): Row(
        "/desabonnement/{token}", granted=Outcome(404), anonymous=Outcome(404)
    ),
    ("unsubscribe", "POST"): Row(
        "/desabonnement/{token}", granted=Outcome(404), anonymous=Outcome(404)
    ),
    ("preferences_page", "GET"): Row("/messages/preferences"),
    ("save_preferences", "POST"): Row(
        "/messages/preferences",
        granted=Outcome(303, "/messages/preferences?fait=preferences"),
        form={"optional_reminders": "on"},
    ),
    ("static_file", "GET"): Row("/static/style.css", anonymous=OK),
    ("favicon", "GET"): Row("/favicon.ico", anonymous=OK),
    ("healthz", "GET"): Row("/healthz", anonymous=OK),
    ("readyz", "GET"): Row("/readyz", anonymous=OK),
}

EXPECTATIONS.update(applications_rows(Row, Outcome))  # calls for interest, applications
EXPECTATIONS.update(plans_rows(Row, Outcome))  # workplace RAC implementation plans
EXPECTATIONS.update(billing_rows(Row, Outcome))  # invoices, payments, statements
EXPECTATIONS.update(funding_rows(Row, Outcome))  # funding of CERACs: allocations, projects
EXPECTATIONS.update(scoring_rows(Row, Outcome))  # evaluation and designation of CERACs
EXPECTATIONS.update(reporting_rows(Row, Outcome))  # network of CERACs, reports, mandates
EXPECTATIONS.update(dashboard_rows(Row, Outcome))  # the ministry's network dashboard
EXPECTATIONS.update(security_rows(Row, Outcome))  # two-factor sign-in
EXPECTATIONS.update(audit_rows(Row, Outcome))  # the audit trail: journal and histories
EXPECTATIONS.update(calendars_rows(Row, Outcome))  # calendars: pages, downloads, feeds

# Logout revokes every token of the user: it runs last, and then everyone logs in again.
LAST = ("logout", "POST")


def _concrete(path: str, org: int = 1) -> str:
    return path.format(org=org, missing=MISSING_MESSAGE_ID, token=BOGUS_RESET_TOKEN)


def _check_table_covers_registry() -> None:
    declared = {(spec.endpoint, method) for spec in REGISTRY for method in spec.methods}
    missing = sorted(declared - set(EXPECTATIONS))
    stale = sorted(set(EXPECTATIONS) - declared)
    assert not missing, f"routes without an expected access in the matrix: {missing}"
    assert not stale, f"expectations for routes that no longer exist: {stale}"
    assert set(ROLE_USERS) == set(Role), "every role needs a demo user in the matrix"
    # Each row's URL really reaches the route it describes (not a neighbour or a 404).
    urls = Map([Rule(s.path, endpoint=s.endpoint, methods=list(s.methods)) for s in REGISTRY])
    adapter = urls.bind("testserver")
    for (endpoint, method), row in EXPECTATIONS.items():
        matched, _ = adapter.match(_concrete(row.path), method=method)
        assert matched == endpoint, f"{row.path} {method} reaches {matched}, not {endpoint}"
    tenant_routes = {(s.endpoint, m) for s in REGISTRY for m in s.methods if s.tenant}
    with_tenant = {key for key, row in EXPECTATIONS.items() if row.other_tenant is not None}
    assert tenant_routes == with_tenant, "tenant routes must state the other-tenant outcome"
    # Every operation of the published OpenAPI document has its row too (by operationId).
    documented = {
        (operation["operationId"], method.upper())
        for item in openapi_document()["paths"].values()
        for method, operation in item.items()
    }
    assert documented, "the OpenAPI document lists no operation"
    undocumented = sorted(documented - set(EXPECTATIONS))
    assert not undocumented, f"OpenAPI operations without a row in the matrix: {undocumented}"


_check_table_covers_registry()  # at collection: a new route without an expectation fails


def test_the_matrix_covers_exactly_the_route_registry():
    _check_table_covers_registry()
    assert len(EXPECTATIONS) == sum(len(s.methods) for s in REGISTRY)


# -- signed-in users ------------------------------------------------------------------------


@dataclass
class SignedIn:
    role: Role
    email: str
    token: str = ""  # API bearer token
    cookie: str = ""  # rac_session cookie from the login form
    csrf: str = ""  # CSRF token bound to that session
    organisation_id: int = 0


@dataclass
class Anonymous:
    csrf_cookie: str
    csrf: str


def _form_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _sign_in(platform, user: SignedIn) -> None:
    user.token = platform.token(user.email)
    me = platform.api("GET", "/api/me", user.token)
    assert me.status_code == 200, me.text
    assert me.json()["role"] == user.role.value
    user.organisation_id = me.json()["organisation"]["id"]
    user.cookie = platform.session_cookie(user.email)  # the login form, and its second step
    page = requests.get(
        f"{platform.url}/messages", cookies={"rac_session": user.cookie}, timeout=30
    )
    assert page.status_code == 200, page.text
    user.csrf = _form_csrf(page.text)


@pytest.fixture(scope="module")
def users(platform) -> dict[Role, SignedIn]:
    signed_in = {role: SignedIn(role, email) for role, email in ROLE_USERS.items()}
    for user in signed_in.values():
        _sign_in(platform, user)
    orgs = {u.organisation_id for u in signed_in.values()}
    assert len(orgs) >= 4, "the matrix needs users from several organisations"
    return signed_in


@pytest.fixture(scope="module")
def anonymous(platform) -> Anonymous:
    form = requests.get(f"{platform.url}/connexion", timeout=10)
    return Anonymous(form.cookies["rac_csrf"], _form_csrf(form.text))


@dataclass
class HalfSignedIn:
    """The ministry's administrator after the password step only: the pending cookie of
    the login form and the API's challenge token, each tried as if it were a session."""

    cookie: str
    token: str


@pytest.fixture(scope="module")
def half_signed_in(platform) -> HalfSignedIn:
    admin = ROLE_USERS[Role.MINISTRY_ADMIN]
    browser = requests.Session()
    form = browser.get(f"{platform.url}/connexion", timeout=10)
    posted = browser.post(
        f"{platform.url}/connexion",
        data={"csrf_token": _form_csrf(form.text), "email": admin, "password": DEMO_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert posted.headers["Location"] == "/connexion/verification?suite=/", posted.text
    assert "rac_session" not in posted.cookies
    challenge = platform.api(
        "POST", "/api/auth/token", json={"email": admin, "password": DEMO_PASSWORD}
    ).json()
    assert challenge["access_token"] is None and challenge["second_factor_required"]
    return HalfSignedIn(posted.cookies["rac_second_step"], challenge["challenge_token"])


def _other_tenant(users: dict[Role, SignedIn], user: SignedIn) -> int:
    for role in OTHER_TENANT_FROM:
        if users[role].organisation_id != user.organisation_id:
            return users[role].organisation_id
    raise AssertionError("no other tenant")


# -- the matrix -----------------------------------------------------------------------------


def _expected(row: Row, api: bool, role: Role | None, tenant: str | None) -> Outcome:
    if role is None:
        if row.anonymous == LOGIN:
            return Outcome(401) if api else Outcome(303, LOGIN)
        return row.anonymous
    if role not in row.allowed:
        return Outcome(403)
    if tenant == "other" and role not in MINISTRY_ROLES:
        return row.other_tenant
    if role in MINISTRY_ROLES and row.ministry_granted is not None:
        return row.ministry_granted
    return row.granted


def _send(platform, method, path, row, api, user: SignedIn | None, anon: Anonymous, half=None):
    kwargs: dict = {"allow_redirects": False, "timeout": 30}
    email = user.email if user else ROLE_USERS[Role.MINISTRY_ADMIN]
    if api:
        if user or half:
            kwargs["headers"] = {"Authorization": f"Bearer {user.token if user else half.token}"}
        if row.json_body == "credentials":
            kwargs["json"] = {"email": email, "password": DEMO_PASSWORD}
        elif row.json_body == "nobody":
            kwargs["json"] = {"email": NOBODY}
        elif isinstance(row.json_body, dict):
            kwargs["json"] = row.json_body
    else:
        kwargs["cookies"] = {"rac_session": user.cookie} if user else {"rac_csrf": anon.csrf_cookie}
        if half:
            kwargs["cookies"]["rac_session"] = half.cookie
        if method == "POST":
            data = {"csrf_token": user.csrf if user else anon.csrf, **row.form}
            if data.get("email") == "credentials":
                data.update(email=email, password=DEMO_PASSWORD)
            kwargs["data"] = data
    return requests.request(method, f"{platform.url}{path}", **kwargs)


def _mismatch(response, expected: Outcome, path: str, api: bool) -> str | None:
    location = response.headers.get("Location")
    if response.status_code != expected.status:
        return f"status {response.status_code} (expected {expected.status}): {response.text[:160]}"
    if expected.location == LOGIN:
        if location != f"/connexion?suite={path}":
            return f"redirects to {location!r}, not to the login page"
    elif expected.location is not None and location != expected.location:
        return f"redirects to {location!r}, not {expected.location!r}"
    if api and response.status_code >= 400:
        error = response.json()["error"]
        if error["code"] != ERROR_CODES[response.status_code] or not error["message"]:
            return f"error body {error}"
    if not api and response.status_code in (403, 404):
        if "text/html" not in response.headers.get("Content-Type", ""):
            return "error page is not HTML"
    return None


def _ordered_keys():
    keys = sorted(k for k in EXPECTATIONS if k != LAST)
    return [*keys, LAST]


@pytest.mark.parametrize("key", _ordered_keys(), ids=lambda k: f"{k[1]} {k[0]}")
def test_route_answers_each_role_as_declared(platform, users, anonymous, half_signed_in, key):
    endpoint, method = key
    row = EXPECTATIONS[key]
    api = row.path.startswith("/api/")
    failures = []
    cases: list[tuple[Role | None, str | None]] = [(None, None)]
    for role in Role:
        cases += [(role, "own"), (role, "other")] if row.other_tenant else [(role, None)]
    for role, tenant in cases:
        user = users[role] if role else None
        if user is None:
            org = users[Role.DIRECTOR_GENERAL].organisation_id
        elif tenant == "other":
            org = _other_tenant(users, user)
        else:
            org = user.organisation_id
        path = _concrete(row.path, org)
        expected = _expected(row, api, role, tenant)
        response = _send(platform, method, path, row, api, user, anonymous)
        problem = _mismatch(response, expected, path, api)
        if problem:
            who = role.value if role else "anonymous"
            failures.append(
                f"{method} {path} as {who}{f' ({tenant} tenant)' if tenant else ''}: {problem}"
            )
    # Without the second factor, the ministry's administrator is nobody: the anonymous
    # outcome on every page, and 401 on every API operation (a token that is not a session).
    org = users[Role.DIRECTOR_GENERAL].organisation_id
    path = _concrete(row.path, org)
    expected = Outcome(401) if api else _expected(row, api, None, None)
    response = _send(platform, method, path, row, api, None, anonymous, half_signed_in)
    problem = _mismatch(response, expected, path, api)
    if problem:
        failures.append(f"{method} {path} after the password step only: {problem}")
    if key == LAST:
        # The logout revoked every token of every user: sign everybody in again.
        for user in users.values():
            if platform.api("GET", "/api/me", user.token).status_code != 401:
                failures.append(f"logout left the API token of {user.email} valid")
            _sign_in(platform, user)
    assert not failures, "\n".join(failures)
