"""The edges an attacker probes first, over the real platform (PostgreSQL, RabbitMQ, two
gateway processes behind a trusted proxy header):

- control characters and deep nesting in what people send, signed in or not;
- login throttling on ASVS's model: a stranger's guesses slow down only the stranger's
  address, an address spraying many accounts is stopped, reset e-mails are counted;
- business refusals logged as such (INFO, no traceback), and nothing a person typed in logs;
- the API's query parameters checked, its OpenAPI document listing every status and upload;
- security headers.

Uploads (archive bombs, PDF polyglots) are in test_hostile_input.py; the employer's withheld
counts in test_plans_flow.py.
"""

from __future__ import annotations

import copy
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import text

from rac_shared.contracts.plans import Stage
from tests.integration.test_plans_flow import ESTIMATE
from tests.support.platform import DEMO_PASSWORD, Platform
from tests.support.polling import wait_until
from tests.support.typography import ordinary_spaces

pytestmark = pytest.mark.integration

PER_ADDRESS = 20
CONTROL = "contient un caractère de contrôle non permis"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with Platform(
        tmp_path_factory.mktemp("platform"),
        separate_services=True,
        extra_env={
            "TRUSTED_PROXY_HEADER": "X-Forwarded-For",
            "LOGIN_MAX_FAILURES_PER_ADDRESS": str(PER_ADDRESS),
        },
        web_workers=2,  # throttling holds across gateway processes (state in PostgreSQL)
    ).running() as running:
        yield running


def post(platform, path: str, address: str | None = None, **kwargs) -> requests.Response:
    """A request on a new connection (spread over both gateway processes), as sent by a
    client whose address the trusted proxy wrote in X-Forwarded-For."""
    headers = kwargs.pop("headers", {})
    if address:
        headers["X-Forwarded-For"] = f"10.9.9.9, {address}"  # the proxy appends the last
    return requests.post(f"{platform.url}{path}", headers=headers, timeout=30, **kwargs)


def login(platform, email: str, password: str, address: str) -> requests.Response:
    return post(platform, "/api/auth/token", address, json={"email": email, "password": password})


def scalar(platform, sql: str, **params):
    with platform.engine("gateway").connect() as connection:
        return connection.execute(text(sql), params).scalar()


