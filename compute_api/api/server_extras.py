"""A server's password, addresses, interfaces and volume attachments:
/servers/{id}/os-server-password, /ips, /os-interface and /os-volume_attachments.

Until a network and a volume service are part of the cloud, a server has no
interface or volume attachments: the lists are empty and any one of them is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from starlette.requests import Request

from common.errors import NotFound
from compute_api import server_extras, servers
from compute_api.api.deps import ContextDep, ReadSessionDep, SessionDep, VersionDep
from compute_api.api.query import strict_params, x_int

router = APIRouter(prefix="/v2.1/servers/{server_id}")


@router.get("/os-server-password")
def show_password(server_id: str, ctx: ContextDep, session: ReadSessionDep
                  ) -> dict[str, Any]:
    inst, _ = servers.get(session, ctx, server_id)
    return {"password": server_extras.password(inst)}


@router.delete("/os-server-password", status_code=204)
def clear_password(server_id: str, ctx: ContextDep, session: SessionDep) -> Response:
    inst, _ = servers.get(session, ctx, server_id)
    server_extras.clear_password(session, inst)
    return Response(status_code=204)


@router.get("/ips")
def list_ips(server_id: str, ctx: ContextDep, session: ReadSessionDep) -> dict[str, Any]:
    inst, _ = servers.get(session, ctx, server_id)
    return {"addresses": server_extras.addresses(inst)}


@router.get("/ips/{network_label}")
def show_ips(server_id: str, network_label: str, ctx: ContextDep, session: ReadSessionDep
             ) -> dict[str, Any]:
    inst, _ = servers.get(session, ctx, server_id)
    return {network_label: server_extras.network_addresses(inst, network_label)}


@router.get("/os-interface")
def list_interfaces(server_id: str, ctx: ContextDep, session: ReadSessionDep
                    ) -> dict[str, Any]:
    servers.get(session, ctx, server_id)
    return {"interfaceAttachments": []}


@router.get("/os-interface/{port_id}")
def show_interface(server_id: str, port_id: str, ctx: ContextDep, session: ReadSessionDep
                   ) -> dict[str, Any]:
    servers.get(session, ctx, server_id)
    raise NotFound(f"Instance {server_id} does not have a port with id {port_id}")


@router.get("/os-volume_attachments")
def list_volume_attachments(server_id: str, request: Request, ctx: ContextDep,
                            session: ReadSessionDep, version: VersionDep
                            ) -> dict[str, Any]:
    # limit and offset are checked even though there is nothing to page through.
    strict_params(request, {"limit", "offset"}, version)
    x_int(request, "limit", 0)
    x_int(request, "offset", 0)
    servers.get(session, ctx, server_id)
    return {"volumeAttachments": []}


@router.get("/os-volume_attachments/{volume_id}")
def show_volume_attachment(server_id: str, volume_id: str, ctx: ContextDep,
                           session: ReadSessionDep) -> dict[str, Any]:
    servers.get(session, ctx, server_id)
    raise NotFound(f"Instance {server_id} is not attached to volume {volume_id}")
