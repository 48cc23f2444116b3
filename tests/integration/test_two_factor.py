"""Two-factor sign-in over the real platform (PostgreSQL, RabbitMQ): the ministry's second
step on the page and the API, replayed and wrong codes, throttling, enrolment by choice
with its recovery codes, and the ministry administrator's reset."""

from __future__ import annotations

import html
import re

import pyotp
import pytest
import requests
from sqlalchemy import text

from gateway.demo import DEMO_TOTP_SECRETS
from gateway.secret_box import seal
from tests.support.platform import DEMO_PASSWORD
from tests.support.two_factor import code_for, platform_now

pytestmark = pytest.mark.integration

ANALYST = "analyste@mes.demo.quebec"
EVALUATOR = "evaluatrice@mes.demo.quebec"
COORDINATOR = "rac@cmv.demo.quebec"
DG = "dg@cmv.demo.quebec"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def password_step(platform, email: str) -> tuple[requests.Session, str, requests.Response]:
    browser = requests.Session()
    csrf = _csrf(browser.get(f"{platform.url}/connexion", timeout=10).text)
    response = browser.post(
        f"{platform.url}/connexion",
        data={"csrf_token": csrf, "email": email, "password": DEMO_PASSWORD, "suite": "/plans"},
        allow_redirects=False,
        timeout=10,
    )
    return browser, csrf, response


def second_step(platform, browser, csrf: str, code: str) -> requests.Response:
    return browser.post(
        f"{platform.url}/connexion/verification",
        data={"csrf_token": csrf, "code": code, "suite": "/plans"},
        allow_redirects=False,
        timeout=10,
    )


def audit_actions(platform, email: str) -> list[tuple[str, int]]:
    with platform.engine("gateway").connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT a.action, a.status FROM audit_log a JOIN users u ON u.id = a.user_id "
                    "WHERE u.email = :e ORDER BY a.id"
                ),
                {"e": email},
            )
        ]


def test_a_ministry_page_session_needs_the_code_and_a_code_works_once(platform):
    browser, csrf, response = password_step(platform, ANALYST)
    assert response.status_code == 303
    assert response.headers["Location"] == "/connexion/verification?suite=/plans"
    assert "rac_session" not in browser.cookies  # no session yet
    # The pending cookie is no session: the ministry's pages still ask to sign in.
    assert browser.get(f"{platform.url}/plans", allow_redirects=False).status_code == 303
    page = browser.get(f"{platform.url}/connexion/verification", timeout=10)
    assert page.status_code == 200 and "Vérification en deux étapes" in page.text

    wrong = second_step(platform, browser, csrf, "000000")
    assert wrong.status_code == 422 and "Ce code n'est pas valide" in html.unescape(wrong.text)
    code = code_for(platform, ANALYST)
    done = second_step(platform, browser, csrf, code)
    assert done.status_code == 303 and done.headers["Location"] == "/plans"
    assert browser.get(f"{platform.url}/plans", timeout=30).status_code == 200

    # The same code for another sign-in is refused (RFC 6238: one use per step).
    other, other_csrf, _ = password_step(platform, ANALYST)
    replayed = second_step(platform, other, other_csrf, code)
    assert replayed.status_code == 422
    assert "rac_session" not in other.cookies
    actions = audit_actions(platform, ANALYST)
    assert ("second_step", 422) in actions and ("second_step", 303) in actions


