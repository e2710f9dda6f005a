"""/os-networks (until 2.35, then 404): the read-only view upstream proxies to its network
service. Servers here are created with ``networks: none`` and no network service lists
any network, so the list is empty and every network is not found."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from common.errors import NotFound
from compute_api.api.deps import ContextDep, VersionDep
from compute_api.api.microversion import Version

router = APIRouter(prefix="/v2.1/os-networks")


def _served(version: Version) -> None:
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")


@router.get("")
def list_networks(ctx: ContextDep, version: VersionDep) -> dict[str, Any]:
    _served(version)
    return {"networks": []}


@router.get("/{network_id}")
def show_network(network_id: str, ctx: ContextDep, version: VersionDep) -> dict[str, Any]:
    _served(version)
    raise NotFound("Network not found")
