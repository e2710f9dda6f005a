"""OpenAPI documents that show the JSON bodies handlers read themselves.

Handlers take the body as parsed JSON (``BodyDep``) and check it themselves, so FastAPI
cannot see it: every POST, PUT and PATCH gets the body schema its route declares
(``common.routes.Route.body``), or "a JSON object".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

ANY_OBJECT: dict[str, Any] = {"type": "object"}
_DEFS = "#/$defs/"
_COMPONENTS = "#/components/schemas/"


def wrapped(key: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema of ``{key: <schema>}``, the way most bodies are shaped (a ``$defs`` of
    ``schema`` moves to the top, where its references resolve)."""
    inner = dict(schema)
    defs = inner.pop("$defs", None)
    out: dict[str, Any] = {"type": "object", "properties": {key: inner}, "required": [key]}
    if defs:
        out["$defs"] = defs
    return out


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON Schema, self-contained (nested models under ``$defs``)."""
    return model.model_json_schema()


def _to_components(node: Any, components: dict[str, Any]) -> Any:
    """``node`` with its ``$defs`` moved to ``components`` and references rewritten."""
    if isinstance(node, dict):
        for name, sub in (node.get("$defs") or {}).items():
            components[name] = _to_components(sub, components)
        return {key: (value.replace(_DEFS, _COMPONENTS, 1)
                      if key == "$ref" and isinstance(value, str)
                      else _to_components(value, components))
                for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_to_components(item, components) for item in node]
    return node


def describe_bodies(app: FastAPI, bodies: Mapping[tuple[str, str], Mapping[str, Any]]
                    ) -> None:
    """Make ``app.openapi()`` show ``bodies[(METHOD, path)]`` as the request bodies."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes,
                              servers=app.servers)
            components: dict[str, Any] = {}
            for path, item in doc.get("paths", {}).items():
                for method, operation in item.items():
                    if method not in ("post", "put", "patch") or "requestBody" in operation:
                        continue
                    schema = bodies.get((method.upper(), path), ANY_OBJECT)
                    operation["requestBody"] = {"content": {"application/json": {
                        "schema": _to_components(dict(schema), components)}}}
            if components:
                doc.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
