"""/os-quota-class-sets: the default quota class (the configured defaults), read-only.

Every class name answers with the defaults, as upstream does for classes it does not
know; changing them is done in the configuration (``[quota]``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from compute_api import quotas
from compute_api.api.deps import AdminContextDep, RuntimeDep, VersionDep
from compute_api.api.microversion import Version

router = APIRouter(prefix="/v2.1/os-quota-class-sets")

LEGACY = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")


def class_set(limits: dict[str, int], version: Version) -> dict[str, Any]:
    """A quota class's keys at ``version``: the network ones until 2.50, the server
    group ones from 2.50, the injected file ones until 2.57."""
    out: dict[str, Any] = {}
    for resource in quotas.RESOURCES:
        if resource.startswith("server_group") and not version.at_least("2.50"):
            continue
        if resource in quotas.INJECTED and version.at_least("2.57"):
            continue
        out[resource] = limits[resource]
    if not version.at_least("2.50"):
        out.update({name: -1 for name in LEGACY})
    return out


@router.get("/{class_id}")
def show_quota_class(class_id: str, ctx: AdminContextDep, runtime: RuntimeDep,
                     version: VersionDep) -> dict[str, Any]:
    limits = quotas.defaults(runtime.settings.quota)
    return {"quota_class_set": {"id": class_id, **class_set(limits, version)}}
