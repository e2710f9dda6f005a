"""/os-networks (until 2.35, then 404): the read-only view upstream proxies to its network
service. Servers here are created with ``networks: none`` and no network service lists
any network, so the list is empty and every network is not found."""

from __future__ import annotations

from typing import Any

from common.errors import NotFound
from common.routes import Route
from compute_api.api.deps import ContextDep, VersionDep
from compute_api.api.microversion import Version


def _served(version: Version) -> None:
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")


def list_networks(ctx: ContextDep, version: VersionDep) -> dict[str, Any]:
    _served(version)
    return {"networks": []}


def show_network(network_id: str, ctx: ContextDep, version: VersionDep) -> dict[str, Any]:
    _served(version)
    raise NotFound("Network not found")


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-networks", list_networks, "os_compute_api:os-networks:list",
          max_version="2.35"),
    Route("GET", "/v2.1/os-networks/{network_id}", show_network, "os_compute_api:os-networks:show",
          max_version="2.35"),
]
