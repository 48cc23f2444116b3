"""What the applications area added to the gateway's one pipeline: query strings decoded into
a contract model, the fields of an API upload validated like a page form, forms with a group
of fields per key (a report's sections), refusals whose message is a list, and client names
that name another part of a service's contract (``ctx.network`` → applications)."""

from __future__ import annotations

import json

import pytest
from pydantic import Field
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict
from werkzeug.test import Client
from werkzeug.wrappers import Response

from gateway.clients import TypedClient, protocol_of, target_of, typed_client
from gateway.rpc_client import RpcOverloaded, RpcUnavailable
from gateway.web.forms import decode, errors_for_fields, label_of
from gateway.web.framework import PUBLIC, REGISTRY, route
from gateway.web.openapi import openapi_document
from rac_shared.contracts.base import Strict
from rac_shared.contracts.network import NetworkRpc, ReportDraftIn, ReportStatus
from tests.support.gateway_app import gateway_app

# What SQLAlchemy raises when PostgreSQL refuses a connection: no statement was run.
TOO_MANY_CLIENTS = OperationalError(None, None, Exception("FATAL: sorry, too many clients already"))


class Filters(Strict):
    status: ReportStatus | None = Field(None, title="Statut")
    late: bool = False
    q: str = Field("", max_length=5)


class UploadFields(Strict):
    section: str = Field(min_length=1, max_length=20, title="Section")


@pytest.fixture
def client():
    """A real app with three test routes: a page and an API route reading a query, and
    an API upload with fields."""
    original = list(REGISTRY)
    seen: dict = {}

    @route("/essai/filtres", access=PUBLIC, query=Filters)
    def test_page_filters(ctx):
        seen["page"] = ctx.query
        return Response("ok")

    @route("/api/essai/filtres", access=PUBLIC, query=Filters)
    def test_api_filters(ctx):
        return {"status": ctx.query.status, "late": ctx.query.late}

    @route("/api/essai/surcharge", access=PUBLIC)
    def test_api_overloaded(ctx):
        raise RpcOverloaded("plans: 10 calls in flight")

    @route("/api/essai/indisponible", access=PUBLIC)
    def test_api_unavailable(ctx):
        raise RpcUnavailable("service plans is not running")

    @route("/api/essai/base-saturee", access=PUBLIC)
    def test_api_database_full(ctx):
        raise TOO_MANY_CLIENTS

    @route("/api/essai/requete-fautive", access=PUBLIC)
    def test_api_statement_failed(ctx):
        raise OperationalError("SELECT 1", {}, Exception("division by zero"))

    @route("/api/essai/pieces", methods=("POST",), access=PUBLIC, form=UploadFields)
    def test_api_upload(ctx, form: UploadFields):
        return {"section": form.section}

    try:
        app = gateway_app(rpc=None)
        app._audit = lambda ctx, status: None
        yield Client(app), seen
    finally:
        REGISTRY[:] = original
        openapi_document.cache_clear()


def test_a_query_string_becomes_the_route_model_and_other_parameters_are_ignored(client):
    http, seen = client
    answer = http.get("/essai/filtres?status=submitted&late=1&fait=enregistre")
    assert answer.status_code == 200
    assert seen["page"] == Filters(status=ReportStatus.SUBMITTED, late=True)
    assert http.get("/essai/filtres?status=").status_code == 200 and seen["page"] == Filters()
    api = http.get("/api/essai/filtres?late=oui")
    assert json.loads(api.data) == {"status": None, "late": True}


def test_an_invalid_query_is_refused_with_a_message_per_parameter(client):
    http, _ = client
    refused = http.get("/api/essai/filtres?status=' OR 1=1 --&q=trop-long")
    assert refused.status_code == 422
    error = json.loads(refused.data)["error"]
    assert error["message"] == "Les critères de la recherche sont invalides."
    assert error["details"] == {
        "status": "Cette valeur n'est pas permise.",
        "q": "Ce texte est trop long.",
    }
    page = http.get("/essai/filtres?status=inconnu")
    assert page.status_code == 422 and "Cette valeur n" in page.get_data(as_text=True)


