"""The OpenAPI document describes every /api/ route, consistently."""

from __future__ import annotations

import re

import pytest

import gateway.web.app  # noqa: F401  (registers the routes)
from gateway.web.framework import PUBLIC, REGISTRY
from gateway.web.openapi import openapi_document

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi_document()


def openapi_path(path: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)


def api_specs():
    return [spec for spec in REGISTRY if spec.path.startswith("/api/")]


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_document_header(document):
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_api_route_is_documented_with_its_methods(document):
    assert api_specs(), "no /api/ route registered"
    for spec in api_specs():
        path = openapi_path(spec.path)
        assert path in document["paths"], f"{spec.path} missing from the document"
        for method in spec.methods:
            operation = document["paths"][path].get(method.lower())
            assert operation is not None, f"{method} {spec.path} missing"
            assert operation["operationId"] == spec.endpoint


def test_nothing_but_api_routes_is_documented(document):
    expected = {
        (openapi_path(spec.path), method.lower()) for spec in api_specs() for method in spec.methods
    }
    assert {(path, method) for path, method, _ in operations(document)} == expected


def test_operation_ids_are_unique(document):
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))


def test_path_parameters_are_declared(document):
    for path, method, operation in operations(document):
        names = re.findall(r"{(\w+)}", path)
        declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        assert sorted(names) == sorted(declared), f"{method.upper()} {path}"


def test_every_ref_resolves(document):
    schemas = document["components"]["schemas"]
    found = list(refs(document))
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_security_matches_declared_access(document):
    for spec in api_specs():
        for method in spec.methods:
            operation = document["paths"][openapi_path(spec.path)][method.lower()]
            if spec.access == PUBLIC:
                assert "security" not in operation, f"{method} {spec.path}"
            else:
                assert operation.get("security") == [{"bearer": []}], f"{method} {spec.path}"
                assert operation.get("x-roles"), f"{method} {spec.path}"


def test_operations_document_errors_and_success(document):
    for path, method, operation in operations(document):
        responses = operation["responses"]
        assert responses["default"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        assert {"200", "201", "202"} & responses.keys(), f"{method.upper()} {path}"


def test_every_success_status_and_multipart_body_is_documented(document):
    """A creation documents its 201; an upload its multipart body with the file field."""
    allocations = document["paths"]["/api/funding/ceracs/{cerac_id}/allocations"]["post"]
    assert set(allocations["responses"]) == {"201", "default"}
    for spec in REGISTRY:
        if not spec.api or not spec.files:
            continue
        for method in spec.methods:
            operation = document["paths"][openapi_path(spec.path)][method.lower()]
            schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
            for name in spec.files:
                assert schema["properties"][name]["format"] == "binary", spec.path
    uploads = [spec.endpoint for spec in REGISTRY if spec.api and spec.form is not None]
    assert uploads and all(ENDPOINT_FILES[e] for e in uploads)


ENDPOINT_FILES = {spec.endpoint: spec.files for spec in REGISTRY}
