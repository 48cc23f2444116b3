"""The gateway's defences over the real platform: bad input, CSRF, login throttling, cookies,
redirects, token revocation, the audit log, and a service that goes down.

Each test uses its own demo account so that throttling and revocation do not spill over.
The service-down test stops a process: it stays last in the module.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import date
from functools import partial

import pytest
import requests
from jose import jwt
from sqlalchemy import text

from rac_shared import events as ev
from rac_shared.clock import end_of_day
from rac_shared.settings import DEMO_JWT_SECRET
from tests.support.platform import DEMO_PASSWORD, Platform
from tests.support.polling import wait_until
from tests.support.sessions import revoke_and_see_refused_everywhere
from tests.support.two_factor import code_for
from tests.support.typography import ordinary_spaces

MAX_BODY_BYTES = 20_000
LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg2", "Exception:")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """This module's own platform, with a small body limit to test 413 cheaply."""
    with Platform(
        tmp_path_factory.mktemp("platform"),
        separate_services=True,
        extra_env={"MAX_BODY_BYTES": str(MAX_BODY_BYTES)},
        web_workers=2,  # session checks must hold in every gateway process
    ).running() as running:
        yield running


# -- helpers ---------------------------------------------------------------------------------


def form_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def assert_no_leak(response: requests.Response) -> None:
    for marker in LEAKS:
        assert marker not in response.text, f"{marker!r} in a {response.status_code} body"