def test_the_fields_of_an_api_upload_are_validated_like_a_form(client):
    http, _ = client
    accepted = http.post("/api/essai/pieces", data={"section": "offer"})
    assert accepted.status_code == 200 and json.loads(accepted.data) == {"section": "offer"}
    refused = http.post("/api/essai/pieces", data={})
    assert refused.status_code == 422
    assert json.loads(refused.data)["error"]["details"] == {"section": "Ce champ est obligatoire."}


def test_query_models_are_documented_as_query_parameters(client):
    document = openapi_document()
    operation = document["paths"]["/api/essai/filtres"]["get"]
    names = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(names) == {"status", "late", "q"}
    assert names["status"]["required"] is False
    assert "#/components/schemas/ReportStatus" in json.dumps(names["status"]["schema"])
    assert "submitted" in document["components"]["schemas"]["ReportStatus"]["enum"]


def test_a_group_of_fields_per_key_decodes_and_labels_its_fields():
    form = MultiDict(
        [
            ("sections.offer.objectives", "Soutenir"),
            ("sections.offer.indicators.0.source", "support_received"),
            ("sections.offer.indicators.0.target", "5"),
            ("sections.offer.indicators.1.label", ""),
            ("sections.offer.indicators.1.target", ""),
            ("sections.quality.narrative", "Grille adoptée."),
            ("sections.quality.indicators.0.achieved", "2,5"),
        ]
    )
    data = decode(form, ReportDraftIn)
    assert data["sections"]["offer"]["indicators"] == [
        {"source": "support_received", "target": "5"}  # the blank row is dropped
    ]
    draft = ReportDraftIn.model_validate(data)
    assert str(draft.sections["quality"].indicators[0].achieved) == "2.50"
    assert draft.sections["quality"].objectives == ""
    path = "sections.quality.indicators.0.achieved"
    assert label_of(ReportDraftIn, path) == "Indicateur 1 — Valeur atteinte"


def test_a_refusal_listing_several_problems_shows_them_as_one_message():
    errors = errors_for_fields({"problemes": ["Le guide manque.", "La grille compte 90."]})
    assert errors == {"problemes": "Le guide manque. La grille compte 90."}


class Counting:
    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def rpc(self, service, method, **kwargs):
        self.calls.append((service, method))
        return {"is_cerac": False, "received": [], "sent": []}


def test_a_client_name_may_name_another_part_of_a_service_contract():
    assert target_of("network") == ("applications", "rac_shared.contracts.network:NetworkRpc")
    assert target_of("scoring") == ("scoring", "rac_shared.contracts.scoring:ScoringRpc")
    assert protocol_of("network") is NetworkRpc
    ctx = Counting()
    client = typed_client(ctx, "network")
    assert isinstance(client, TypedClient)
    assert client.support_requests().sent == []
    assert ctx.calls == [("applications", "support_requests")]  # counted as applications
    with pytest.raises(AttributeError):
        client.list_calls  # noqa: B018  (ApplicationsRpc's, not NetworkRpc's)


def test_a_service_unavailable_or_shedding_load_says_when_to_come_back(client):
    """503 always carries Retry-After: the overloaded service's short wait when the gateway
    sheds load, a few seconds otherwise; the body stays the API's French error."""
    http, _ = client
    shed = http.get("/api/essai/surcharge")
    assert shed.status_code == 503 and shed.headers["Retry-After"] == "2"
    assert shed.json["error"]["code"] == "unavailable"
    down = http.get("/api/essai/indisponible")
    assert down.status_code == 503 and down.headers["Retry-After"] == "5"
    # PostgreSQL refusing the gateway a connection (« too many clients ») is load, not a
    # defect: 503 and come back; a statement that failed is still a 500.
    full = http.get("/api/essai/base-saturee")
    assert full.status_code == 503 and full.headers["Retry-After"] == "5"
    assert full.json["error"]["code"] == "unavailable"
    failed = http.get("/api/essai/requete-fautive")
    assert failed.status_code == 500 and "Retry-After" not in failed.headers