def test_the_api_has_a_second_step_and_its_challenge_is_no_token(platform):
    first = platform.api(
        "POST", "/api/auth/token", json={"email": EVALUATOR, "password": DEMO_PASSWORD}
    )
    assert first.status_code == 200
    reply = first.json()
    assert reply["second_factor_required"] is True and reply["access_token"] is None
    challenge = reply["challenge_token"]
    assert platform.api("GET", "/api/me", challenge).status_code == 401
    assert platform.api("GET", "/api/evaluations", challenge).status_code == 401

    wrong = platform.api(
        "POST", "/api/auth/second-factor", json={"challenge_token": challenge, "code": "12"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthenticated"
    right = platform.api(
        "POST",
        "/api/auth/second-factor",
        json={"challenge_token": challenge, "code": code_for(platform, EVALUATOR)},
    )
    assert right.status_code == 200, right.text
    token = right.json()["access_token"]
    assert platform.api("GET", "/api/me", token).json()["email"] == EVALUATOR
    # A session token is not a challenge.
    again = platform.api(
        "POST", "/api/auth/second-factor", json={"challenge_token": token, "code": "123456"}
    )
    assert again.status_code == 401


def test_wrong_codes_are_throttled(platform):
    email = "admin@mes.demo.quebec"
    browser, csrf, _ = password_step(platform, email)
    statuses = [second_step(platform, browser, csrf, "999999").status_code for _ in range(5)]
    assert statuses == [422] * 5
    throttled = second_step(platform, browser, csrf, code_for(platform, email))
    assert throttled.status_code == 429 and "Trop de codes erronés" in throttled.text
    with platform.engine("gateway").begin() as connection:  # the window passes
        connection.execute(text("DELETE FROM second_factor_failures"))
    assert second_step(platform, browser, csrf, code_for(platform, email)).status_code == 303


def test_an_institution_user_enrols_by_choice_and_the_administrator_resets_it(platform):
    cookie = platform.session_cookie(COORDINATOR)  # optional: no second step yet
    browser = requests.Session()
    browser.cookies.set("rac_session", cookie)
    page = browser.get(f"{platform.url}/connexion/activation", timeout=10)
    assert page.status_code == 200
    assert "<svg" in page.text and "Code QR" in page.text  # inline SVG: CSP stays 'self'
    assert "img-src 'self' data:" in page.headers["Content-Security-Policy"]
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    code = pyotp.TOTP(secret).at(platform_now(platform))
    enrolled = browser.post(
        f"{platform.url}/connexion/activation",
        data={"csrf_token": _csrf(page.text), "code": code, "suite": "/"},
        timeout=60,  # ten recovery codes hashed with argon2: seconds on a busy machine
    )
    assert enrolled.status_code == 200
    recovery = re.findall(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4})</code></li>", enrolled.text)
    assert len(recovery) == 10

    # From now on the password alone opens nothing; a recovery code works, once.
    first = platform.api(
        "POST", "/api/auth/token", json={"email": COORDINATOR, "password": DEMO_PASSWORD}
    ).json()
    assert first["second_factor_required"]
    for attempt, expected in ((recovery[0], 200), (recovery[0], 401)):
        challenge = platform.api(
            "POST", "/api/auth/token", json={"email": COORDINATOR, "password": DEMO_PASSWORD}
        ).json()["challenge_token"]
        answer = platform.api(
            "POST", "/api/auth/second-factor", json={"challenge_token": challenge, "code": attempt}
        )
        assert answer.status_code == expected, answer.text

    # The ministry's administrator resets it: sessions end, the password is enough again.
    admin = platform.token("admin@mes.demo.quebec")
    with platform.engine("gateway").connect() as connection:
        user_id = connection.execute(
            text("SELECT id FROM users WHERE email = :e"), {"e": COORDINATOR}
        ).scalar()
    assert (
        platform.api("POST", f"/api/users/{user_id}/second-factor/reset", admin).status_code == 200
    )
    assert browser.get(f"{platform.url}/compte/securite", allow_redirects=False).status_code == 303
    assert platform.token(COORDINATOR)  # the password alone again
    institution = platform.token(DG)
    refused = platform.api("POST", f"/api/users/{user_id}/second-factor/reset", institution)
    assert refused.status_code == 403


def test_a_reset_ministry_account_enrols_again_at_its_next_sign_in(platform):
    admin = platform.session_cookie("admin@mes.demo.quebec")
    browser = requests.Session()
    browser.cookies.set("rac_session", admin)
    with platform.engine("gateway").connect() as connection:
        user_id, organisation_id = connection.execute(
            text("SELECT id, organisation_id FROM users WHERE email = :e"), {"e": EVALUATOR}
        ).one()
    page = browser.get(f"{platform.url}/organisations/{organisation_id}", timeout=10)
    assert "Réinitialiser la double authentification de Geneviève Lévesque" in page.text
    reset = browser.post(
        f"{platform.url}/utilisateurs/{user_id}/double-authentification/reinitialiser",
        data={"csrf_token": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert reset.headers["Location"] == (
        f"/organisations/{organisation_id}?fait=double_authentification_reinitialisee"
    )
    # The API cannot enrol: it says so. The page sends the evaluator to enrolment.
    api = platform.api(
        "POST", "/api/auth/token", json={"email": EVALUATOR, "password": DEMO_PASSWORD}
    )
    assert api.status_code == 403 and "obligatoire" in api.json()["error"]["message"]
    evaluator, csrf, response = password_step(platform, EVALUATOR)
    assert response.headers["Location"] == "/connexion/activation?suite=/plans"
    assert evaluator.get(f"{platform.url}/evaluations", allow_redirects=False).status_code == 303
    page = evaluator.get(f"{platform.url}/connexion/activation", timeout=10)
    assert "obligatoire pour les comptes du Ministère" in page.text
    # Put the demo's secret back, as ``rac demo`` would find it (sealed with the platform's
    # TWO_FACTOR_KEY, the same default as this process's), for the other tests.
    with platform.engine("gateway").begin() as connection:
        connection.execute(
            text(
                "UPDATE users SET totp_secret = :s, totp_enabled_at = now(), totp_last_step = NULL "
                "WHERE email = :e"
            ),
            {"s": seal(DEMO_TOTP_SECRETS[EVALUATOR]), "e": EVALUATOR},
        )
    assert platform.token(EVALUATOR)
