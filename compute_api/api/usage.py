"""/os-simple-tenant-usage: what projects' servers used over a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from common import policy
from common.errors import NotFound
from common.routes import Route
from compute_api import usage
from compute_api.api.deps import (
    AdminContextDep,
    ContextDep,
    ReadSessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.query import bool_param, x_int
from compute_api.api.versions import base_url
from compute_api.api.views import usage_time
from compute_api.usage import ProjectUsage, ServerUsage

PAGED = "2.40"


def _server(s: ServerUsage) -> dict[str, Any]:
    inst = s.inst
    ended = inst.terminated_at
    return {
        "instance_id": str(inst.uuid), "name": inst.display_name, "hours": s.hours,
        "memory_mb": int(inst.flavor.get("memory_mb", 0)), "local_gb": s.local_gb,
        "vcpus": int(inst.flavor.get("vcpus", 0)), "tenant_id": inst.project_id,
        "flavor": str(inst.flavor.get("name", "")),
        "started_at": usage_time(inst.launched_at), "ended_at": usage_time(ended),
        "state": "terminated" if inst.deleted else inst.vm_state,
        "uptime": int(((ended or s.now) - (inst.launched_at or s.now)).total_seconds()),
    }


def _project(p: ProjectUsage, start: datetime, stop: datetime,
             detailed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tenant_id": p.project_id, "start": start.isoformat(), "stop": stop.isoformat(),
        "total_hours": p.total("hours"), "total_local_gb_usage": p.total("local_gb"),
        "total_memory_mb_usage": p.total("memory_mb"),
        "total_vcpus_usage": p.total("vcpus")}
    if detailed:
        out["server_usages"] = [_server(s) for s in p.servers]
    return out


def _period(request: Request, version: Version
            ) -> tuple[datetime, datetime, int | None, str | None]:
    query = request.query_params
    start, stop = usage.parse_time(query.get("start")), usage.parse_time(query.get("end"))
    paged = version.at_least(PAGED)
    limit = x_int(request, "limit", 0) if paged else None
    return start, stop, limit, query.get("marker") if paged else None


def _links(request: Request, limit: int | None, shown: int, last: str | None,
           path: str) -> list[dict[str, str]] | None:
    if limit is None or shown < limit or last is None:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "marker"}
    params["marker"] = last
    return [{"rel": "next",
             "href": f"{base_url(request)}/v2.1/{path}?{urlencode(params)}"}]


def list_usage(request: Request, ctx: AdminContextDep, session: ReadSessionDep,
               version: VersionDep) -> dict[str, Any]:
    start, stop, limit, marker = _period(request, version)
    detailed = bool_param(request.query_params.get("detailed", "0"), "detailed")
    rows = usage.servers_in(session, start, stop, None, limit, marker)
    out: dict[str, Any] = {"tenant_usages": [
        _project(p, start, stop, detailed) for p in usage.by_project(rows, start, stop)]}
    links = _links(request, limit, len(rows), str(rows[-1].uuid) if rows else None,
                   "os-simple-tenant-usage")
    if links:
        out["tenant_usages_links"] = links
    return out


def show_usage_of_no_project(ctx: ContextDep) -> dict[str, Any]:
    # An empty project id (".../os-simple-tenant-usage/") names no project: 404 as
    # upstream, never a redirect to the list of every project.
    raise NotFound("The resource could not be found.")


def show_usage(tenant_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep,
               version: VersionDep) -> dict[str, Any]:
    # The route's rule (reader of that project, or admin) on the project of the path.
    policy.authorize_route(ctx, {"project_id": tenant_id})
    start, stop, limit, marker = _period(request, version)
    rows = usage.servers_in(session, start, stop, tenant_id, limit, marker)
    found = usage.by_project(rows, start, stop)
    out: dict[str, Any] = {"tenant_usage": _project(found[0], start, stop, True)
                           if found else {}}
    links = _links(request, limit, len(rows), str(rows[-1].uuid) if rows else None,
                   f"os-simple-tenant-usage/{tenant_id}")
    if links:
        out["tenant_usage_links"] = links
    return out


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-simple-tenant-usage", list_usage,
          "os_compute_api:os-simple-tenant-usage:list",
          query=frozenset({"detailed", "end", "limit", "marker", "start"})),
    Route("GET", "/v2.1/os-simple-tenant-usage/", show_usage_of_no_project,
          "os_compute_api:os-simple-tenant-usage:list"),
    Route("GET", "/v2.1/os-simple-tenant-usage/{tenant_id}", show_usage,
          "os_compute_api:os-simple-tenant-usage:show",
          query=frozenset({"end", "limit", "marker", "start"})),
]
