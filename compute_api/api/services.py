"""/os-services: the cloud's services, enabling, disabling, forcing down, deleting."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.requests import Request

from common.compute_db.models import Service
from common.context import RequestContext
from common.errors import NotFound
from common.openapi import model_schema
from common.routes import Route
from compute_api import host_services
from compute_api.aggregates import COMPUTE_BINARY
from compute_api.api.deps import (
    AdminContextDep,
    AfterCommit,
    AfterCommitDep,
    BodyDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.operator_schemas import (
    ServiceDisableReason,
    ServiceForceDown,
    ServiceHost,
    ServiceUpdate,
    parse_flat,
)
from compute_api.api.query import strict_params
from compute_api.api.views import usage_time
from compute_api.host_services import ServiceState, shown_binary
from compute_api.runtime import Runtime

UUID_IDS = "2.53"


def service_view(state: ServiceState, version: Version) -> dict[str, Any]:
    svc = state.row
    out: dict[str, Any] = {
        "id": str(svc.uuid) if version.at_least(UUID_IDS) else svc.id,
        "binary": shown_binary(svc.binary), "host": svc.host, "zone": state.zone,
        "status": "disabled" if svc.disabled else "enabled",
        "state": "up" if state.up else "down",
        "updated_at": usage_time(svc.last_seen_up or svc.updated_at),
        "disabled_reason": svc.disabled_reason,
    }
    if version.at_least("2.11"):
        out["forced_down"] = svc.forced_down
    return out


def list_services(request: Request, ctx: AdminContextDep, session: ReadSessionDep,
                  version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    strict_params(request, {"host", "binary"}, version)
    query = request.query_params
    states = host_services.list_states(session, runtime.settings.service.service_down_time,
                                       query.get("host"), query.get("binary"))
    return {"services": [service_view(s, version) for s in states]}


def _follow_in_placement(runtime: Runtime, after_commit: AfterCommit, ctx: RequestContext,
                         svc: Service, changed: bool) -> None:
    if changed and svc.binary == COMPUTE_BINARY:
        after_commit(runtime.conductor.set_host_disabled, ctx, svc.host, svc.disabled)


def _legacy_action(action: str, body: Any, session: SessionDep, version: Version
                   ) -> tuple[Service, dict[str, Any], bool]:
    """enable, disable, disable-log-reason, force-down (2.11): the pre-2.53 updates."""
    if action in ("enable", "disable"):
        spec = parse_flat(ServiceHost, body)
        svc = host_services.find(session, spec.host, spec.binary)
        changed = host_services.set_status(svc, action == "disable", None)
        return svc, {"host": spec.host, "binary": spec.binary,
                     "status": "disabled" if svc.disabled else "enabled"}, changed
    if action == "disable-log-reason":
        spec = parse_flat(ServiceDisableReason, body)
        svc = host_services.find(session, spec.host, spec.binary)
        changed = host_services.set_status(svc, True, spec.disabled_reason)
        return svc, {"host": spec.host, "binary": spec.binary, "status": "disabled",
                     "disabled_reason": spec.disabled_reason}, changed
    if action == "force-down" and version.at_least("2.11"):
        spec = parse_flat(ServiceForceDown, body)
        svc = host_services.find(session, spec.host, spec.binary)
        svc.forced_down = spec.forced_down
        return svc, {"host": spec.host, "binary": spec.binary,
                     "forced_down": spec.forced_down}, False
    raise NotFound("Unknown action")


def update_service(service_id: str, body: BodyDep, ctx: AdminContextDep, session: SessionDep,
                   version: VersionDep, runtime: RuntimeDep,
                   after_commit: AfterCommitDep) -> dict[str, Any]:
    if not version.at_least(UUID_IDS):
        svc, shown, changed = _legacy_action(service_id, body, session, version)
        _follow_in_placement(runtime, after_commit, ctx, svc, changed)
        return {"service": shown}
    spec: ServiceUpdate = parse_flat(ServiceUpdate, body)
    svc = host_services.by_id(session, service_id, as_uuid=True)
    changed = host_services.update(svc, spec.status, spec.disabled_reason, spec.forced_down)
    session.flush()
    _follow_in_placement(runtime, after_commit, ctx, svc, changed)
    state = host_services.state_of(session, svc, runtime.settings.service.service_down_time)
    return {"service": service_view(state, version)}


def delete_service(service_id: str, ctx: AdminContextDep, session: SessionDep,
                   version: VersionDep, runtime: RuntimeDep,
                   after_commit: AfterCommitDep) -> Response:
    svc = host_services.by_id(session, service_id, as_uuid=version.at_least(UUID_IDS))
    nodes = host_services.delete(session, svc)
    if nodes:
        after_commit(runtime.conductor.remove_host_providers, ctx, nodes)
    return Response(status_code=204)


def update_body(version: Version) -> dict[str, Any]:
    """The PUT body: from 2.53 the service's new state, before it a legacy action's host
    and binary (the path names the action)."""
    if version.at_least(UUID_IDS):
        return model_schema(ServiceUpdate)
    return {"type": "object"}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-services", list_services, "os_compute_api:os-services:list", query=None),
    Route("PUT", "/v2.1/os-services/{service_id}", update_service,
          "os_compute_api:os-services:update", body=update_body),
    Route("DELETE", "/v2.1/os-services/{service_id}", delete_service,
          "os_compute_api:os-services:delete", status_code=204),
]
