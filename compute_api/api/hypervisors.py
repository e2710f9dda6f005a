"""/os-hypervisors: compute nodes, their use, search, statistics and uptime."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from common.errors import NotFound
from common.routes import Route
from compute_api import hypervisors
from compute_api.api.deps import AdminContextDep, ReadSessionDep, RuntimeDep, VersionDep
from compute_api.api.microversion import Version
from compute_api.api.query import bool_param, strict_params, x_int
from compute_api.api.versions import base_url
from compute_api.hypervisors import Hypervisor

UUID_IDS = "2.53"
NO_RESOURCES = "2.88"  # sizes and use left the views; uptime joined them
NOT_FOUND = "The resource could not be found."


def _brief(hyp: Hypervisor, version: Version, with_servers: bool) -> dict[str, Any]:
    node = hyp.node
    out: dict[str, Any] = {
        "id": str(node.uuid) if version.at_least(UUID_IDS) else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if hyp.up else "down",
        "status": "disabled" if hyp.disabled else "enabled"}
    if hyp.servers:
        out["servers"] = [{"uuid": u, "name": n} for u, n in hyp.servers]
    elif with_servers and version.at_least("2.75"):
        out["servers"] = []
    return out


def _detail(hyp: Hypervisor, version: Version, with_servers: bool) -> dict[str, Any]:
    out = _brief(hyp, version, with_servers)
    node, svc = hyp.node, hyp.service
    out.update({
        "hypervisor_type": node.hypervisor_type, "hypervisor_version": 1000,
        "host_ip": "127.0.0.1" if node.host else None,
        "service": {"host": node.host,
                    "id": (str(svc.uuid) if version.at_least(UUID_IDS) else svc.id)
                    if svc is not None else None,
                    "disabled_reason": svc.disabled_reason if svc is not None else None},
    })
    cpu_info: dict[str, Any] = {"arch": "x86_64", "model": "", "vendor": "",
                                "topology": {"sockets": 1, "cores": node.vcpus,
                                             "threads": 1}, "features": []}
    if version.at_least(NO_RESOURCES):
        out["uptime"] = hypervisors.uptime(hyp)
        out["cpu_info"] = cpu_info
        return out
    out.update(hypervisors.resources(hyp))
    out.update({"current_workload": hyp.current_workload, "running_vms": hyp.running_vms,
                "cpu_info": cpu_info if version.at_least("2.28") else json.dumps(cpu_info)})
    return out


def _listing(request: Request, session: ReadSessionDep, runtime: RuntimeDep,
             version: VersionDep, detail: bool) -> dict[str, Any]:
    allowed = {"limit", "marker"} | ({"hypervisor_hostname_pattern", "with_servers"}
                                     if version.at_least(UUID_IDS) else set())
    strict_params(request, allowed, version, since="2.33")
    query = request.query_params
    paged = version.at_least("2.33")
    limit = x_int(request, "limit", 0) if paged else None
    marker = query.get("marker") if paged else None
    pattern = query.get("hypervisor_hostname_pattern") if version.at_least(UUID_IDS) else None
    with_servers = version.at_least(UUID_IDS) and bool_param(
        query.get("with_servers", "false"), "with_servers")
    nodes = hypervisors.list_nodes(session, pattern, limit, marker,
                                   version.at_least(UUID_IDS))
    hyps = hypervisors.load(session, nodes,
                            runtime.settings.service.service_down_time, with_servers)
    view = _detail if detail else _brief
    out: dict[str, Any] = {"hypervisors": [view(h, version, with_servers) for h in hyps]}
    if paged and limit is not None and len(hyps) == limit and hyps:
        last = out["hypervisors"][-1]["id"]
        path = "os-hypervisors/detail" if detail else "os-hypervisors"
        out["hypervisors_links"] = [{"rel": "next", "href": f"{base_url(request)}/v2.1/"
                                     f"{path}?{urlencode({'limit': limit, 'marker': last})}"}]
    return out


def list_hypervisors(request: Request, ctx: AdminContextDep, session: ReadSessionDep,
                     runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    return _listing(request, session, runtime, version, detail=False)


def list_hypervisors_detail(request: Request, ctx: AdminContextDep, session: ReadSessionDep,
                            runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    return _listing(request, session, runtime, version, detail=True)


def hypervisor_statistics(ctx: AdminContextDep, session: ReadSessionDep, runtime: RuntimeDep,
                          version: VersionDep) -> dict[str, Any]:
    if version.at_least(NO_RESOURCES):
        raise NotFound(NOT_FOUND)
    hyps = hypervisors.load(session, hypervisors.list_nodes(session),
                            runtime.settings.service.service_down_time)
    return {"hypervisor_statistics": hypervisors.statistics(hyps)}


def show_hypervisor(hypervisor_id: str, request: Request, ctx: AdminContextDep,
                    session: ReadSessionDep, runtime: RuntimeDep,
                    version: VersionDep) -> dict[str, Any]:
    with_servers = version.at_least(UUID_IDS) and bool_param(
        request.query_params.get("with_servers", "false"), "with_servers")
    node = hypervisors.get_node(session, hypervisor_id, version.at_least(UUID_IDS))
    (hyp,) = hypervisors.load(session, [node],
                              runtime.settings.service.service_down_time, with_servers)
    return {"hypervisor": _detail(hyp, version, with_servers)}


def hypervisor_uptime(hypervisor_id: str, ctx: AdminContextDep, session: ReadSessionDep,
                      runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    if version.at_least(NO_RESOURCES):
        raise NotFound(NOT_FOUND)
    node = hypervisors.get_node(session, hypervisor_id, version.at_least(UUID_IDS))
    (hyp,) = hypervisors.load(session, [node],
                              runtime.settings.service.service_down_time)
    return {"hypervisor": {**_brief(hyp, version, False), "uptime": hypervisors.uptime(hyp)}}


def _matching(pattern: str, session: ReadSessionDep, runtime: RuntimeDep,
              version: Version, with_servers: bool) -> list[Hypervisor]:
    if version.at_least(UUID_IDS):
        # Replaced by the list's hypervisor_hostname_pattern and with_servers.
        raise NotFound(NOT_FOUND)
    nodes = hypervisors.list_nodes(session, pattern)
    return hypervisors.load(session, nodes,
                            runtime.settings.service.service_down_time, with_servers)


def search_hypervisors(pattern: str, ctx: AdminContextDep, session: ReadSessionDep,
                       runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    hyps = _matching(pattern, session, runtime, version, False)
    return {"hypervisors": [_brief(h, version, False) for h in hyps]}


def hypervisor_servers(pattern: str, ctx: AdminContextDep, session: ReadSessionDep,
                       runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    hyps = _matching(pattern, session, runtime, version, True)
    return {"hypervisors": [_brief(h, version, True) for h in hyps]}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-hypervisors", list_hypervisors, "os_compute_api:os-hypervisors:list",
          query=None),
    Route("GET", "/v2.1/os-hypervisors/detail", list_hypervisors_detail,
          "os_compute_api:os-hypervisors:list-detail", query=None),
    Route("GET", "/v2.1/os-hypervisors/statistics", hypervisor_statistics,
          "os_compute_api:os-hypervisors:statistics", max_version="2.87"),
    Route("GET", "/v2.1/os-hypervisors/{hypervisor_id}", show_hypervisor,
          "os_compute_api:os-hypervisors:show", query=frozenset({"with_servers"})),
    Route("GET", "/v2.1/os-hypervisors/{hypervisor_id}/uptime", hypervisor_uptime,
          "os_compute_api:os-hypervisors:uptime", max_version="2.87"),
    Route("GET", "/v2.1/os-hypervisors/{pattern}/search", search_hypervisors,
          "os_compute_api:os-hypervisors:search", max_version="2.52"),
    Route("GET", "/v2.1/os-hypervisors/{pattern}/servers", hypervisor_servers,
          "os_compute_api:os-hypervisors:servers", max_version="2.52"),
]
