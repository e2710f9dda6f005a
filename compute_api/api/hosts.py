"""/os-hosts (before 2.43): hosts and their services, a host's resources, enabling.

Power actions on hosts are not something the drivers do: they answer 501, as
upstream's libvirt driver does.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

from common import validation
from common.errors import NotFound
from common.routes import Route
from compute_api import host_services, hypervisors
from compute_api.api import errors
from compute_api.api.deps import (
    AdminContextDep,
    AfterCommitDep,
    BodyDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.host_services import find_compute

REMOVED = "2.43"

_SWITCH = {"type": "string", "enum": ["enable", "disable", "Enable", "Disable", "ENABLE",
                                      "DISABLE"]}
# PUT /os-hosts/{host}: checked before the host is looked up, as upstream.
UPDATE_SCHEMA = {
    "type": "object",
    "properties": {"status": _SWITCH, "maintenance_mode": _SWITCH},
    "anyOf": [{"required": ["status"]}, {"required": ["maintenance_mode"]}],
    "additionalProperties": False,
}


def _gone(version: Version) -> None:
    if version.at_least(REMOVED):
        raise NotFound("The resource could not be found.")


def list_hosts(request: Request, ctx: AdminContextDep, session: ReadSessionDep,
               version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _gone(version)
    # An empty zone filters nothing, as upstream (Tempest lists hosts with "zone=").
    zone = request.query_params.get("zone") or None
    states = host_services.list_states(session, runtime.settings.service.service_down_time)
    return {"hosts": [
        {"host_name": s.row.host, "service": s.row.binary.removeprefix("kilonova-"),
         "zone": s.zone} for s in states if zone is None or s.zone == zone]}


def show_host(host_name: str, ctx: AdminContextDep, session: ReadSessionDep,
              version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _gone(version)
    find_compute(session, host_name)
    nodes = [n for n in hypervisors.list_nodes(session) if n.host == host_name]
    hyps = hypervisors.load(session, nodes,
                            runtime.settings.service.service_down_time, with_servers=False)
    return {"host": host_services.host_resources(session, host_name, hyps)}


def update_host(host_name: str, body: BodyDep, ctx: AdminContextDep, session: SessionDep,
                version: VersionDep, runtime: RuntimeDep,
                after_commit: AfterCommitDep) -> Any:
    _gone(version)
    validation.check(UPDATE_SCHEMA, body)
    status, maintenance = body.get("status"), body.get("maintenance_mode")
    svc = find_compute(session, host_name)
    if maintenance is not None:
        return _not_implemented("maintenance mode")
    disable = str(status).lower() == "disable"
    if host_services.set_status(svc, disable, None):
        after_commit(runtime.conductor.set_host_disabled, ctx, host_name, svc.disabled)
    return {"host": host_name, "status": "disabled" if svc.disabled else "enabled"}


def _not_implemented(what: str) -> JSONResponse:
    return errors.fault_response(501, f"Virt driver does not implement host {what}.")


def _power(host_name: str, session: ReadSessionDep, version: Version) -> JSONResponse:
    _gone(version)
    find_compute(session, host_name)
    return _not_implemented("power actions")


def startup_host(host_name: str, ctx: AdminContextDep, session: ReadSessionDep,
                 version: VersionDep) -> JSONResponse:
    return _power(host_name, session, version)


def shutdown_host(host_name: str, ctx: AdminContextDep, session: ReadSessionDep,
                  version: VersionDep) -> JSONResponse:
    return _power(host_name, session, version)


def reboot_host(host_name: str, ctx: AdminContextDep, session: ReadSessionDep,
                version: VersionDep) -> JSONResponse:
    return _power(host_name, session, version)


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-hosts", list_hosts, "os_compute_api:os-hosts:list", query=None,
          max_version="2.42"),
    Route("GET", "/v2.1/os-hosts/{host_name}", show_host, "os_compute_api:os-hosts:show",
          max_version="2.42"),
    Route("PUT", "/v2.1/os-hosts/{host_name}", update_host, "os_compute_api:os-hosts:update",
          max_version="2.42", body=UPDATE_SCHEMA),
    Route("GET", "/v2.1/os-hosts/{host_name}/startup", startup_host,
          "os_compute_api:os-hosts:start", max_version="2.42"),
    Route("GET", "/v2.1/os-hosts/{host_name}/shutdown", shutdown_host,
          "os_compute_api:os-hosts:shutdown", max_version="2.42"),
    Route("GET", "/v2.1/os-hosts/{host_name}/reboot", reboot_host, "os_compute_api:os-hosts:reboot",
          max_version="2.42"),
]
