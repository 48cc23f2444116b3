"""OpenAPI 3.1 document built from the route registry and its pydantic models."""

from __future__ import annotations

import re
from functools import lru_cache

from gateway.web.framework import PUBLIC, REGISTRY, SIGNED_IN

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


@lru_cache
def openapi_document() -> dict:
    schemas: dict = {"Error": ERROR_SCHEMA}
    paths: dict = {}
    for spec in REGISTRY:
        if not spec.api:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", spec.path)
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if conv == "int" else "string"},
            }
            for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", spec.path)
        ]
        for method in spec.methods:
            operation: dict = {
                "operationId": spec.endpoint,
                "summary": spec.summary,
                "responses": {
                    "default": {
                        "description": "Erreur",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                },
            }
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
                    "content": {"application/json": {"schema": _ref(spec.body, schemas)}},
                }
            ok = "202" if spec.endpoint == "api_password_reset" else "200"
            if spec.response is not None:
                operation["responses"][ok] = {
                    "description": "Succès",
                    "content": {"application/json": {"schema": _ref(spec.response, schemas)}},
                }
            else:
                operation["responses"][ok] = {
                    "description": "Succès",
                    "content": {"application/json": {"schema": {}}},
                }
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


def _ref(model, schemas: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}
