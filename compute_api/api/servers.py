"""/servers: create, show, list, list detail, delete."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.requests import Request

from common.compute_db.models import Instance, InstanceFault
from common.context import RequestContext
from common.errors import BadRequest, ControlPlaneError
from common.openapi import model_schema, wrapped
from common.routes import Route
from common.states import Action
from compute_api import (
    aggregates,
    neutron_network_actions,
    server_create,
    server_groups,
    server_items,
    server_network_actions,
    servers,
)
from compute_api.api.deps import (
    AfterCommit,
    AfterCommitDep,
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.query import server_list_query
from compute_api.api.schemas import SchedulerHints, ServerCreate, ServerUpdate, parse
from compute_api.api.versions import base_url
from compute_api.api.views import (
    json_response,
    links,
    next_links,
    server_brief,
    server_detail,
)
from compute_api.images.store import ImageStore
from compute_api.runtime import Runtime

LOG = logging.getLogger(__name__)

_ALLOWED_TOP_LEVEL = {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"}
# Server fields a microversion brought (since) or retired (until, exclusive).
VERSIONED_FIELDS: dict[str, tuple[str | None, str | None]] = {
    "description": ("2.19", None), "tags": ("2.52", None), "personality": (None, "2.57"),
    "trusted_image_certificates": ("2.63", None), "host": ("2.74", None),
    "hypervisor_hostname": ("2.74", None), "hostname": ("2.90", None),
    "pinned_availability_zone": ("2.104", None),
}


def _accepts(version: Version) -> servers.Accepts:
    """What a create or update may carry at ``version``."""
    return servers.Accepts(
        fields=frozenset(name for name, (since, until) in VERSIONED_FIELDS.items()
                         if (since is None or version.at_least(since))
                         and (until is None or not version.at_least(until))),
        networks_required=version.at_least("2.37"), fqdn_hostname=version.at_least("2.94"))


def create_server(body: BodyDep, request: Request, ctx: ContextDep, session: SessionDep,
                  version: VersionDep, runtime: RuntimeDep,
                  after_commit: AfterCommitDep) -> JSONResponse:
    spec: ServerCreate = parse(ServerCreate, body, "server")
    extra = set(body) - _ALLOWED_TOP_LEVEL
    if extra:
        raise BadRequest(f"Additional properties are not allowed ('{sorted(extra)[0]}' was "
                         "unexpected)")
    hints = None
    for key in ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"):
        if key in body:
            hints = parse(SchedulerHints, body, key)
    created = server_create.create(session, ctx, spec.to_spec(hints), _accepts(version), runtime)
    for inst in created.instances:
        after_commit(runtime.conductor.build_instance, ctx, inst.uuid)
    if spec.return_reservation_id:
        return JSONResponse({"reservation_id": created.reservation_id}, status_code=202)
    first = created.instances[0]
    self_link = links(base_url(request), "servers", str(first.uuid))
    server = {
        "id": str(first.uuid), "links": self_link,
        "OS-DCF:diskConfig": first.disk_config, "security_groups": [{"name": "default"}],
        "adminPass": created.admin_pass,
    }
    return JSONResponse({"server": server}, status_code=202,
                        headers={"Location": self_link[0]["href"]})


def _page_links(request: Request, rows: list[Any], limit: int) -> list[dict[str, str]]:
    marker = str(rows[-1].uuid) if rows else ""
    return next_links(request, base_url(request), len(rows), limit, marker)


def list_servers(request: Request, ctx: ContextDep, session: ReadSessionDep,
                 version: VersionDep) -> Response:
    query = server_list_query(request, ctx, version)
    rows = list(servers.list_servers(session, ctx, query, brief=True))
    out: dict[str, Any] = {"servers": [server_brief(i, base_url(request)) for i in rows]}
    page = _page_links(request, rows, query.limit)
    if page:
        out["servers_links"] = page
    return json_response(out)


def list_servers_detail(request: Request, ctx: ContextDep, session: ReadSessionDep,
                        version: VersionDep, runtime: RuntimeDep) -> Response:
    query = server_list_query(request, ctx, version)
    rows = list(servers.list_servers(session, ctx, query))
    faults = servers.latest_faults(session, rows)
    tags = server_items.tags_of(session, [i.id for i in rows])
    hosts = servers.host_statuses(session, rows, runtime.settings.service.service_down_time)
    base = base_url(request)
    zones = aggregates.host_zones(session)
    groups = _group_names(session, runtime, [i.uuid for i in rows])
    out: dict[str, Any] = {"servers": [
        server_detail(i, faults.get(i.id), base, version, ctx, tags[i.id], host_states=hosts,
                      host_zones=zones, security_groups=groups.get(i.uuid, ()))
        for i in rows]}
    page = _page_links(request, rows, query.limit)
    if page:
        out["servers_links"] = page
    return json_response(out)


def show_server(server_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep,
                version: VersionDep) -> dict[str, Any]:
    inst, fault = servers.get(session, ctx, server_id)
    return {"server": _full(session, inst, fault, request, version, ctx)}


def _full(session: Session, inst: Instance, fault: InstanceFault | None, request: Request,
          version: Version, ctx: RequestContext, extended: bool = True) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    hosts = servers.host_statuses(session, [inst], runtime.settings.service.service_down_time)
    return server_detail(inst, fault, base_url(request), version, ctx,
                         server_items.tags_of(session, [inst.id])[inst.id],
                         server_groups.groups_of(session, inst.uuid), hosts,
                         extended=extended, host_zones=aggregates.host_zones(session),
                         security_groups=_group_names(
                             session, runtime, [inst.uuid]).get(inst.uuid, ()))


def _group_names(session: Session, runtime: Runtime, instance_uuids: list[uuid.UUID]
                 ) -> dict[uuid.UUID, list[str]]:
    """The security group names of each server's ports: from the network tables, or
    from the external Neutron (a Neutron that does not answer leaves them out: the
    server is still shown)."""
    if runtime.neutron is None:
        return server_network_actions.group_names(session, instance_uuids)
    try:
        return neutron_network_actions.group_names(runtime.neutron, instance_uuids)
    except ControlPlaneError as exc:
        LOG.warning("security groups of servers not read from Neutron: %s", exc.message)
        return {}


def update_server(server_id: str, body: BodyDep, request: Request, ctx: ContextDep,
                  session: SessionDep, version: VersionDep) -> dict[str, Any]:
    changes: ServerUpdate = parse(ServerUpdate, body, "server")
    inst = servers.update(session, ctx, server_id, changes.to_spec(), _accepts(version))
    fault = servers.latest_fault(session, inst)
    return {"server": _full(session, inst, fault, request, version, ctx,
                            extended=version.at_least("2.75"))}


def delete_server(server_id: str, ctx: ContextDep, session: SessionDep, runtime: RuntimeDep,
                  after_commit: AfterCommitDep) -> Response:
    deleting = servers.delete(session, ctx, server_id, runtime)
    if deleting is not None:
        hand_over_delete(after_commit, runtime, ctx, deleting)
    return Response(status_code=204)


def hand_over_delete(after_commit: AfterCommit, runtime: Runtime, ctx: RequestContext,
                     deleting: servers.Deleting) -> None:
    """What follows a delete's commit: the conductor's delete (or soft delete), and the
    data of a dropped shelved image."""
    if deleting.soft:
        after_commit(runtime.conductor.power_action, ctx, deleting.instance_uuid,
                     Action.SOFT_DELETE.value)
        return
    if deleting.dropped_image is not None:
        after_commit(ImageStore(runtime.settings.data_dir).delete, deleting.dropped_image)
    after_commit(runtime.conductor.delete_server, ctx, deleting.instance_uuid)


# What the handlers accept; their own checks (the models above) give the messages.
CREATE_BODY = wrapped("server", model_schema(ServerCreate))
CREATE_BODY["properties"].update({key: {"type": "object"} for key in _ALLOWED_TOP_LEVEL
                                  if key != "server"})
CREATE_BODY["additionalProperties"] = False
UPDATE_BODY = wrapped("server", model_schema(ServerUpdate))


ROUTES: list[Route] = [
    Route("POST", "/v2.1/servers", create_server, "os_compute_api:servers:create", status_code=202,
          body=CREATE_BODY),
    Route("GET", "/v2.1/servers", list_servers, "os_compute_api:servers:index", query=None),
    Route("GET", "/v2.1/servers/detail", list_servers_detail, "os_compute_api:servers:detail",
          query=None),
    Route("GET", "/v2.1/servers/{server_id}", show_server, "os_compute_api:servers:show"),
    Route("PUT", "/v2.1/servers/{server_id}", update_server, "os_compute_api:servers:update",
          body=UPDATE_BODY),
    Route("DELETE", "/v2.1/servers/{server_id}", delete_server, "os_compute_api:servers:delete",
          status_code=204),
]
