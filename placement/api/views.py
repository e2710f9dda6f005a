"""How placement objects look on the wire, per microversion."""

from __future__ import annotations

from typing import Any

from placement.microversion import Version
from placement.providers import Provider

AGGREGATES_LINK_SINCE = Version(1, 1)
TRAITS_LINK_SINCE = Version(1, 6)
ALLOCATIONS_LINK_SINCE = Version(1, 11)
NESTED_SINCE = Version(1, 14)


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
