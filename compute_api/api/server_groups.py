"""/os-server-groups: create, list, show, delete."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.requests import Request

from common.compute_db.models import ServerGroup
from common.openapi import wrapped
from common.routes import Route
from compute_api import server_groups
from compute_api.api.deps import (
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.query import bool_param, strict_params, x_int


def view(group: ServerGroup, members: list[str], version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(group.uuid), "name": group.name, "members": members}
    if version.at_least("2.64"):
        out["policy"] = group.policy
        out["rules"] = dict(group.rules or {})
    else:
        out["policies"] = [group.policy]
        out["metadata"] = {}
    if version.at_least("2.13"):
        out["project_id"] = group.project_id
        out["user_id"] = group.user_id
    return out


def _policies(version: Version) -> tuple[str, ...]:
    """2.15 added the soft policies."""
    if version.at_least("2.15"):
        return server_groups.POLICIES + server_groups.SOFT_POLICIES
    return server_groups.POLICIES


def create_group(body: BodyDep, ctx: ContextDep, session: SessionDep, version: VersionDep,
                 runtime: RuntimeDep) -> dict[str, Any]:
    data = body.get("server_group") if isinstance(body, dict) else None
    name, policy, rules = server_groups.parse(data, _policies(version),
                                              policy_and_rules=version.at_least("2.64"))
    group = server_groups.create(session, runtime.settings.quota, ctx, name, policy, rules)
    return {"server_group": view(group, [], version)}


def list_groups(request: Request, ctx: ContextDep, session: ReadSessionDep,
                version: VersionDep) -> dict[str, Any]:
    strict_params(request, {"all_projects", "limit", "offset"}, version)
    raw = request.query_params.get("all_projects")
    rows = server_groups.list_groups(session, ctx, raw is not None and
                                     bool_param(raw, "all_projects"),
                                     x_int(request, "limit", 1), x_int(request, "offset"))
    members = server_groups.members(session, [g.id for g in rows])
    return {"server_groups": [view(g, members[g.id], version) for g in rows]}


def show_group(group_id: str, ctx: ContextDep, session: ReadSessionDep,
               version: VersionDep) -> dict[str, Any]:
    group = server_groups.get(session, ctx, group_id)
    return {"server_group": view(group, server_groups.members(session, [group.id])[group.id],
                                 version)}


def delete_group(group_id: str, ctx: ContextDep, session: SessionDep) -> Response:
    server_groups.delete(session, ctx, group_id)
    return Response(status_code=204)


# ``server_groups.parse`` checks the fields per microversion and gives the messages.
CREATE_BODY = wrapped("server_group", {"type": "object"})


ROUTES: list[Route] = [
    Route("POST", "/v2.1/os-server-groups", create_group, "os_compute_api:os-server-groups:create",
          body=CREATE_BODY),
    Route("GET", "/v2.1/os-server-groups", list_groups, "os_compute_api:os-server-groups:index",
          query=None),
    Route("GET", "/v2.1/os-server-groups/{group_id}", show_group,
          "os_compute_api:os-server-groups:show"),
    Route("DELETE", "/v2.1/os-server-groups/{group_id}", delete_group,
          "os_compute_api:os-server-groups:delete", status_code=204),
]
