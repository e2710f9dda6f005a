"""/os-availability-zone: the zones servers can be created in, and (admin) their hosts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from common.compute_db import queries
from compute_api.api.deps import AdminContextDep, ContextDep, ReadSessionDep, RuntimeDep
from compute_api.api.views import usage_time
from compute_api.servers import COMPUTE_BINARY, DEFAULT_ZONE

router = APIRouter(prefix="/v2.1/os-availability-zone")

INTERNAL_ZONE = "internal"


def _binary_name(binary: str) -> str:
    return "nova-" + binary.removeprefix("kilonova-")


@router.get("")
def list_zones(ctx: ContextDep) -> dict[str, Any]:
    return {"availabilityZoneInfo": [
        {"zoneName": DEFAULT_ZONE, "zoneState": {"available": True}, "hosts": None}]}


@router.get("/detail")
def list_zones_detail(ctx: AdminContextDep, session: ReadSessionDep,
                      runtime: RuntimeDep) -> dict[str, Any]:
    down_time = runtime.settings.service.service_down_time
    zones: dict[str, dict[str, Any]] = {DEFAULT_ZONE: {}, INTERNAL_ZONE: {}}
    for svc in queries.list_services(session):
        zone = DEFAULT_ZONE if svc.binary == COMPUTE_BINARY else INTERNAL_ZONE
        zones[zone].setdefault(svc.host, {})[_binary_name(svc.binary)] = {
            "available": queries.is_up(svc, down_time), "active": not svc.disabled,
            "updated_at": usage_time(svc.last_seen_up)}
    return {"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": True}, "hosts": hosts or None}
        for name, hosts in zones.items() if hosts or name == DEFAULT_ZONE]}
