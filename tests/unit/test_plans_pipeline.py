"""What the plans area added to the gateway's one pipeline: a redirect's notice before the
location's ``#fragment`` (the editor's sections), query parameters whose names are not
Python names (``?from=&to=``), an upload limit below one megabyte said in Ko (the logo),
an API refusal whose message names the first problem when the contract asks for it, and
an error on one line of a text area typed one item per line (closure dates) shown on it."""

from __future__ import annotations

import io
import json
from typing import ClassVar

import pytest
from pydantic import Field
from werkzeug.test import Client
from werkzeug.wrappers import Response

from gateway.web import responses
from gateway.web.forms import FormState
from gateway.web.framework import PUBLIC, REGISTRY, notices, route
from gateway.web.openapi import openapi_document
from rac_shared.contracts.base import Line, OptionalInt, Strict, headline_for
from rac_shared.contracts.plans import DraftStepsIn
from tests.support.gateway_app import gateway_app

notices(**{"essai-enregistre": "Enregistré."})


class Versions(Strict):
    left: OptionalInt = Field(None, ge=1, alias="from")
    right: OptionalInt = Field(None, ge=1, alias="to")


class Named(Strict):
    refusal_headline: ClassVar[str | None] = "Les données de l'essai sont invalides"
    context: Line = Field(title="Contexte")


class Plain(Strict):
    context: Line = Field(title="Contexte")


@pytest.fixture
def client():
    original = list(REGISTRY)

    @route("/api/essai/versions", access=PUBLIC, query=Versions)
    def test_api_versions(ctx):
        return {"left": ctx.query.left, "right": ctx.query.right}

    @route("/essai/sections", methods=("POST",), access=PUBLIC, csrf=False)
    def test_page_saved(ctx):
        return ctx.done("/essai/modifier#etapes", "essai-enregistre")

    @route("/essai/logo", methods=("POST",), access=PUBLIC, csrf=False)
    def test_page_logo(ctx):
        filename, content = responses.uploaded(ctx, "logo", 512 * 1024)
        return Response(f"{filename}:{len(content)}")

    @route("/api/essai/nomme", methods=("POST",), access=PUBLIC, body=Named)
    def test_api_named(ctx):
        return {}

    @route("/api/essai/simple", methods=("POST",), access=PUBLIC, body=Plain)
    def test_api_plain(ctx):
        return {}

    try:
        app = gateway_app(rpc=None)
        app._audit = lambda ctx, status: None
        yield Client(app)
    finally:
        REGISTRY[:] = original
        openapi_document.cache_clear()


def test_the_notice_goes_before_the_fragment_of_the_location(client):
    answer = client.post("/essai/sections")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/essai/modifier?fait=essai-enregistre#etapes"


def test_query_parameters_may_be_named_otherwise_than_their_field(client):
    answer = client.get("/api/essai/versions?from=1&to=3")
    assert answer.status_code == 200 and json.loads(answer.data) == {"left": 1, "right": 3}
    refused = client.get("/api/essai/versions?from=0")
    assert refused.status_code == 422
    assert list(json.loads(refused.data)["error"]["details"]) == ["from"]
    parameters = openapi_document()["paths"]["/api/essai/versions"]["get"]["parameters"]
    assert {p["name"] for p in parameters if p["in"] == "query"} == {"from", "to"}


def test_an_upload_limit_below_a_megabyte_is_said_in_ko(client):
    answer = client.post(
        "/essai/logo", data={"logo": (io.BytesIO(b"\x89PNG" + b"0" * 600 * 1024), "logo.png")}
    )
    assert answer.status_code == 422
    assert "taille maximale de 512 Ko" in answer.get_data(as_text=True)
    assert responses.size_limit(10 * 1024 * 1024) == "10 Mo"
    small = client.post("/essai/logo", data={"logo": (io.BytesIO(b"\x89PNG1234"), "logo.png")})
    assert small.get_data(as_text=True) == "logo.png:8"


def test_an_api_refusal_names_the_first_problem_where_the_contract_asks(client):
    markup = {"context": "<b>gras</b>"}
    named = json.loads(client.post("/api/essai/nomme", json=markup).data)["error"]
    assert named["message"].startswith("Les données de l'essai sont invalides : Le texte ne")
    assert "balises HTML" in named["message"] and list(named["details"]) == ["context"]
    plain = json.loads(client.post("/api/essai/simple", json=markup).data)["error"]
    assert plain["message"] == "Les données envoyées sont invalides."
    assert headline_for(Plain, {"context": "x"}, "Défaut.") == "Défaut."
    assert headline_for(Named, {}, "Défaut.") == "Défaut."


def test_an_item_of_a_list_typed_one_per_line_shows_its_error_on_the_text_area():
    form = FormState(
        values={"closure_dates": "2027-01-29\n29 janvier"},
        errors={"closure_dates.1": "Une date AAAA-MM-JJ est attendue."},
        model=DraftStepsIn,
    )
    assert form.error("closure_dates") == "Une date AAAA-MM-JJ est attendue."
    [item] = form.summary()
    assert item["label"] == "Date de fermeture 2" and item["anchor"] == "#champ-closure-dates"
    rows = FormState(
        errors={"steps.1.end": "Une date AAAA-MM-JJ est attendue."}, model=DraftStepsIn
    )
    assert rows.error("steps") is None and rows.summary()[0]["anchor"] == "#champ-steps-1-end"
