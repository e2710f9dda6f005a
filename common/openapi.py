"""OpenAPI documents that show the JSON bodies handlers read themselves.

Handlers take the body as parsed JSON (``BodyDep``) and check it against a model or a
JSON Schema of their own, so FastAPI cannot see it: every POST, PUT and PATCH gets the
schema named here, or "a JSON object".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

ANY_OBJECT: dict[str, Any] = {"type": "object"}
_COMPONENTS = "#/components/schemas/{model}"


def wrapped(key: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema of ``{key: <schema>}``, the way most bodies are shaped."""
    return {"type": "object", "properties": {key: dict(schema)}, "required": [key]}


def model_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """``model``'s JSON Schema, its nested models moved to ``components``."""
    schema = model.model_json_schema(ref_template=_COMPONENTS)
    components.update(schema.pop("$defs", {}))
    return schema


def describe_bodies(app: FastAPI, bodies: Mapping[tuple[str, str], Mapping[str, Any]],
                    components: Mapping[str, Any] | None = None) -> None:
    """Make ``app.openapi()`` show ``bodies[(METHOD, path)]`` as the request bodies."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes,
                              servers=app.servers)
            for path, item in doc.get("paths", {}).items():
                for method, operation in item.items():
                    if method not in ("post", "put", "patch") or "requestBody" in operation:
                        continue
                    schema = bodies.get((method.upper(), path), ANY_OBJECT)
                    operation["requestBody"] = {
                        "content": {"application/json": {"schema": dict(schema)}}}
            if components:
                doc.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
