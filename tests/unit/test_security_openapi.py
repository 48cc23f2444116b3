"""The published OpenAPI document describes each operation with its own models and media
types (schemathesis validates the live answers against it): two models with the same class
name in two feature modules must not share, or overwrite, one schema."""

from __future__ import annotations

from collections import Counter

import gateway.web.app  # noqa: F401  (registers every route)
from gateway.web.framework import REGISTRY
from gateway.web.openapi import openapi_document
from gateway.web.responses import XLSX_MIME


def resolve(document: dict, schema: dict) -> dict:
    return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]


def test_each_operation_points_to_the_schema_of_its_own_models():
    document = openapi_document()
    names = Counter(m.__name__ for s in REGISTRY for m in (s.body, s.response) if m)
    assert any(count > 1 for count in names.values()), "no homonym models left to tell apart"
    for spec in (s for s in REGISTRY if s.api):
        path = spec.path.replace("<int:", "<").replace("<", "{").replace(">", "}")
        for method in spec.methods:
            operation = document["paths"][path][method.lower()]
            if spec.body is not None:
                media = operation["requestBody"]["content"]["application/json"]
                schema = resolve(document, media["schema"])
                assert set(schema.get("properties", {})) == set(spec.body.model_fields), (
                    f"{method} {spec.path}: request body is not {spec.body.__qualname__}"
                )
            if spec.response is not None:
                ok = next(
                    v for k, v in operation["responses"].items() if k in ("200", "201", "202")
                )
                schema = resolve(document, ok["content"]["application/json"]["schema"])
                assert set(schema.get("properties", {})) == set(spec.response.model_fields), (
                    f"{method} {spec.path}: response is not {spec.response.__module__}."
                    f"{spec.response.__qualname__}"
                )


def test_file_downloads_are_documented_with_their_media_types():
    paths = openapi_document()["paths"]

    def media(path: str) -> set[str]:
        return set(paths[path]["get"]["responses"]["200"]["content"])

    assert media("/api/plans/{plan_id}/pdf") == {"application/pdf"}
    assert media("/api/calls/{call_id}/applications.csv") == {"text/csv"}
    assert media("/api/calls/{call_id}/applications.xlsx") == {XLSX_MIME}
    assert "image/png" in media("/api/applications/{application_id}/attachments/{attachment_id}")
    assert media("/api/me") == {"application/json"}
    # A reading that answers its file on request (``Api(formats=…)``): each file's type too.
    statement = paths["/api/funding/ceracs/{cerac_id}/statement"]["get"]
    assert media("/api/funding/ceracs/{cerac_id}/statement") == {
        "application/json",
        "text/csv",
        "application/pdf",
    }
    [wanted] = [p for p in statement["parameters"] if p["name"] == "format"]
    assert wanted["schema"]["anyOf"][0]["enum"] == ["csv", "pdf"] and not wanted["required"]
    assert statement["summary"].endswith("(format=csv ou pdf pour l'exporter)")
