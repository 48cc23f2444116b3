"""CSRF on every form, and the session checks behind it, over the real ``GatewayApp``.

Every non-API POST route of the registry is walked, for every role it admits (and
anonymously for the public forms): without a CSRF token, with an empty or a made-up one,
with the token of another session and with the pre-login token of the same browser, the
answer is 403 and the handler never runs (no RPC, nothing it could change). The same request
with the right token does reach the handler, so the refusals are about the token only.
Also here: a token whose user was deleted or disabled, or whose session was revoked.
"""

from __future__ import annotations

import dataclasses
import io
import re
import types

import pytest
from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Response

from gateway import auth
from gateway.web.framework import CSRF_COOKIE, PUBLIC, REGISTRY, SESSION_COOKIE
from rac_shared.actor import MINISTRY_ROLES, Role
from tests.support.gateway_app import gateway_app

ORGANISATION_KIND = {
    Role.MINISTRY_ADMIN: "ministry",
    Role.MINISTRY_ANALYST: "ministry",
    Role.MINISTRY_EVALUATOR: "ministry",
    Role.EMPLOYER_REPRESENTATIVE: "employer",
}
USER_IDS = {role: 100 + index for index, role in enumerate(Role)}


class RecordingRpc:
    """Any RPC at all would mean that the handler ran."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def call(self, service, method, correlation_id=None, timeout=None, raw=False, **kwargs):
        self.calls.append((service, method))
        raise AssertionError(f"RPC {service}.{method} during a refused request")


@dataclasses.dataclass
class Directory:
    """The users' rows as ``fetch_session_row`` reads them; ``None`` for a deleted user."""

    rows: dict[int, types.SimpleNamespace | None]

    def row(self, user_id: int):
        return self.rows.get(user_id)


def form_posts():
    return [
        (spec, method) for spec in REGISTRY for method in spec.methods if method == "POST"
        if not spec.api and spec.csrf
    ]  # fmt: skip


def test_only_the_one_click_unsubscribe_post_goes_without_a_csrf_token():
    """RFC 8058's POST comes from the mail client, not from a form of ours: its signed token
    is the authority. No other page route may opt out of CSRF."""
    exempt = {(spec.path, method) for spec in REGISTRY for method in spec.methods
              if not spec.api and method == "POST" and not spec.csrf}  # fmt: skip
    assert exempt == {("/desabonnement/<token>", "POST")}


def concrete(path: str) -> str:
    """The route's URL with every argument filled (1 for numbers, a word otherwise)."""
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "jeton", path)


@pytest.fixture(scope="module")
def gateway():
    """One app for the module, whose handlers only record that they ran."""
    original_registry = list(REGISTRY)
    ran: list[str] = []
    for index, spec in enumerate(REGISTRY):

        def handler(ctx, _endpoint=spec.endpoint, **_url_args):
            ran.append(_endpoint)
            return Response("atteint", status=299)

        # The form pipeline is the handler's front half here: a token check passed means
        # the handler is reached, whatever the form's content.
        REGISTRY[index] = dataclasses.replace(spec, handler=handler, form=None, on_error=None)
    try:
        rpc = RecordingRpc()
        app = gateway_app(rpc)
        directory = Directory({})
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(app, "_session_row", directory.row)
            patch.setattr(app, "_audit", lambda ctx, status: None)
            yield types.SimpleNamespace(gateway=app, rpc=rpc, ran=ran, directory=directory)
    finally:
        REGISTRY[:] = original_registry


@pytest.fixture
def app(gateway):
    gateway.ran.clear()
    gateway.rpc.calls.clear()
    gateway.directory.rows = {
        user_id: types.SimpleNamespace(
            id=user_id,
            email=f"{role.value}@exemple.quebec",
            full_name=role.value,
            role=role.value,
            organisation_id=user_id,
            name=f"Organisation {user_id}",
            kind=ORGANISATION_KIND.get(role, "cegep"),
            active=True,
            session_version=1,
            totp_enabled_at=None,
        )
        for role, user_id in USER_IDS.items()
    }
    return gateway


def browser(app, role: Role | None) -> tuple[Client, str]:
    """A browser (signed in as ``role``, or anonymous with its CSRF cookie) and the CSRF
    token its pages carry."""
    client = Client(app.gateway)
    if role is None:
        key = "cle-anonyme-0123456789"
        client.set_cookie(CSRF_COOKIE, key)
        return client, auth.csrf_token_for(app.gateway.settings, key)
    token, token_id = auth.issue_token(
        app.gateway.settings, USER_IDS[role], 1, second_factor=role in MINISTRY_ROLES
    )
    client.set_cookie(SESSION_COOKIE, token)
    # The same browser also holds the CSRF cookie it got on the login page.
    client.set_cookie(CSRF_COOKIE, "cle-d-avant-la-connexion")
    return client, auth.csrf_token_for(app.gateway.settings, token_id)


def who_may_post(spec) -> list[Role | None]:
    if spec.access == PUBLIC:
        return [None]
    return [role for role in Role if spec.allows(types.SimpleNamespace(role=role))]


def test_every_form_is_walked():
    posts = form_posts()
    assert len(posts) > 50, "the registry should hold every form of the platform"
    urls = Map([Rule(s.path, endpoint=s.endpoint, methods=list(s.methods)) for s in REGISTRY])
    adapter = urls.bind("testserver")
    for spec, method in posts:
        assert adapter.match(concrete(spec.path), method=method)[0] == spec.endpoint


