"""OpenAPI 3.1 document built from the route registry and its pydantic models."""

from __future__ import annotations

import re
import typing
from functools import lru_cache

from pydantic.json_schema import models_json_schema

from gateway.web.framework import PUBLIC, REGISTRY, SIGNED_IN
from gateway.web.responses import FORMAT_MIMES, XLSX_MIME

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


REF = "#/components/schemas/{model}"
ERROR_RESPONSE = {
    "description": "Erreur",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")  # werkzeug's ``<int:plan_id>``


@lru_cache
def openapi_document() -> dict:
    schemas: dict = {"Error": ERROR_SCHEMA}
    paths: dict = {}
    refs = _model_refs(schemas)
    for spec in (spec for spec in REGISTRY if spec.api):
        params = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": "integer" if converter == "int" else "string"}}
            for converter, name in PATH_PARAMETER.findall(spec.path)
        ]  # fmt: skip
        if spec.query is not None:
            params += _query_parameters(spec.query, schemas)
        for method in spec.methods:
            operation: dict = {"operationId": spec.endpoint, "summary": spec.summary}
            if params:
                operation["parameters"] = params
            if spec.access != PUBLIC:
                operation["security"] = [{"bearer": []}]
                operation["x-roles"] = (
                    "tous" if spec.access == SIGNED_IN else sorted(str(r) for r in spec.access)
                )
            if spec.body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": refs[spec.body]}},
                }
            elif spec.files:
                operation["requestBody"] = _multipart_body(spec, schemas)
            answer = _success(spec, method, refs)
            operation["responses"] = {"default": ERROR_RESPONSE}
            operation["responses"].update((str(status), answer) for status in spec.statuses)
            path = PATH_PARAMETER.sub(r"{\2}", spec.path)
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API de la plateforme RAC",
            "version": "1.0.0",
            "description": "API JSON de la plateforme du réseau des CERAC.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _success(spec, method: str, refs: dict) -> dict:
    """What a success answers: the reply model's JSON (or the file a query asks for
    instead), a file, or JSON the route does not describe."""
    if spec.response is not None:
        content = {"application/json": {"schema": refs[spec.response]}, **_exports(spec.query)}
        return {"description": "Succès", "content": content}
    files = _file_content(spec.path, method)
    if files is not None:
        return {"description": "Fichier", "content": files}
    return {"description": "Succès", "content": {"application/json": {"schema": {}}}}


def _schema(model, schemas: dict) -> dict:
    """``model``'s JSON schema, its nested models added to ``schemas``."""
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    return schema


def _query_parameters(model, schemas: dict) -> list[dict]:
    """A route's query model as optional (or required) query parameters."""
    schema = _schema(model, schemas)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema.get("properties", {}).items()
    ]


def _exports(query) -> dict:
    """The files a JSON reading answers instead when its query asks (``format=csv``)."""
    info = query.model_fields.get("format") if query is not None else None
    if info is None:
        return {}
    annotation = info.annotation  # Literal["csv", "pdf"], or optional: Literal["csv"] | None
    values = {v for a in (annotation, *typing.get_args(annotation)) for v in typing.get_args(a)}
    return {mime: {"schema": {"type": "string"}} for v, mime in FORMAT_MIMES.items() if v in values}


def _multipart_body(spec, schemas: dict) -> dict:
    """A multipart upload: the form model's fields and the file fields (binary), so that a
    schema-driven client (and fuzzer) sends real uploads."""
    schema = _schema(spec.form, schemas)  # an upload's other fields: a form model, always
    schema.pop("additionalProperties", None)  # a multipart body also carries its files
    schema.setdefault("properties", {})
    schema["required"] = list(schema.get("required", []))
    for name in spec.files:
        schema["properties"][name] = {"type": "string", "format": "binary"}
        schema["required"].append(name)
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


BINARY = {"schema": {"type": "string", "format": "binary"}}
# What a stored attachment may be (services/applications/files.py checks the content).
ATTACHMENT_TYPES = (
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "image/jpeg",
    "image/png",
)


def _file_content(path: str, method: str) -> dict | None:
    """The media types of a route that answers with a file (CSV export, PDF, attachment)."""
    if method != "GET":
        return None
    if path.endswith(".csv"):
        return {"text/csv": {"schema": {"type": "string"}}}
    if path.endswith(".xlsx"):
        return {XLSX_MIME: BINARY}
    if path.endswith(("/pdf", "/letter", "/guide", "/receipt", "/courtesy-translation")):
        return {"application/pdf": BINARY}
    if re.search(r"/attachments/<int:\w+>$", path):
        return {media_type: BINARY for media_type in ATTACHMENT_TYPES}
    return None


def _model_refs(schemas: dict) -> dict:
    """A ``$ref`` for every body and response model, their schemas added to ``schemas``.

    All models are described together so that two models with the same class name in two
    feature modules (``FiguresOut`` of plans and of funding...) get two distinct schemas
    instead of the last one silently replacing the first.
    """
    models = list(dict.fromkeys(m for s in REGISTRY if s.api for m in (s.body, s.response) if m))
    keys, definitions = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas.update(definitions.get("$defs", {}))
    return {model: keys[(model, "validation")] for model in models}
