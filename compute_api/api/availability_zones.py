"""/os-availability-zone: the zones servers can be created in, and (admin) their hosts.

The default zone is always listed; an aggregate's ``availability_zone`` metadata makes
another zone of its hosts.
"""

from __future__ import annotations

from typing import Any

from common.compute_db import queries
from common.routes import Route
from compute_api import aggregates
from compute_api.aggregates import COMPUTE_BINARY, DEFAULT_ZONE, INTERNAL_ZONE
from compute_api.api.deps import AdminContextDep, ContextDep, ReadSessionDep, RuntimeDep
from compute_api.api.views import usage_time
from compute_api.host_services import shown_binary


def list_zones(ctx: ContextDep, session: ReadSessionDep) -> dict[str, Any]:
    computes = queries.list_services(session, COMPUTE_BINARY)
    zones = aggregates.zones(session, [s.host for s in computes])
    enabled = {s.host for s in computes if not s.disabled}
    return {"availabilityZoneInfo": [
        {"zoneName": name,
         "zoneState": {"available": name == DEFAULT_ZONE or bool(enabled & set(hosts))},
         "hosts": None}
        for name, hosts in zones.items()]}


def list_zones_detail(ctx: AdminContextDep, session: ReadSessionDep,
                      runtime: RuntimeDep) -> dict[str, Any]:
    down_time = runtime.settings.service.service_down_time
    of_host = aggregates.host_zones(session)
    zones: dict[str, dict[str, Any]] = {DEFAULT_ZONE: {}}
    for svc in queries.list_services(session):
        zone = of_host.get(svc.host, DEFAULT_ZONE) if svc.binary == COMPUTE_BINARY \
            else INTERNAL_ZONE
        zones.setdefault(zone, {}).setdefault(svc.host, {})[shown_binary(svc.binary)] = {
            "available": queries.is_up(svc, down_time), "active": not svc.disabled,
            "updated_at": usage_time(svc.last_seen_up)}
    return {"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": True}, "hosts": hosts or None}
        for name, hosts in zones.items()]}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-availability-zone", list_zones,
          "os_compute_api:os-availability-zone:list"),
    Route("GET", "/v2.1/os-availability-zone/detail", list_zones_detail,
          "os_compute_api:os-availability-zone:detail"),
]