def assert_json_error(response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert isinstance(error["details"], dict | list)
    if message is not None:
        assert error["message"] == message
    assert_no_leak(response)
    return error


def browser(platform) -> tuple[requests.Session, str]:
    """A fresh browser on the login page: its session (with the CSRF cookie) and the token."""
    session = requests.Session()
    page = session.get(f"{platform.url}/connexion", timeout=10)
    assert page.status_code == 200
    return session, form_csrf(page.text)


def form_login(platform, email: str, password: str = DEMO_PASSWORD, **extra):
    session, csrf = browser(platform)
    response = session.post(
        f"{platform.url}/connexion",
        data={"csrf_token": csrf, "email": email, "password": password, **extra},
        allow_redirects=False,
        timeout=10,
    )
    return session, response


def signed_in(platform, email: str) -> tuple[requests.Session, str]:
    """A browser signed in as ``email`` (through the second step for the ministry's
    accounts) and the CSRF token of its session."""
    session, response = form_login(platform, email)
    assert response.status_code == 303, response.text
    if response.headers["Location"].startswith("/connexion/verification"):
        step = session.get(f"{platform.url}/connexion/verification", timeout=10)
        response = session.post(
            f"{platform.url}/connexion/verification",
            data={"csrf_token": form_csrf(step.text), "code": code_for(platform, email)},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 303, response.text
    home = session.get(f"{platform.url}/", allow_redirects=False, timeout=30)
    assert home.status_code == 200, home.text
    return session, form_csrf(home.text)


def set_cookies(response) -> dict[str, str]:
    """Raw Set-Cookie headers by cookie name."""
    return {h.split("=", 1)[0]: h for h in response.raw.headers.getlist("Set-Cookie")}


def db_state(platform) -> dict:
    """What a refused request must not have changed in the gateway's database."""
    with platform.engine("gateway").connect() as connection:

        def count(table: str) -> int:
            return connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()

        return {
            "login_failures": count("login_failures"),
            "outbox": count("outbox"),
            "password_reset_tokens": count("password_reset_tokens"),
            "users": connection.execute(
                text(
                    "SELECT string_agg(id || ':' || session_version || ':' || active, ',' "
                    "ORDER BY id) FROM users"
                )
            ).scalar(),
        }


def unsigned(claims: dict) -> str:
    """A token with ``"alg": "none"`` and no signature."""

    def b64(part: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{b64(claims)}."


def user_row(platform, email: str) -> dict:
    with platform.engine("gateway").connect() as connection:
        return dict(
            connection.execute(
                text(
                    "SELECT id, organisation_id, session_version, active FROM users "
                    "WHERE email = :e"
                ),
                {"e": email},
            )
            .mappings()
            .one()
        )


# -- API bad input ---------------------------------------------------------------------------

ADMIN = "admin@mes.demo.quebec"
TOKEN_URL = "/api/auth/token"
RESET_URL = "/api/auth/password-reset"
BAD_INPUT = [
    # (id, path, request kwargs, status, code, message, field named in details)
    (
        "malformed-json",
        TOKEN_URL,
        {
            "data": b'{"email": "admin@mes.demo.quebec", "password": "faux"',
            "headers": {"Content-Type": "application/json"},
        },
        400,
        "bad_request",
        "Le corps de la requête n'est pas du JSON valide.",
        None,
    ),
    (
        "form-encoded",
        TOKEN_URL,
        {"data": {"email": ADMIN, "password": "faux"}},
        415,
        "unsupported_media_type",
        "Le format du contenu envoyé n'est pas accepté (JSON attendu).",
        None,
    ),
    (
        "json-as-text-plain",
        TOKEN_URL,
        {
            "data": b'{"email": "admin@mes.demo.quebec", "password": "faux"}',
            "headers": {"Content-Type": "text/plain"},
        },
        415,
        "unsupported_media_type",
        "Le format du contenu envoyé n'est pas accepté (JSON attendu).",
        None,
    ),
    (
        "unknown-field",
        TOKEN_URL,
        {"json": {"email": ADMIN, "password": "faux", "role": "ministry_admin"}},
        422,
        "invalid",
        "Les données envoyées sont invalides.",
        ("role", "Ce champ n'est pas permis."),
    ),
    (
        "wrong-type",
        TOKEN_URL,
        {"json": {"email": ADMIN, "password": 123456789}},
        422,
        "invalid",
        "Les données envoyées sont invalides.",
        ("password", "Un texte est attendu."),
    ),
    (
        "missing-field",
        TOKEN_URL,
        {"json": {"email": ADMIN}},
        422,
        "invalid",
        "Les données envoyées sont invalides.",
        ("password", "Ce champ est obligatoire."),
    ),
    (
        "array-instead-of-object",
        TOKEN_URL,
        {"json": [ADMIN, "faux"]},
        422,
        "invalid",
        "Les données envoyées sont invalides.",
        ("corps", "Un objet JSON est attendu."),
    ),
    (
        "oversized",
        TOKEN_URL,
        {"json": {"email": ADMIN, "password": "x" * (MAX_BODY_BYTES + 5000)}},
        413,
        "too_large",
        "Le contenu envoyé est trop volumineux.",
        None,
    ),
    (
        "reset-unknown-field",
        RESET_URL,
        {"json": {"email": ADMIN, "redirect": "https://evil.example"}},
        422,
        "invalid",
        "Les données envoyées sont invalides.",
        ("redirect", "Ce champ n'est pas permis."),
    ),
    (
        "reset-wrong-type",
        RESET_URL,
        {"json": {"email": ["admin@mes.demo.quebec"]}},
        422,
        "invalid",
        "Les données envoyées sont invalides.",
        ("email", "Un texte est attendu."),
    ),
    (
        "reset-oversized",
        RESET_URL,
        {
            "data": b'{"email": "admin@mes.demo.quebec"' + b" " * MAX_BODY_BYTES + b"}",
            "headers": {"Content-Type": "application/json"},
        },
        413,
        "too_large",
        "Le contenu envoyé est trop volumineux.",
        None,
    ),
]


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "code", "message", "detail"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_api_refuses_bad_input_with_a_french_json_error_and_changes_nothing(
    platform, path, kwargs, status, code, message, detail
):
    before = db_state(platform)
    response = requests.post(f"{platform.url}{path}", timeout=10, **kwargs)
    error = assert_json_error(response, status, code, message)
    if detail is not None:
        field, text_ = detail
        assert error["details"].get(field) == text_, error["details"]
    assert db_state(platform) == before


def test_the_same_requests_well_formed_do_change_state(platform):
    """Control for the test above: valid bodies do reach the handlers."""
    before = db_state(platform)
    wrong = requests.post(
        f"{platform.url}{TOKEN_URL}", json={"email": ADMIN, "password": "faux"}, timeout=10
    )
    assert_json_error(wrong, 401, "unauthenticated", "Courriel ou mot de passe incorrect.")
    assert db_state(platform)["login_failures"] == before["login_failures"] + 1
    accepted = requests.post(f"{platform.url}{RESET_URL}", json={"email": ADMIN}, timeout=10)
    assert accepted.status_code == 202
    after = db_state(platform)
    assert after["outbox"] == before["outbox"] + 1
    assert after["password_reset_tokens"] == before["password_reset_tokens"] + 1
    assert platform.token(ADMIN)  # a success clears the failures
    assert db_state(platform)["login_failures"] == before["login_failures"]


def test_a_body_on_mark_read_is_refused(platform):
    token = platform.token(ADMIN)
    response = platform.api("POST", "/api/messages/1/read", token, json={"read": True})
    assert_json_error(response, 400, "bad_request", "Cette requête ne prend pas de corps.")


# -- pages: CSRF, login failures, throttling, cookies, redirects ----------------------------


def test_page_posts_without_the_right_csrf_token_are_refused_and_change_nothing(platform):
    email = "dg@cmv.demo.quebec"
    session, csrf = signed_in(platform, email)
    token = platform.token(email)
    version = user_row(platform, email)["session_version"]
    _, someone_elses_csrf = signed_in(platform, "etudes@cegeplevis.demo.quebec")
    _, anonymous_csrf = browser(platform)

    for data in (
        {},
        {"csrf_token": ""},
        {"csrf_token": "0" * 64},
        {"csrf_token": someone_elses_csrf},
        {"csrf_token": anonymous_csrf},
    ):
        response = session.post(
            f"{platform.url}/deconnexion", data=data, allow_redirects=False, timeout=10
        )
        assert response.status_code == 403, data
        assert response.headers["Content-Type"].startswith("text/html")
        assert '<html lang="fr-CA">' in response.text
        assert "Accès refusé" in response.text
        assert "Le formulaire a expiré ou ne provient pas de la plateforme." in response.text
        assert "rac_session" not in set_cookies(response)
        assert_no_leak(response)

    # Still signed in, in the browser and on the API.
    assert user_row(platform, email)["session_version"] == version
    assert session.get(f"{platform.url}/", allow_redirects=False, timeout=30).status_code == 200
    assert platform.api("GET", "/api/me", token).status_code == 200
    # The right token does sign out (so the refusals above were about the token only).
    out = session.post(
        f"{platform.url}/deconnexion", data={"csrf_token": csrf}, allow_redirects=False, timeout=10
    )
    assert out.status_code == 303


def test_login_form_without_csrf_is_refused_before_checking_anything(platform):
    email = "dg@csnavigateurs.demo.quebec"
    before = db_state(platform)
    for data in (
        {"email": email, "password": DEMO_PASSWORD},
        {"email": email, "password": "mauvais", "csrf_token": "faux"},
    ):
        response = requests.post(
            f"{platform.url}/connexion", data=data, allow_redirects=False, timeout=10
        )
        assert response.status_code == 403
        assert "Le formulaire a expiré" in response.text
        assert "rac_session" not in set_cookies(response)
    assert db_state(platform) == before  # not even a login failure counted


def test_login_failure_says_so_in_french_with_401(platform):
    before = db_state(platform)
    for email, password in (
        ("fc@cmv.demo.quebec", "mauvais-mot-de-passe"),
        ("personne@nulle-part.quebec", DEMO_PASSWORD),
    ):
        _, response = form_login(platform, email, password)
        assert response.status_code == 401
        assert "Courriel ou mot de passe incorrect." in response.text
        assert "rac_session" not in set_cookies(response)
        assert_no_leak(response)
    assert db_state(platform)["login_failures"] == before["login_failures"] + 2
    _, good = form_login(platform, "fc@cmv.demo.quebec")
    assert good.status_code == 303


def test_too_many_failures_make_that_address_wait_even_with_the_right_password(platform):
    email = "direction@boulangerie.demo.quebec"
    max_failures = 5  # LOGIN_MAX_FAILURES default
    for attempt in range(max_failures):
        if attempt % 2:
            wrong = requests.post(
                f"{platform.url}{TOKEN_URL}", json={"email": email, "password": "x"}, timeout=10
            )
            assert wrong.status_code == 401
        else:
            _, wrong = form_login(platform, email, "pas-le-bon")
            assert wrong.status_code == 401
            assert "Courriel ou mot de passe incorrect." in wrong.text

    _, locked = form_login(platform, email, DEMO_PASSWORD)
    assert locked.status_code == 429
    assert "Trop de tentatives de connexion infructueuses." in locked.text
    assert "rac_session" not in set_cookies(locked)
    api = requests.post(
        f"{platform.url}{TOKEN_URL}", json={"email": email, "password": DEMO_PASSWORD}, timeout=10
    )
    error = assert_json_error(api, 429, "too_many_requests")
    assert error["message"].startswith("Trop de tentatives de connexion infructueuses.")
    # Another address is not affected.
    assert platform.token("dg@csnavigateurs.demo.quebec")


def test_session_cookie_is_httponly_and_samesite_lax(platform):
    session, response = form_login(platform, "rac@cmv.demo.quebec")
    assert response.status_code == 303
    cookie = set_cookies(response)["rac_session"]
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    csrf_cookie = set_cookies(requests.get(f"{platform.url}/connexion", timeout=10))["rac_csrf"]
    assert "HttpOnly" in csrf_cookie and "SameSite=Strict" in csrf_cookie


def test_each_login_gets_a_fresh_session_never_a_planted_one(platform):
    victim = "etudes@cegeplevis.demo.quebec"
    # A cookie value chosen by an attacker is dropped, and never becomes the session.
    session = requests.Session()
    session.cookies.set("rac_session", "valeur-choisie-par-un-attaquant")
    page = session.get(f"{platform.url}/connexion", timeout=10)
    assert page.status_code == 200
    assert set_cookies(page)["rac_session"].startswith("rac_session=;")  # deleted
    response = session.post(
        f"{platform.url}/connexion",
        data={"csrf_token": form_csrf(page.text), "email": victim, "password": DEMO_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    first = response.cookies["rac_session"]
    assert first != "valeur-choisie-par-un-attaquant"

    # An attacker's own valid session planted in the victim's browser is replaced, not reused.
    _, attacker_login = form_login(platform, "rh@cisss.demo.quebec")
    planted = attacker_login.cookies["rac_session"]
    browser_ = requests.Session()
    browser_.cookies.set("rac_session", planted)
    home = browser_.get(f"{platform.url}/", timeout=30)
    assert home.status_code == 200
    relogin = browser_.post(
        f"{platform.url}/connexion",
        data={"csrf_token": form_csrf(home.text), "email": victim, "password": DEMO_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert relogin.status_code == 303
    second = relogin.cookies["rac_session"]
    assert second not in (planted, first)
    # The new cookie is the victim's, the planted one still the attacker's.
    assert platform.api("GET", "/api/me", second).json()["email"] == victim
    assert platform.api("GET", "/api/me", planted).json()["email"] == "rh@cisss.demo.quebec"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/connexion",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "evil.example",
        "",
    ],
    ids=[
        "protocol-relative",
        "protocol-relative-path",
        "absolute",
        "backslash",
        "double-backslash",
        "tab",
        "newline",
        "relative",
        "empty",
    ],
)
def test_login_never_redirects_to_another_site(platform, target):
    _, response = form_login(platform, "fc@cmv.demo.quebec", suite=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = requests.get(f"{platform.url}/connexion", params={"suite": target}, timeout=10)
    assert 'name="suite" value="/"' in page.text


def test_login_does_follow_a_local_suite(platform):
    """Control for the test above: a local path is honoured."""
    _, response = form_login(platform, "fc@cmv.demo.quebec", suite="/messages")
    assert response.status_code == 303
    assert response.headers["Location"] == "/messages"


# -- tokens ----------------------------------------------------------------------------------


def test_logout_revokes_the_api_tokens_of_the_same_user(platform):
    email = "fp@csnavigateurs.demo.quebec"
    token = platform.token(email)
    other_user_token = platform.token("rac@csnavigateurs.demo.quebec")
    session, csrf = signed_in(platform, email)
    assert platform.api("GET", "/api/me", token).status_code == 200
    version = user_row(platform, email)["session_version"]

    out = session.post(
        f"{platform.url}/deconnexion", data={"csrf_token": csrf}, allow_redirects=False, timeout=10
    )
    assert out.status_code == 303
    assert out.headers["Location"] == "/connexion?fait=deconnecte"
    assert set_cookies(out)["rac_session"].startswith("rac_session=;")
    assert user_row(platform, email)["session_version"] == version + 1

    settled(lambda: platform.api("GET", "/api/me", token).status_code == 401)
    refused = platform.api("GET", "/api/me", token)
    assert_json_error(refused, 401, "unauthenticated", "Session révoquée ou compte désactivé.")
    home = session.get(f"{platform.url}/", allow_redirects=False, timeout=10)
    assert home.status_code == 303
    assert home.headers["Location"] == "/connexion?suite=/"
    # Only that user: another user's token still works, and the user can sign in again.
    assert platform.api("GET", "/api/me", other_user_token).status_code == 200
    assert platform.api("GET", "/api/me", platform.token(email)).status_code == 200


def test_a_deactivated_user_is_refused_everywhere(platform):
    email = "rh@cisss.demo.quebec"
    token = platform.token(email)
    session, _ = signed_in(platform, email)
    with platform.engine("gateway").begin() as connection:
        connection.execute(text("UPDATE users SET active = false WHERE email = :e"), {"e": email})
    try:
        settled(lambda: platform.api("GET", "/api/me", token).status_code == 401)
        refused = platform.api("GET", "/api/me", token)
        assert_json_error(refused, 401, "unauthenticated", "Session révoquée ou compte désactivé.")
        page = session.get(f"{platform.url}/", allow_redirects=False, timeout=10)
        assert page.status_code == 303
        assert page.headers["Location"].startswith("/connexion")
        again = requests.post(
            f"{platform.url}{TOKEN_URL}",
            json={"email": email, "password": DEMO_PASSWORD},
            timeout=10,
        )
        # The same answer as a wrong password: nothing tells that the account exists.
        assert_json_error(again, 401, "unauthenticated", "Courriel ou mot de passe incorrect.")
    finally:
        with platform.engine("gateway").begin() as connection:
            connection.execute(
                text("UPDATE users SET active = true WHERE email = :e"), {"e": email}
            )
    # Reactivated, the same token works again: it was refused for being inactive only.
    settled(lambda: platform.api("GET", "/api/me", token).status_code == 200)


# A directory change reaches every gateway process with PostgreSQL's notice: within
# milliseconds, but the tests share a loaded machine.
settled = partial(
    wait_until, timeout=5.0, interval=0.05, message="the change never reached the gateway"
)


def test_cached_sessions_follow_directory_changes_in_every_gateway_process(platform):
    """Each gateway process caches session users; a change made anywhere (here raw SQL, as
    an operator would) reaches every process before its next request."""
    assert requests.get(f"{platform.url}/healthz", timeout=5).json()["session_cache"] == "on"
    email = "dg@cegeplevis.demo.quebec"
    token = platform.token(email)
    original = user_row(platform, email)
    names = set()
    for _ in range(12):  # new connections: both processes serve and cache the user
        response = platform.api("GET", "/api/me", token)
        assert response.status_code == 200
        names.add(response.json()["full_name"])
    assert len(names) == 1
    gateway_db = platform.engine("gateway")
    try:
        with gateway_db.begin() as connection:
            connection.execute(
                text("UPDATE users SET full_name = 'Nom modifié' WHERE email = :e"), {"e": email}
            )
        settled(lambda: platform.api("GET", "/api/me", token).json()["full_name"] == "Nom modifié")
        for _ in range(12):
            assert platform.api("GET", "/api/me", token).json()["full_name"] == "Nom modifié"
        revoke_and_see_refused_everywhere(platform, gateway_db, email, token)
    finally:
        with gateway_db.begin() as connection:
            connection.execute(
                text("UPDATE users SET full_name = :n, session_version = :v WHERE email = :e"),
                {"n": names.pop(), "v": original["session_version"], "e": email},
            )
    settled(lambda: platform.api("GET", "/api/me", token).status_code == 200)


def test_inbox_read_model_follows_new_and_read_messages_in_every_gateway_process(platform):
    """The inbox each gateway process keeps is dropped by the notifications service's events:
    a new message and a message read elsewhere show on the next requests of every process."""
    for _ in range(6):
        health = requests.get(f"{platform.url}/healthz", timeout=5).json()
        assert health["inbox_read_model"] == "on"
    token = platform.token("rac@cegeplevis.demo.quebec")

    def inboxes() -> list[dict]:  # new connections: both processes answer
        return [platform.api("GET", "/api/messages", token).json() for _ in range(8)]

    before = inboxes()
    assert len({i["unread"] for i in before}) == 1
    admin = platform.token("admin@mes.demo.quebec")
    organisations = platform.api("GET", "/api/organisations", admin).json()["organisations"]
    ids = {o["code"]: o["id"] for o in organisations}
    platform.publish_event(
        ev.PlanReminderDue(
            plan_id=77,
            version=1,
            reference="PMO-CLV-2026-077",
            institution_id=ids["CLV"],
            employer_id=ids["BSM"],
            days_left=7,
            acceptance_deadline=end_of_day(date(2026, 12, 12)),
        )
    )

    def everywhere(unread: int) -> bool:  # every process shows it (within milliseconds)
        return all(inbox["unread"] == unread for inbox in inboxes())

    wait_until(lambda: everywhere(before[0]["unread"] + 1), timeout=20)
    for inbox in inboxes():
        assert inbox["unread"] == before[0]["unread"] + 1
        message = next(m for m in inbox["messages"] if "PMO-CLV-2026-077" in m["subject"])
        assert not message["read"]

    read = platform.api("POST", f"/api/messages/{message['id']}/read", token)
    assert read.status_code == 200
    wait_until(lambda: everywhere(before[0]["unread"]), timeout=20)
    for inbox in inboxes():
        assert inbox["unread"] == before[0]["unread"]
        assert next(m for m in inbox["messages"] if m["id"] == message["id"])["read"]


def test_forged_tokens_are_refused(platform):
    real = platform.token("analyste@mes.demo.quebec")
    claims = jwt.get_unverified_claims(real)
    secret = platform.env.get("JWT_SECRET", DEMO_JWT_SECRET)

    def sign(key: str = secret, kid: str = "k1", **changes) -> str:
        return jwt.encode(
            {**claims, "jti": uuid.uuid4().hex, **changes},
            key,
            algorithm="HS256",
            headers={"kid": kid},
        )

    # Control: re-signed with the platform's own key, the claims are accepted.
    assert platform.api("GET", "/api/me", sign()).status_code == 200

    forged = {
        "other-secret": sign(key="un-autre-secret-tout-aussi-long-0123456789abcdef"),
        "unknown-kid": sign(kid="k9"),
        "expired": sign(exp=claims["iat"] - 60),
        "other-audience": sign(aud="un-autre-service"),
        "other-issuer": sign(iss="quelquun-d-autre"),
        "other-user": sign(key="un-autre-secret-tout-aussi-long-0123456789abcdef", sub="1"),
        "alg-none": unsigned({**claims, "jti": uuid.uuid4().hex}),
        "garbage": "pas-un-jeton",
    }
    for name, token in forged.items():
        response = platform.api("GET", "/api/me", token)
        assert response.status_code == 401, name
        assert_json_error(response, 401, "unauthenticated")
        # As a page cookie: treated as signed out, and the cookie is dropped.
        page = requests.get(
            f"{platform.url}/", cookies={"rac_session": token}, allow_redirects=False, timeout=10
        )
        assert page.status_code == 303, name
        assert page.headers["Location"] == "/connexion?suite=/"
        assert set_cookies(page)["rac_session"].startswith("rac_session=;")


# -- audit -----------------------------------------------------------------------------------


def test_every_state_changing_request_is_audited_once(platform):
    email = "rac@csnavigateurs.demo.quebec"
    user = user_row(platform, email)
    engine = platform.engine("gateway")
    with engine.connect() as connection:
        last_id = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_log")).scalar()

    def new_rows() -> list[dict]:
        nonlocal last_id
        with engine.connect() as connection:
            rows = (
                connection.execute(
                    text("SELECT * FROM audit_log WHERE id > :i ORDER BY id"), {"i": last_id}
                )
                .mappings()
                .all()
            )
        if rows:
            last_id = rows[-1]["id"]
        return [dict(r) for r in rows]

    def expect_one(response, method, path, action, status, user_id, correlation=None):
        assert response.status_code == status, response.text
        [row] = new_rows()
        assert (row["method"], row["path"], row["action"], row["status"], row["user_id"]) == (
            method,
            path,
            action,
            status,
            user_id,
        )
        if user_id is not None:
            assert row["organisation_id"] == user["organisation_id"]
        if correlation is not None:
            assert row["correlation_id"] == correlation
        assert row["ip"] == "127.0.0.1"
        assert row["at"] is not None

    correlation = uuid.uuid4().hex
    response = requests.post(
        f"{platform.url}{TOKEN_URL}",
        json={"email": email, "password": DEMO_PASSWORD},
        headers={"X-Correlation-Id": correlation},
        timeout=10,
    )
    expect_one(response, "POST", TOKEN_URL, "api_token", 200, user["id"], correlation)
    token = response.json()["access_token"]

    response = requests.post(
        f"{platform.url}{TOKEN_URL}", json={"email": email, "password": "faux"}, timeout=10
    )
    expect_one(response, "POST", TOKEN_URL, "api_token", 401, None)

    response = requests.post(f"{platform.url}{TOKEN_URL}", json={"email": email}, timeout=10)
    expect_one(response, "POST", TOKEN_URL, "api_token", 422, None)

    response = requests.post(
        f"{platform.url}{RESET_URL}", json={"email": "personne@nulle-part.quebec"}, timeout=10
    )
    expect_one(response, "POST", RESET_URL, "api_password_reset", 202, None)

    # Reading writes nothing.
    session, csrf = browser(platform)
    assert platform.api("GET", "/api/me", token).status_code == 200
    assert new_rows() == []

    response = session.post(
        f"{platform.url}/mot-de-passe/oubli",
        data={"csrf_token": csrf, "email": "personne@nulle-part.quebec"},
        timeout=10,
    )
    expect_one(response, "POST", "/mot-de-passe/oubli", "password_forgotten", 200, None)

    response = session.post(
        f"{platform.url}/connexion",
        data={"csrf_token": csrf, "email": email, "password": DEMO_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    expect_one(response, "POST", "/connexion", "login", 303, user["id"])

    response = platform.api("POST", "/api/messages/987654/read", token)
    expect_one(response, "POST", "/api/messages/987654/read", "api_mark_read", 404, user["id"])

    home = session.get(f"{platform.url}/", timeout=30)
    assert new_rows() == []
    session_csrf = form_csrf(home.text)
    response = session.post(
        f"{platform.url}/deconnexion", data={}, allow_redirects=False, timeout=10
    )
    expect_one(response, "POST", "/deconnexion", "logout", 403, user["id"])

    response = session.post(
        f"{platform.url}/deconnexion",
        data={"csrf_token": session_csrf},
        allow_redirects=False,
        timeout=10,
    )
    expect_one(response, "POST", "/deconnexion", "logout", 303, user["id"])


# -- errors never leak internals ------------------------------------------------------------


def test_error_bodies_never_show_a_stack_trace(platform):
    token = platform.token("evaluatrice@mes.demo.quebec")
    json_errors = [
        (platform.api("GET", "/api/inexistant", token), 404, "not_found"),
        (platform.api("GET", "/api/inexistant"), 404, "not_found"),
        (platform.api("DELETE", "/api/me", token), 405, "method_not_allowed"),
        (platform.api("GET", TOKEN_URL), 405, "method_not_allowed"),
        (platform.api("GET", "/api/me", "abc.def.ghi"), 401, "unauthenticated"),
        (platform.api("GET", "/api/organisations/99999999999999999999", token), 404, "not_found"),
        (platform.api("POST", "/api/messages/99999999999999999999/read", token), 404, "not_found"),
    ]
    for response, status, code in json_errors:
        error = assert_json_error(response, status, code)
        # Errors raised inside a service arrive with structured details too.
        assert isinstance(error["details"], dict), error
    html_errors = [
        (requests.get(f"{platform.url}/page-inexistante", timeout=10), 404),
        (requests.get(f"{platform.url}/static/../../gateway/auth.py", timeout=10), 404),
        (requests.get(f"{platform.url}/static/inexistant.css", timeout=10), 404),
        (requests.post(f"{platform.url}/connexion", data={"email": "x"}, timeout=10), 403),
        (
            requests.post(f"{platform.url}/connexion", data={"password": "x" * 30000}, timeout=10),
            413,
        ),
    ]
    for response, status in html_errors:
        assert response.status_code == status, response.text
        assert '<html lang="fr-CA">' in response.text
        assert "Référence" in response.text
        assert_no_leak(response)
    # A control character in the "suite" of a login used to make the server fail (500).
    _, response = form_login(platform, "evaluatrice@mes.demo.quebec", suite="/x\r\nX-Injecte: 1")
    assert response.status_code == 303
    assert "X-Injecte" not in response.headers


# -- a service goes down (keep last: it stops a process) ------------------------------------


def test_a_stopped_service_gives_503_in_french_then_recovers(platform):
    token = platform.token("admin@mes.demo.quebec")
    assert platform.api("GET", "/api/messages/preferences", token).status_code == 200
    platform.stop_process("notifications")
    try:
        # The service's queue has no consumer: 503 at once, not after the RPC timeout.
        # (Preferences, not the inbox: a gateway process may still hold a current copy.)
        response = platform.api("GET", "/api/messages/preferences", token)
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "unavailable"
        assert error["message"].startswith("Un service de la plateforme")
        assert "Réessayez dans un instant." in error["message"]
        assert_no_leak(response)

        ready = requests.get(f"{platform.url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["status"] == "indisponible"
        assert ready.json()["services"]["notifications"] == "indisponible"
        assert {k for k, v in ready.json()["services"].items() if v != "ok"} == {"notifications"}

        # A page of that service says so in French; the home page still works and names what
        # is missing.
        session, _ = signed_in(platform, "analyste@mes.demo.quebec")
        inbox = session.get(f"{platform.url}/messages/preferences", timeout=30)
        assert inbox.status_code == 503
        assert "Service momentanément indisponible" in inbox.text
        assert_no_leak(inbox)
        home = session.get(f"{platform.url}/", timeout=30)
        assert home.status_code == 200
        assert "Certaines informations sont momentanément indisponibles : Messages." in (
            ordinary_spaces(home.text)
        )
    finally:
        platform.start_process("notifications")
    platform.wait_ready()
    recovered = platform.api("GET", "/api/messages", token)
    assert recovered.status_code == 200, recovered.text
    assert set(recovered.json()) == {"unread", "messages"}
