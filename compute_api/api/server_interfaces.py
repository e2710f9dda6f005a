"""/servers/{id}/os-interface: a server's interface attachments (its ports)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response

from common.routes import Route
from compute_api import neutron_interfaces, server_interfaces
from compute_api.api.deps import (
    AfterCommitDep,
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version

TAGS_SHOWN = "2.70"
TAGS_TAKEN = "2.49"


def list_interfaces(server_id: str, ctx: ContextDep, session: ReadSessionDep,
                    runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    tags = version.at_least(TAGS_SHOWN)
    if runtime.neutron is not None:
        return {"interfaceAttachments": neutron_interfaces.list_attachments(
            session, ctx, runtime.neutron, server_id, tags)}
    return {"interfaceAttachments": server_interfaces.list_attachments(
        session, ctx, server_id, tags)}


def show_interface(server_id: str, port_id: str, ctx: ContextDep, session: ReadSessionDep,
                   runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    tags = version.at_least(TAGS_SHOWN)
    if runtime.neutron is not None:
        return {"interfaceAttachment": neutron_interfaces.show_attachment(
            session, ctx, runtime.neutron, server_id, port_id, tags)}
    return {"interfaceAttachment": server_interfaces.show_attachment(
        session, ctx, server_id, port_id, tags)}


def attach_interface(server_id: str, body: BodyDep, ctx: ContextDep, session: SessionDep,
                     runtime: RuntimeDep, version: VersionDep,
                     after_commit: AfterCommitDep) -> dict[str, Any]:
    wanted = server_interfaces.parse(body, version.at_least(TAGS_TAKEN))
    if runtime.neutron is not None:
        inst, made = neutron_interfaces.attach(session, ctx, server_id, wanted, runtime)
        after_commit(runtime.conductor.attach_interface, ctx, inst.uuid,
                     uuid.UUID(made["id"]))
        return {"interfaceAttachment": neutron_interfaces.view(
            made, version.at_least(TAGS_SHOWN))}
    instance_uuid, port = server_interfaces.attach(session, ctx, server_id, wanted, runtime)
    after_commit(runtime.conductor.attach_interface, ctx, instance_uuid, port.id)
    return {"interfaceAttachment": server_interfaces.view(
        session, port, version.at_least(TAGS_SHOWN))}


def detach_interface(server_id: str, port_id: str, ctx: ContextDep, session: SessionDep,
                     runtime: RuntimeDep, after_commit: AfterCommitDep) -> Response:
    if runtime.neutron is not None:
        instance_uuid = neutron_interfaces.detach(session, ctx, server_id, port_id,
                                                  runtime).uuid
    else:
        instance_uuid = server_interfaces.detach(session, ctx, server_id, port_id, runtime)
    after_commit(runtime.conductor.detach_interface, ctx, instance_uuid, port_id)
    return Response(status_code=202)


def _create_body(version: Version) -> dict[str, Any]:
    return server_interfaces.create_schema(version.at_least(TAGS_TAKEN))


ROUTES: list[Route] = [
    Route("GET", "/v2.1/servers/{server_id}/os-interface", list_interfaces,
          "os_compute_api:os-attach-interfaces:list"),
    Route("GET", "/v2.1/servers/{server_id}/os-interface/{port_id}", show_interface,
          "os_compute_api:os-attach-interfaces:show"),
    Route("POST", "/v2.1/servers/{server_id}/os-interface", attach_interface,
          "os_compute_api:os-attach-interfaces:create", body=_create_body),
    Route("DELETE", "/v2.1/servers/{server_id}/os-interface/{port_id}", detach_interface,
          "os_compute_api:os-attach-interfaces:delete", status_code=202),
]