@pytest.mark.parametrize(
    ("spec", "method"), form_posts(), ids=lambda v: v.endpoint if hasattr(v, "endpoint") else ""
)
def test_a_form_without_the_right_csrf_token_is_refused_before_its_handler(app, spec, method):
    settings = app.gateway.settings
    url = concrete(spec.path)
    roles = who_may_post(spec)
    assert roles, f"nobody may post {spec.path}"
    for role in roles:
        client, good = browser(app, role)
        wrong_tokens = {
            "no token": None,
            "empty": "",
            "made-up": "0" * 64,
            "one character off": good[:-1] + ("0" if good[-1] != "0" else "1"),
            "another session's": auth.csrf_token_for(settings, "une-autre-session"),
            "signed with another secret": auth.csrf_token_for(
                settings.model_copy(update={"jwt_secret": "x" * 48}), "cle-d-avant-la-connexion"
            ),
        }
        if role is not None:
            # The browser's own pre-login token no longer counts once signed in.
            wrong_tokens["pre-login"] = auth.csrf_token_for(settings, "cle-d-avant-la-connexion")
        if role != roles[0]:  # every variant for one role; the main two for the others
            wrong_tokens = {k: v for k, v in wrong_tokens.items() if k in ("no token", "pre-login")}
        for name, token in wrong_tokens.items():
            data = {"champ": "valeur"} if token is None else {"csrf_token": token}
            for multipart in (False, True) if role == roles[0] else (False,):
                if multipart:
                    data = {**data, "fichier": (io.BytesIO(b"%PDF-1.4"), "a.pdf")}
                response = client.post(url, data=data)
                who = role.value if role else "anonymous"
                assert response.status_code == 403, f"{spec.path} as {who}, {name} token"
                assert "Le formulaire a expiré" in response.get_data(as_text=True)
        assert app.ran == [] and app.rpc.calls == [], f"{spec.endpoint} ran without its token"
        # Control: the right token reaches the handler.
        response = client.post(url, data={"csrf_token": good})
        assert response.status_code == 299, f"{spec.path}: {response.status_code}"
        assert app.ran == [spec.endpoint]
        app.ran.clear()


def test_a_csrf_token_in_the_query_string_or_a_header_does_not_count(app):
    client, good = browser(app, Role.RAC_COORDINATOR)
    for kwargs in (
        {"query_string": {"csrf_token": good}},
        {"headers": {"X-CSRF-Token": good}},
        {"json": {"csrf_token": good}},
    ):
        assert client.post("/messages/preferences", **kwargs).status_code == 403, kwargs
    assert app.ran == []


# -- the user behind a valid token -------------------------------------------------------


def test_a_token_of_a_deleted_or_disabled_user_or_a_revoked_session_is_refused(app):
    role = Role.DIRECTOR_GENERAL
    user_id = USER_IDS[role]
    token, _ = auth.issue_token(app.gateway.settings, user_id, 1)
    client = Client(app.gateway)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=bearer).status_code == 299  # control
    original = app.directory.rows[user_id]
    for name, row in (
        ("deleted", None),
        ("disabled", types.SimpleNamespace(**{**vars(original), "active": False})),
        ("revoked", types.SimpleNamespace(**{**vars(original), "session_version": 2})),
    ):
        app.directory.rows[user_id] = row
        api = client.get("/api/me", headers=bearer)
        assert api.status_code == 401, name
        assert api.json["error"]["message"] == "Session révoquée ou compte désactivé."
        client.set_cookie(SESSION_COOKIE, token)
        page = client.get("/messages")
        assert page.status_code == 303, name
        assert page.headers["Location"] == "/connexion?suite=/messages"
        assert any(c.startswith(f"{SESSION_COOKIE}=;") for c in page.headers.getlist("Set-Cookie"))
        client.delete_cookie(SESSION_COOKIE)
    assert app.ran == ["api_me"]
    app.directory.rows[user_id] = original
    assert client.get("/api/me", headers=bearer).status_code == 299


# -- the second factor ---------------------------------------------------------------------


def _protected_routes():
    return [(spec, method) for spec in REGISTRY for method in spec.methods
            if spec.access != PUBLIC]  # fmt: skip


@pytest.mark.parametrize("kind", ["password only", "pending second step", "pending enrolment"])
@pytest.mark.parametrize("role", sorted(MINISTRY_ROLES))
def test_a_ministry_token_without_the_second_factor_reaches_no_route(app, role, kind):
    """Neither a token of the password step alone nor the short proof that it passed (a
    pending stage) is a session: every protected page and API route answers as to
    someone signed out, and no handler runs."""
    stage = {"pending second step": "otp", "pending enrolment": "enrol"}.get(kind)
    token, _ = auth.issue_token(app.gateway.settings, USER_IDS[role], 1, stage=stage)
    for spec, method in _protected_routes():
        client = Client(app.gateway)
        url = concrete(spec.path)
        if spec.api:
            response = client.open(url, method=method, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (url, method)
        else:
            client.set_cookie(SESSION_COOKIE, token)
            response = client.open(url, method=method)
            assert response.status_code == 303, (url, method, response.status_code)
            assert response.headers["Location"].startswith("/connexion?suite="), url
    assert app.ran == []


def test_an_institution_user_who_chose_the_second_factor_needs_it_too(app):
    role = Role.RAC_COORDINATOR
    app.directory.rows[USER_IDS[role]].totp_enabled_at = "2026-12-01T10:00:00+00:00"
    password_only, _ = auth.issue_token(app.gateway.settings, USER_IDS[role], 1)
    both, _ = auth.issue_token(app.gateway.settings, USER_IDS[role], 1, second_factor=True)
    client = Client(app.gateway)
    assert (
        client.get("/api/me", headers={"Authorization": f"Bearer {password_only}"}).status_code
        == 401
    )
    assert client.get("/api/me", headers={"Authorization": f"Bearer {both}"}).status_code == 299
