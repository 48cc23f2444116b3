"""The form pipeline over the real ``GatewayApp``: a refused form comes back with the values
typed, an error summary naming each field by its French label and linking to it, the
message next to the field with ``aria-invalid`` and ``aria-describedby``, never an internal
path, and nothing run behind it."""

from __future__ import annotations

import re

import pytest
from werkzeug.test import Client

from gateway import auth
from gateway.web.framework import CSRF_COOKIE
from tests.support.gateway_app import gateway_app
from tests.support.typography import ordinary_spaces


class NoRpc:
    def __init__(self):
        self.calls = []

    def call(self, service, method, **kwargs):
        self.calls.append((service, method))
        raise AssertionError(f"RPC {service}.{method} for a refused form")


@pytest.fixture
def browser(monkeypatch):
    rpc = NoRpc()
    app = gateway_app(rpc)
    monkeypatch.setattr(app, "_audit", lambda ctx, status: None)  # no database here
    client = Client(app)
    key = "cle-de-formulaire-0123456789"
    client.set_cookie(CSRF_COOKIE, key)
    return app, client, auth.csrf_token_for(app.settings, key), rpc


def summary_of(html: str) -> str:
    return re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)


def test_a_refused_form_names_each_field_by_its_label_and_links_to_it(browser):
    app, client, csrf, rpc = browser
    response = client.post(
        "/mot-de-passe/reinitialiser/jeton",
        data={"csrf_token": csrf, "password": "x" * 250, "confirmation": ""},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = summary_of(html)
    assert "Rien n'a été modifié" in summary and "Une erreur à corriger" in summary
    link = re.search(r'<a href="#([^"]+)">([^<]+)</a>', summary)
    assert ordinary_spaces(link.group(2)) == "Nouveau mot de passe : Ce texte est trop long."
    field = re.search(rf'<input id="{link.group(1)}"[^>]*>', html).group(0)
    assert 'name="password"' in field and 'aria-invalid="true"' in field
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1)
    assert f'id="{described}">Ce texte est trop long.</span>' in html
    assert "password" not in summary.replace("#champ-password", "")  # no internal path
    assert rpc.calls == []


def test_what_was_typed_comes_back_and_limits_are_the_contract_s(browser):
    app, client, csrf, rpc = browser
    address = "quelqu'un@" + "x" * 300
    response = client.post("/mot-de-passe/oubli", data={"csrf_token": csrf, "email": address})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'value="{address.replace(chr(39), "&#39;")}"' in html  # not cut, not lost
    assert "Adresse courriel : Ce texte est trop long." in ordinary_spaces(summary_of(html))


def test_an_unknown_notice_key_shows_nothing_and_a_declared_one_shows_its_text(browser):
    app, client, _, _ = browser
    assert "Vous êtes déconnecté." in client.get("/connexion?fait=deconnecte").get_data(
        as_text=True
    )
    assert 'class="notice"' not in client.get("/connexion?fait=inconnu").get_data(as_text=True)