def error_of(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()["error"]


def form_page(platform, path: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{platform.url}{path}", timeout=30)
    assert page.status_code == 200
    return session, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


# -- 1. control characters -------------------------------------------------------------------


def test_a_nul_character_is_refused_at_the_boundary_naming_the_field(platform):
    failures = scalar(platform, "SELECT count(*) FROM login_failures")
    for path, body in (
        ("/api/auth/token", {"email": "a\u0000@b.c", "password": "x"}),
        ("/api/auth/password-reset", {"email": "a\u0000@b.c"}),
        ("/api/auth/token", {"email": "a@b.c", "password": "x\u001b[31m"}),
        ("/api/auth/token", {"email": "a\ud800@b.c", "password": "x"}),  # a lone surrogate
    ):
        error = error_of(post(platform, path, json=body), 422)
        field = next(iter(error["details"]))
        assert error["details"][field].startswith("Ce champ contient un caractère de contrôle")
        assert CONTROL in error["message"] and "«" in error["message"], error
    assert error_of(post(platform, "/api/auth/token", json=body), 422)["details"] == {
        "email": "Ce champ contient un caractère de contrôle non permis."
    }

    # The same in the sign-in and forgotten-password forms: the page again, in French.
    for path, fields in (
        ("/connexion", {"email": "a\x00@b.c", "password": "x"}),
        ("/mot-de-passe/oubli", {"email": "personne\x00@b.c"}),
    ):
        session, csrf = form_page(platform, path)
        page = session.post(
            f"{platform.url}{path}", data={**fields, "csrf_token": csrf}, timeout=30
        )
        assert page.status_code == 422, page.text[:300]
        assert "Adresse courriel : Ce champ contient un caractère de contrôle" in ordinary_spaces(
            page.text
        )
    assert scalar(platform, "SELECT count(*) FROM login_failures") == failures  # nothing stored

    # A query string, signed in: a page and the API.
    token = platform.token("analyste@mes.demo.quebec")
    cookie = platform.session_cookie("analyste@mes.demo.quebec")
    page = requests.get(
        f"{platform.url}/organisations?type=cegep%00", cookies={"rac_session": cookie}, timeout=30
    )
    assert page.status_code == 422 and "Le paramètre « type »" in ordinary_spaces(page.text)
    api = platform.api("GET", "/api/funding/ceracs?fiscal_year=2025-2026%01", token)
    assert error_of(api, 422)["details"] == {
        "fiscal_year": "Ce champ contient un caractère de contrôle non permis."
    }


def test_tab_and_newline_stay_allowed_in_texts_and_other_controls_are_refused(platform):
    token = platform.token("rac@cegeplevis.demo.quebec")
    estimate = copy.deepcopy(ESTIMATE)
    estimate["lines"][0]["description"] = "Services-conseils\tauprès de l'organisation"
    estimate["refund_conditions"] = "Au prorata.\r\nDeuxième ligne.\nTroisième."
    path = "/api/billing/estimates/preview"
    body = {"estimate": estimate, "candidate_count": 2}
    assert platform.api("POST", path, token, json=body).status_code == 200
    estimate["lines"][0]["description"] = "Services\x00-conseils"
    error = error_of(platform.api("POST", path, token, json=body), 422)
    assert list(error["details"]) == ["estimate.lines.0.description"]


# -- 2. nesting ------------------------------------------------------------------------------


def test_a_deeply_nested_body_is_refused_before_it_is_parsed(platform):
    for depth in (33, 100_000):
        response = post(
            platform,
            "/api/auth/token",
            data=b"[" * depth + b"]" * depth,
            headers={"Content-Type": "application/json"},
        )
        error = error_of(response, 400)
        assert error["message"] == "Le corps de la requête est trop imbriqué (32 niveaux au plus)."
    within = post(
        platform,
        "/api/auth/token",
        data=b"[" * 32 + b"]" * 32,
        headers={"Content-Type": "application/json"},
    )
    error_of(within, 422)  # parsed, then refused as the wrong shape


# -- 4. throttling ---------------------------------------------------------------------------

STRANGER = "203.0.113.66"
OWNER = "198.51.100.7"


def age_failures(platform, email: str, address: str, seconds: int) -> None:
    """As if the failures of ``address`` on ``email`` were ``seconds`` older (no waiting)."""
    with platform.engine("gateway").begin() as connection:
        connection.execute(
            text("UPDATE login_failures SET at = at - :d WHERE email = :e AND ip = :a"),
            {"d": timedelta(seconds=seconds), "e": email, "a": address},
        )


def wait_in_seconds(message: str) -> int:
    """The wait a 429 announces (« Réessayez dans 30 secondes », « … 1 minute »)."""
    number, unit = re.search(r"Réessayez dans (\d+) (seconde|minute)", message).groups()
    return int(number) * (60 if unit == "minute" else 1)


def test_a_stranger_guessing_a_password_slows_down_only_the_strangers_address(platform):
    email = "direction@boulangerie.demo.quebec"
    for _ in range(5):  # free failures, over both gateway processes
        assert login(platform, email, "pas-le-bon", STRANGER).status_code == 401
    assert scalar(
        platform, "SELECT count(*) FROM login_failures WHERE email = :e AND ip = :a",
        e=email, a=STRANGER,
    ) == 5  # fmt: skip
    # The stranger must wait (even with the right password): 30 s after the 5th failure...
    waiting = login(platform, email, DEMO_PASSWORD, STRANGER)
    error = error_of(waiting, 429)
    assert error["message"].startswith("Trop de tentatives de connexion infructueuses.")
    assert 0 < wait_in_seconds(error["message"]) <= 30
    assert 0 < int(waiting.headers["Retry-After"]) <= 30
    # ...while the owner, from their own address, signs in at once, by API and by form.
    assert login(platform, email, DEMO_PASSWORD, OWNER).status_code == 200
    session, csrf = form_page(platform, "/connexion")
    signed_in = session.post(
        f"{platform.url}/connexion",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf},
        headers={"X-Forwarded-For": OWNER},
        allow_redirects=False,
        timeout=30,
    )
    assert signed_in.status_code == 303 and "rac_session" in signed_in.cookies
    # The owner's success does not wipe the stranger's record: the back-off doubles.
    age_failures(platform, email, STRANGER, 31)
    assert login(platform, email, "encore-faux", STRANGER).status_code == 401
    doubled = error_of(login(platform, email, DEMO_PASSWORD, STRANGER), 429)["message"]
    assert 30 < wait_in_seconds(doubled) <= 60
    age_failures(platform, email, STRANGER, 31)
    assert login(platform, email, DEMO_PASSWORD, STRANGER).status_code == 429
    age_failures(platform, email, STRANGER, 30)
    assert login(platform, email, DEMO_PASSWORD, STRANGER).status_code == 200


def test_a_burst_of_concurrent_guesses_gets_no_more_than_the_free_failures(platform):
    email = "personne-inconnue@exemple.quebec"
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = sorted(
            pool.map(
                lambda _: login(platform, email, "devine", "192.0.2.77").status_code, range(12)
            )
        )
    assert statuses == [401] * 5 + [429] * 7


def test_an_address_spraying_many_accounts_is_stopped(platform):
    sprayer = "192.0.2.50"
    statuses = [
        login(platform, f"compte{account}@exemple.quebec", f"essai-{attempt}", sprayer).status_code
        for account in range(10)
        for attempt in range(4)
    ]
    assert statuses == [401] * PER_ADDRESS + [429] * (40 - PER_ADDRESS)
    refused = error_of(login(platform, "rh@cisss.demo.quebec", DEMO_PASSWORD, sprayer), 429)
    assert "depuis votre adresse réseau" in refused["message"]
    assert login(platform, "rh@cisss.demo.quebec", DEMO_PASSWORD, OWNER).status_code == 200


def test_password_reset_emails_are_limited_per_account_and_hour(platform):
    email = "fp@csnavigateurs.demo.quebec"
    for _ in range(8):
        response = post(platform, "/api/auth/password-reset", OWNER, json={"email": email})
        assert response.status_code == 202  # the same answer every time (no enumeration)
    tokens = "SELECT count(*) FROM password_reset_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = :e"  # noqa: E501
    assert scalar(platform, tokens, e=email) == 3  # one token and one e-mail event each
    wait_until(
        lambda: (
            len([m for m in platform.mails_to(email) if "Réinitialisation" in m["Subject"]]) == 3
        ),
        message="the three reset e-mails did not arrive",
    )
    assert scalar(platform, tokens, e=email) == 3


# -- 6. small cells (the demo's follow-up) ------------------------------------------------------


def test_the_employer_reads_the_demo_follow_up_with_its_small_counts_withheld(platform):
    coordinator = platform.token("rac@cegeplevis.demo.quebec")
    employer = platform.token("rh@cisss.demo.quebec")
    followed = []
    for plan in platform.api("GET", "/api/plans", employer).json()["items"]:
        if plan["status"] == "cancelled":  # the demo's cancelled plan: its follow-up ended
            continue
        theirs = platform.api("GET", f"/api/plans/{plan['id']}/progress", employer).json()
        if theirs["available"]:
            mine = platform.api("GET", f"/api/plans/{plan['id']}/progress", coordinator).json()
            if any(c["step"] != "not_started" for c in mine["candidates"] or []):
                followed.append((plan["id"], theirs, mine))
    [(plan_id, theirs, mine)] = followed
    assert sorted(s["count"] for s in mine["aggregate"]["steps"] if s["count"]) == [1, 1, 1]
    assert mine["aggregate"]["competencies_recognised"] == 1
    assert theirs["candidates"] is None and theirs["aggregate"]["withheld_below"] == 5
    assert {s["count"] for s in theirs["aggregate"]["steps"]} == {None}
    assert theirs["aggregate"]["competencies_recognised"] is None
    page = requests.get(
        f"{platform.url}/plans/{plan_id}/suivi",
        cookies={"rac_session": platform.session_cookie("rh@cisss.demo.quebec")},
        timeout=30,
    )
    assert page.status_code == 200
    assert page.text.count("moins de 5") >= len(Stage) + 2  # every step, both results
    assert "Chantal" not in page.text


# -- 7. logs ---------------------------------------------------------------------------------


def log_lines(platform, name: str) -> list[dict]:
    lines = []
    for line in platform.logs[name].read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def test_business_refusals_are_logged_as_info_without_traceback_or_what_was_typed(platform):
    token = platform.token("rac@cegeplevis.demo.quebec")
    typed = "Texte-personnel-Zéphirine-4711"
    refusals = []
    for method, path, body in (
        ("GET", "/api/plans/987654/progress", None),  # plans: not found
        ("GET", "/api/plans/987654", None),  # plans: not found
        ("POST", "/api/billing/estimates/preview", {"estimate": {"lines": [], "installments": [],
         "payment_term_days": 30, "refund_conditions": typed, "abandonment_fee": "x"}}),
    ):  # fmt: skip
        correlation = f"refus-{len(refusals)}-{typed[:5]}"
        response = platform.api(
            method, path, token, json=body, headers={"X-Correlation-Id": correlation}
        )
        assert 400 <= response.status_code < 500, response.text
        refusals.append(correlation)

    def logged():
        found = {
            line["correlation_id"]: line
            for name in ("plans", "billing")
            for line in log_lines(platform, name)
            if line.get("correlation_id") in refusals and "refused" in line["message"]
        }
        return found if len(found) >= 2 else None

    found = wait_until(logged, message="the services did not log their refusals")
    for line in found.values():
        assert line["level"] == "INFO" and "error" not in line, line
        assert re.fullmatch(r"\w+\.\w+ refused \(\w+\)", line["message"]), line
    for name in ("web", "plans", "billing"):
        for line in log_lines(platform, name):
            if line.get("correlation_id") in refusals:
                assert line["level"] in ("INFO", "DEBUG", "WARNING"), line
                assert "Traceback" not in json.dumps(line), line
        assert typed not in platform.logs[name].read_text(errors="replace"), name


# -- 8. API parameters, OpenAPI, headers -----------------------------------------------------


def test_an_invalid_or_unknown_query_parameter_is_refused_not_ignored(platform):
    token = platform.token("rac@cegeplevis.demo.quebec")
    unknown = error_of(platform.api("GET", "/api/billing/statement?as_of=2026-02-30", token), 422)
    assert unknown["details"] == {"as_of": "Paramètre inconnu."}
    assert "« as_of »" in unknown["message"]
    invalid = error_of(platform.api("GET", "/api/billing/aging?as_of=2026-02-30", token), 422)
    assert list(invalid["details"]) == ["as_of"]
    assert platform.api("GET", "/api/billing/aging?as_of=2026-02-28", token).status_code == 200
    assert error_of(platform.api("GET", "/api/me?x=1", token), 422)["details"] == {
        "x": "Paramètre inconnu."
    }
    csv = platform.api("GET", "/api/billing/statement?format=csv", token)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert error_of(platform.api("GET", "/api/billing/statement?format=xls", token), 422)


def test_openapi_lists_every_success_status_and_the_multipart_bodies(platform):
    document = requests.get(f"{platform.url}/api/openapi.json", timeout=30).json()
    paths = document["paths"]
    assert set(paths["/api/funding/ceracs/{cerac_id}/allocations"]["post"]["responses"]) == {
        "201",
        "default",
    }
    assert {"200", "201"} <= set(
        paths["/api/billing/plans/{plan_id}/costs-incurred"]["post"]["responses"]
    )  # noqa: E501
    assert "202" in paths["/api/auth/password-reset"]["post"]["responses"]
    for path, fields in (
        ("/api/applications/{application_id}/attachments", {"file", "kind"}),
        ("/api/calls/{call_id}/guide", {"file"}),
        ("/api/reporting/reports/{report_id}/attachments", {"file", "section"}),
    ):
        body = paths[path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert fields <= set(body["required"]), path
        assert body["properties"]["file"] == {"type": "string", "format": "binary"}
    statement = paths["/api/billing/statement"]["get"]
    assert "text/csv" in statement["responses"]["200"]["content"]
    assert "format" in {p["name"] for p in statement["parameters"]}


def test_pages_forbid_base_and_plugins_and_hsts_is_for_production_only(platform):
    page = requests.get(f"{platform.url}/connexion", timeout=30)
    policy = page.headers["Content-Security-Policy"]
    assert "base-uri 'none'" in policy and "object-src 'none'" in policy
    assert "Strict-Transport-Security" not in page.headers  # a test platform, over HTTP
