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


def test_a_post_row_gives_the_rpc_its_arguments_by_name_and_the_rest_as_data():
    """``passthrough.Post``: a URL id or form field that the RPC takes goes by its name (the
    URL's first), the rest of the form is ``data``, a URL id only ``data`` has goes into it,
    and a form that is all of ``data`` goes as it is."""
    from gateway.web.forms import NoFields
    from gateway.web.passthrough import rpc_arguments
    from rac_shared.contracts import applications, scoring

    class Decision(scoring.DecisionIn):
        evaluation_id: int

    decided = Decision(evaluation_id=4, designated=True, justification="Dossier solide.")
    takes, fields = {"evaluation_id", "data"}, set(scoring.DecisionIn.model_fields)
    arguments = rpc_arguments(takes, fields, {"call_id": 7}, decided, {})
    assert arguments == {"evaluation_id": 4, "data": decided.model_dump(exclude={"evaluation_id"})}

    review = applications.RuleReviewIn(passed=True)
    fields = set(applications.ReviewIn.model_fields)
    url_args = {"application_id": 3, "rule": "deposit"}
    assert rpc_arguments({"application_id", "data"}, fields, url_args, review, {}) == {
        "application_id": 3,
        "data": {"passed": True, "justification": "", "rule": "deposit"},
    }

    file = {"filename": "guide.pdf", "content_b64": "JVBERi0="}
    takes = {"call_id", "filename", "content_b64"}
    assert rpc_arguments(takes, set(), {"call_id": 2}, NoFields(), file) == {"call_id": 2, **file}
    takes, fields = {"application_id", "item_id", "data"}, {"filename", "content_b64"}
    assert rpc_arguments(takes, fields, {"application_id": 3, "item_id": 5}, NoFields(), file) == {
        "application_id": 3, "item_id": 5, "data": file,
    }  # fmt: skip

    answers = applications.AnswersIn(answers={12: "oui"})
    takes = {"application_id", "section_id", "answers"}
    assert rpc_arguments(takes, set(), {"application_id": 3, "section_id": 9}, answers, {}) == {
        "application_id": 3, "section_id": 9, "answers": {12: "oui"},
    }  # fmt: skip
    paper = applications.PaperReceiptIn(received_on="2026-03-02")
    fields = set(applications.PaperReceiptIn.model_fields)
    assert rpc_arguments(takes | {"data"}, fields, {"application_id": 3}, paper, {}) == {
        "application_id": 3, "data": paper,
    }  # fmt: skip
    assert rpc_arguments({"application_id"}, set(), {"application_id": 3}, NoFields(), {}) == {
        "application_id": 3
    }


class Recorded:
    """An RPC client that records each call and answers ``replies[method]``."""

    def __init__(self, replies: dict):
        self.replies, self.calls = replies, []

    def call(self, service, method, correlation_id=None, timeout=None, raw=False, **kwargs):
        kwargs.pop("actor")
        self.calls.append((method, kwargs))
        if isinstance(self.replies[method], Exception):
            raise self.replies[method]
        return self.replies[method]


def test_rows_send_the_file_pass_body_fields_by_name_and_pick_the_notice():
    """A row with ``upload`` (a page's ``Post``, an ``Api``) sends the posted file as
    ``filename`` and ``content_b64``; an ``Api`` row with ``fields`` passes its body's fields
    by name; a row's notice may depend on the reply (signatures withdrawn by a changed
    answer)."""
    import base64
    import io

    from services.applications.testing import LEVIS_RAC, MINIMAL_PDF
    from tests.support.pages import Browser

    rpc = Recorded({"upload_complement_document": {"item_id": 5, "provided": True},
                    "save_answers": {"id": 3, "signatures_voided": 2}})  # fmt: skip
    posted = Browser(rpc, LEVIS_RAC).post(
        "/demandes/3/complements/elements/5/fichier",
        {"fichier": (io.BytesIO(MINIMAL_PDF), "lettre.pdf")},
    )
    assert posted.headers["Location"] == "/demandes/3?fait=element-fourni#complements"
    content = base64.b64encode(MINIMAL_PDF).decode("ascii")
    assert rpc.calls[-1] == (
        "upload_complement_document",
        {"application_id": 3, "item_id": 5,
         "data": {"filename": "lettre.pdf", "content_b64": content}},
    )  # fmt: skip

    # The API's upload row: its multipart fields are the RPC's data but the file's own.
    api = Browser(rpc, LEVIS_RAC).client.post(
        "/api/applications/3/complements/items/5/file",
        data={"file": (io.BytesIO(MINIMAL_PDF), "lettre.pdf")},
    )
    assert api.status_code == 200 and api.json == {"item_id": 5, "provided": True}
    assert rpc.calls[-1][1]["data"] == {"filename": "lettre.pdf", "content_b64": content}
    refused = Browser(rpc, LEVIS_RAC).client.post(
        "/api/applications/3/complements/items/5/file", data={"file": (io.BytesIO(b""), "")}
    )
    assert refused.status_code == 422 and refused.json["error"]["details"] == {
        "file": "Aucun fichier choisi."
    }
    assert len(rpc.calls) == 2  # nothing sent

    # An Api row with ``fields``: the body's fields are the RPC's keyword arguments.
    put = Browser(rpc, LEVIS_RAC).client.put(
        "/api/applications/3/sections/9", json={"answers": {"12": "oui"}}
    )
    assert put.status_code == 200 and put.json == {"id": 3, "signatures_voided": 2}
    assert rpc.calls[-1] == (
        "save_answers", {"application_id": 3, "section_id": 9, "answers": {"12": "oui"}}
    )  # fmt: skip

    saved = Browser(rpc, LEVIS_RAC).post("/demandes/3/sections/9", {"answers.12": "oui"})
    assert saved.headers["Location"] == "/demandes/3?fait=section-signatures"
    assert rpc.calls[-1][0] == "save_answers"
    assert rpc.calls[-1][1]["answers"] == {"12": "oui"}


def test_a_guarded_row_checks_before_its_rpc():
    """``Api(guard=…)`` / ``Download(guard=…)``: an evaluator's read of an application's
    document is refused, as the scoring service says, before the applications service is
    asked for it."""
    from rac_shared.errors import not_found
    from services.applications.testing import EVALUATOR
    from tests.support.pages import Browser

    refused = not_found("Demande introuvable.")
    rpc = Recorded({"ensure_may_read_application": refused, "get_receipt": {}})
    for path in ("/demandes/3/accuse-reception.pdf", "/api/applications/3/receipt"):
        assert Browser(rpc, EVALUATOR).client.get(path).status_code == 404
    assert [method for method, _ in rpc.calls] == ["ensure_may_read_application"] * 2
