"""/servers/{id}/metadata, /servers/{id}/tags and /servers/{id}/os-instance-actions."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response
from starlette.requests import Request

from common import policy
from common.compute_db import queries
from common.compute_db.models import Instance, InstanceAction, InstanceActionEvent
from common.context import RequestContext
from common.errors import BadRequest, NotFound
from common.openapi import wrapped
from common.routes import Route
from compute_api import server_items, servers
from compute_api.api.deps import (
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.query import parse_timestamp, x_int
from compute_api.api.schemas import member
from compute_api.api.versions import base_url
from compute_api.api.views import host_id, usage_time

# --- metadata -----------------------------------------------------------------------


def list_metadata(server_id: str, ctx: ContextDep, session: ReadSessionDep
                  ) -> dict[str, Any]:
    inst = servers.find(session, ctx, server_id)
    return {"metadata": dict(inst.metadata_items)}


def merge_metadata(server_id: str, body: BodyDep, ctx: ContextDep, session: SessionDep,
                   runtime: RuntimeDep) -> dict[str, Any]:
    inst = servers.find(session, ctx, server_id)
    return {"metadata": server_items.set_metadata(
        session, runtime.settings.quota, inst, member(body, "metadata"), replace=False)}


def replace_metadata(server_id: str, body: BodyDep, ctx: ContextDep, session: SessionDep,
                     runtime: RuntimeDep) -> dict[str, Any]:
    inst = servers.find(session, ctx, server_id)
    return {"metadata": server_items.set_metadata(
        session, runtime.settings.quota, inst, member(body, "metadata"), replace=True)}


def show_metadata_item(server_id: str, key: str, ctx: ContextDep, session: ReadSessionDep
                       ) -> dict[str, Any]:
    inst = servers.find(session, ctx, server_id)
    if key not in inst.metadata_items:
        raise NotFound("Metadata item was not found")
    return {"meta": {key: inst.metadata_items[key]}}


def set_metadata_item(server_id: str, key: str, body: BodyDep, ctx: ContextDep,
                      session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    meta = member(body, "meta")
    if not isinstance(meta, dict) or len(meta) != 1:
        raise BadRequest("Request body contains too many items")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    inst = servers.find(session, ctx, server_id)
    server_items.set_metadata(session, runtime.settings.quota, inst, meta, replace=False)
    return {"meta": dict(meta)}


def delete_metadata_item(server_id: str, key: str, ctx: ContextDep, session: SessionDep
                         ) -> Response:
    inst = servers.find(session, ctx, server_id)
    server_items.delete_metadata_item(session, inst, key)
    return Response(status_code=204)


# --- tags (2.26) --------------------------------------------------------------------


def _tagged(session: Any, ctx: RequestContext, server_id: str, version: Version) -> Instance:
    if not version.at_least("2.26"):
        raise NotFound("The resource could not be found.")
    inst = servers.find(session, ctx, server_id)
    return inst


def list_tags(server_id: str, ctx: ContextDep, session: ReadSessionDep, version: VersionDep
              ) -> dict[str, Any]:
    inst = _tagged(session, ctx, server_id, version)
    return {"tags": server_items.tags_of(session, [inst.id])[inst.id]}


def replace_tags(server_id: str, body: BodyDep, ctx: ContextDep, session: SessionDep,
                 version: VersionDep) -> dict[str, Any]:
    inst = _tagged(session, ctx, server_id, version)
    tags = member(body, "tags")
    try:
        wanted = server_items.check_tags(tags if isinstance(tags, list) else [None])
    except ValueError as exc:
        raise BadRequest(f"Invalid input for field/attribute tags. {exc}") from None
    return {"tags": server_items.set_tags(session, inst, wanted)}


def delete_tags(server_id: str, ctx: ContextDep, session: SessionDep, version: VersionDep
                ) -> Response:
    server_items.set_tags(session, _tagged(session, ctx, server_id, version), [])
    return Response(status_code=204)


def check_tag(server_id: str, tag: str, ctx: ContextDep, session: ReadSessionDep,
              version: VersionDep) -> Response:
    inst = _tagged(session, ctx, server_id, version)
    if tag not in server_items.tags_of(session, [inst.id])[inst.id]:
        raise NotFound(f"Tag {tag} could not be found on instance {server_id}.")
    return Response(status_code=204)


def add_tag(server_id: str, tag: str, request: Request, ctx: ContextDep, session: SessionDep,
            version: VersionDep) -> Response:
    inst = _tagged(session, ctx, server_id, version)
    try:
        added = server_items.add_tag(session, inst, tag)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    location = f"{base_url(request)}/v2.1/servers/{server_id}/tags/{tag}"
    return Response(status_code=201 if added else 204, headers={"Location": location})


def delete_tag(server_id: str, tag: str, ctx: ContextDep, session: SessionDep,
               version: VersionDep) -> Response:
    server_items.remove_tag(session, _tagged(session, ctx, server_id, version), tag)
    return Response(status_code=204)


# --- instance actions ---------------------------------------------------------------


def _acted_on(session: Any, ctx: RequestContext, server_id: str, version: Version
              ) -> uuid.UUID:
    """The server's uuid; deleted servers keep their action history from 2.21."""
    try:
        instance_uuid = uuid.UUID(server_id)
    except ValueError:
        raise NotFound(f"Instance {server_id} could not be found.") from None
    inst = queries.get_instance(session, instance_uuid,
                                project_id=None if ctx.is_admin else ctx.project_id,
                                include_deleted=version.at_least("2.21"))
    return inst.uuid


