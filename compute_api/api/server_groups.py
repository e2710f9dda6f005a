"""/os-server-groups: create, list, show, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from starlette.requests import Request

from common.compute_db.models import ServerGroup
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

router = APIRouter(prefix="/v2.1/os-server-groups")


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


@router.post("")
def create_group(body: BodyDep, ctx: ContextDep, session: SessionDep, version: VersionDep,
                 runtime: RuntimeDep) -> dict[str, Any]:
    data = body.get("server_group") if isinstance(body, dict) else None
    name, policy, rules = server_groups.parse(data, version)
    group = server_groups.create(session, runtime.settings.quota, ctx, name, policy, rules)
    return {"server_group": view(group, [], version)}


@router.get("")
def list_groups(request: Request, ctx: ContextDep, session: ReadSessionDep,
                version: VersionDep) -> dict[str, Any]:
    strict_params(request, {"all_projects", "limit", "offset"}, version)
    raw = request.query_params.get("all_projects")
    rows = server_groups.list_groups(session, ctx, raw is not None and
                                     bool_param(raw, "all_projects"),
                                     x_int(request, "limit", 1), x_int(request, "offset"))
    members = server_groups.members(session, [g.id for g in rows])
    return {"server_groups": [view(g, members[g.id], version) for g in rows]}


@router.get("/{group_id}")
def show_group(group_id: str, ctx: ContextDep, session: ReadSessionDep,
               version: VersionDep) -> dict[str, Any]:
    group = server_groups.get(session, ctx, group_id)
    return {"server_group": view(group, server_groups.members(session, [group.id])[group.id],
                                 version)}


@router.delete("/{group_id}", status_code=204)
def delete_group(group_id: str, ctx: ContextDep, session: SessionDep) -> Response:
    server_groups.delete(session, ctx, group_id)
    return Response(status_code=204)
