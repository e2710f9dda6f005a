"""A server's password, addresses and volume attachments:
/servers/{id}/os-server-password, /ips and /os-volume_attachments (its interfaces are
``server_interfaces``).

Until a volume service is part of the cloud, a server has no volume attachments: the
list is empty and any one of them is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.requests import Request

from common.errors import NotFound
from common.routes import Route
from compute_api import server_extras, servers
from compute_api.api.deps import ContextDep, ReadSessionDep, SessionDep, VersionDep
from compute_api.api.query import strict_params, x_int


def show_password(server_id: str, ctx: ContextDep, session: ReadSessionDep
                  ) -> dict[str, Any]:
    inst = servers.find(session, ctx, server_id)
    return {"password": server_extras.password(inst)}


def clear_password(server_id: str, ctx: ContextDep, session: SessionDep) -> Response:
    inst = servers.find(session, ctx, server_id)
    server_extras.clear_password(session, inst)
    return Response(status_code=204)


def list_ips(server_id: str, ctx: ContextDep, session: ReadSessionDep) -> dict[str, Any]:
    inst = servers.find(session, ctx, server_id)
    return {"addresses": server_extras.addresses(inst)}


def show_ips(server_id: str, network_label: str, ctx: ContextDep, session: ReadSessionDep
             ) -> dict[str, Any]:
    inst = servers.find(session, ctx, server_id)
    return {network_label: server_extras.network_addresses(inst, network_label)}


def list_volume_attachments(server_id: str, request: Request, ctx: ContextDep,
                            session: ReadSessionDep, version: VersionDep
                            ) -> dict[str, Any]:
    # limit and offset are checked even though there is nothing to page through.
    strict_params(request, {"limit", "offset"}, version)
    x_int(request, "limit", 0)
    x_int(request, "offset", 0)
    servers.get(session, ctx, server_id)
    return {"volumeAttachments": []}


def show_volume_attachment(server_id: str, volume_id: str, ctx: ContextDep,
                           session: ReadSessionDep) -> dict[str, Any]:
    servers.get(session, ctx, server_id)
    raise NotFound(f"Instance {server_id} is not attached to volume {volume_id}")


ROUTES: list[Route] = [
    Route("GET", "/v2.1/servers/{server_id}/os-server-password", show_password,
          "os_compute_api:os-server-password:show"),
    Route("DELETE", "/v2.1/servers/{server_id}/os-server-password", clear_password,
          "os_compute_api:os-server-password:clear", status_code=204),
    Route("GET", "/v2.1/servers/{server_id}/ips", list_ips, "os_compute_api:ips:index"),
    Route("GET", "/v2.1/servers/{server_id}/ips/{network_label}", show_ips,
          "os_compute_api:ips:show"),
    Route("GET", "/v2.1/servers/{server_id}/os-volume_attachments", list_volume_attachments,
          "os_compute_api:os-volumes-attachments:index", query=None),
    Route("GET", "/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}",
          show_volume_attachment, "os_compute_api:os-volumes-attachments:show"),
]
