"""How placement objects look on the wire, per microversion."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from fastapi.responses import JSONResponse, Response

from placement.microversion import Version
from placement.providers import Provider

AGGREGATES_LINK_SINCE = Version(1, 1)
TRAITS_LINK_SINCE = Version(1, 6)
ALLOCATIONS_LINK_SINCE = Version(1, 11)
NESTED_SINCE = Version(1, 14)


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# orjson (optional) encodes the large candidate and provider lists ~8x faster.
_orjson = _optional("orjson")


def json_response(body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response for plain data (dicts, lists, str, int, float, bool, None)."""
    if _orjson is None:
        return JSONResponse(body, headers=headers)
    return Response(_orjson.dumps(body), media_type="application/json", headers=headers)


def provider_url(root: str, provider: Provider) -> str:
    return f"{root}/resource_providers/{provider.uuid}"


def provider_view(provider: Provider, version: Version, root: str) -> dict[str, Any]:
    base = provider_url(root, provider)
    links = [
        {"rel": "self", "href": base},
        {"rel": "inventories", "href": f"{base}/inventories"},
        {"rel": "usages", "href": f"{base}/usages"},
    ]
    if version >= AGGREGATES_LINK_SINCE:
        links.append({"rel": "aggregates", "href": f"{base}/aggregates"})
    if version >= TRAITS_LINK_SINCE:
        links.append({"rel": "traits", "href": f"{base}/traits"})
    if version >= ALLOCATIONS_LINK_SINCE:
        links.append({"rel": "allocations", "href": f"{base}/allocations"})
    view: dict[str, Any] = {
        "uuid": str(provider.uuid),
        "name": provider.name,
        "generation": provider.generation,
        "links": links,
    }
    if version >= NESTED_SINCE:
        view["parent_provider_uuid"] = (
            str(provider.parent_uuid) if provider.parent_uuid else None
        )
        view["root_provider_uuid"] = str(provider.root_uuid)
    return view
