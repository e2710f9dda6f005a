"""GET /os-networks (before 2.36): nova-network's view of the networks a project can
use. Without a network service in the cloud there are none: an empty list, and any one
network is 404, as upstream answers for a network it does not find."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from common.errors import NotFound
from compute_api.api.deps import ContextDep, VersionDep
from compute_api.api.microversion import Version

router = APIRouter(prefix="/v2.1/os-networks")

# The proxy APIs are gone from 2.36.
REMOVED = "2.36"


def _gone(version: Version) -> None:
    if version.at_least(REMOVED):
        raise NotFound("The resource could not be found.")


@router.get("")
def list_networks(ctx: ContextDep, version: VersionDep) -> dict[str, Any]:
    _gone(version)
    return {"networks": []}


@router.get("/{id}")
def show_network(id: str, ctx: ContextDep, version: VersionDep) -> dict[str, Any]:
    _gone(version)
    raise NotFound("Network not found")