def _action_view(action: InstanceAction, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {
        "action": action.action, "instance_uuid": str(action.instance_uuid),
        "message": action.message, "project_id": action.project_id,
        "request_id": action.request_id, "start_time": usage_time(action.start_time),
        "user_id": action.user_id}
    if version.at_least("2.58"):
        out["updated_at"] = usage_time(action.updated_at)
    return out


def list_actions(server_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep,
                 version: VersionDep) -> dict[str, Any]:
    instance_uuid = _acted_on(session, ctx, server_id, version)
    params = request.query_params
    paged = version.at_least("2.58")
    since = params.get("changes-since") if paged else None
    before = params.get("changes-before") if version.at_least("2.66") else None
    rows = server_items.list_actions(
        session, instance_uuid, limit=x_int(request, "limit") if paged else None,
        marker=params.get("marker") if paged else None,
        changes_since=parse_timestamp(since, "changes-since") if since else None,
        changes_before=parse_timestamp(before, "changes-before") if before else None)
    out: dict[str, Any] = {"instanceActions": [_action_view(a, version) for a in rows]}
    limit = x_int(request, "limit") if paged else None
    if limit is not None and rows and len(rows) >= limit:
        out["links"] = [{"rel": "next", "href": f"{base_url(request)}/v2.1/servers/"
                         f"{server_id}/os-instance-actions?limit={limit}&marker="
                         f"{rows[-1].request_id}"}]
    return out


def show_action(server_id: str, request_id: str, ctx: ContextDep, session: ReadSessionDep,
                version: VersionDep) -> dict[str, Any]:
    instance_uuid = _acted_on(session, ctx, server_id, version)
    action = server_items.get_action(session, instance_uuid, request_id)
    # Upstream shows the events (per-step results) to admins and, from 2.51, to the owner.
    show_events = version.at_least("2.51") or policy.allowed(
        ctx, "os_compute_api:os-instance-actions:events")
    events = ([_event_view(e, action.project_id, ctx, version)
               for e in queries.action_events(session, action.id)] if show_events else None)
    return {"instanceAction": {**_action_view(action, version),
                               **({"events": events} if events is not None else {})}}


def _event_view(event: InstanceActionEvent, project_id: str | None, ctx: RequestContext,
                version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {"event": event.event, "start_time": usage_time(event.start_time),
                           "finish_time": usage_time(event.finish_time),
                           "result": event.result}
    if ctx.is_admin:
        out["traceback"] = event.traceback
    if version.at_least("2.84"):
        out["details"] = event.details
    if version.at_least("2.62"):
        out["hostId"] = host_id(project_id or "", event.host) if event.host else ""
        if ctx.is_admin:
            out["host"] = event.host or ""
    return out


METADATA_BODY = wrapped("metadata", {
    "type": "object", "additionalProperties": {"type": "string", "maxLength": 255}})
META_BODY = wrapped("meta", {"type": "object", "minProperties": 1, "maxProperties": 1})
TAGS_BODY = wrapped("tags", {"type": "array"})


ROUTES: list[Route] = [
    Route("GET", "/v2.1/servers/{server_id}/metadata", list_metadata,
          "os_compute_api:server-metadata:index"),
    Route("POST", "/v2.1/servers/{server_id}/metadata", merge_metadata,
          "os_compute_api:server-metadata:create", body=METADATA_BODY),
    Route("PUT", "/v2.1/servers/{server_id}/metadata", replace_metadata,
          "os_compute_api:server-metadata:update_all", body=METADATA_BODY),
    Route("GET", "/v2.1/servers/{server_id}/metadata/{key}", show_metadata_item,
          "os_compute_api:server-metadata:show"),
    Route("PUT", "/v2.1/servers/{server_id}/metadata/{key}", set_metadata_item,
          "os_compute_api:server-metadata:update", body=META_BODY),
    Route("DELETE", "/v2.1/servers/{server_id}/metadata/{key}", delete_metadata_item,
          "os_compute_api:server-metadata:delete", status_code=204),
    Route("GET", "/v2.1/servers/{server_id}/tags", list_tags, "os_compute_api:os-server-tags:index",
          min_version="2.26"),
    Route("PUT", "/v2.1/servers/{server_id}/tags", replace_tags,
          "os_compute_api:os-server-tags:update_all", min_version="2.26", body=TAGS_BODY),
    Route("DELETE", "/v2.1/servers/{server_id}/tags", delete_tags,
          "os_compute_api:os-server-tags:delete_all", status_code=204, min_version="2.26"),
    Route("GET", "/v2.1/servers/{server_id}/tags/{tag}", check_tag,
          "os_compute_api:os-server-tags:show", status_code=204, min_version="2.26"),
    Route("PUT", "/v2.1/servers/{server_id}/tags/{tag}", add_tag,
          "os_compute_api:os-server-tags:update", min_version="2.26"),
    Route("DELETE", "/v2.1/servers/{server_id}/tags/{tag}", delete_tag,
          "os_compute_api:os-server-tags:delete", status_code=204, min_version="2.26"),
    Route("GET", "/v2.1/servers/{server_id}/os-instance-actions", list_actions,
          "os_compute_api:os-instance-actions:list",
          query=frozenset({"changes-before", "changes-since", "limit", "marker"})),
    Route("GET", "/v2.1/servers/{server_id}/os-instance-actions/{request_id}", show_action,
          "os_compute_api:os-instance-actions:show"),
]
