"""/os-security-groups, /os-security-group-rules and /os-floating-ips (until 2.35, then
404): the project's security groups and floating IPs of the network API, in the shapes
upstream's proxies gave them. ``compute_api/network_proxies.py`` does the work
(``compute_api/neutron_proxies.py`` with an external Neutron)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Response
from starlette.requests import Request

from common.errors import BadRequest, NotFound
from common.routes import Route
from compute_api import network_proxies as proxies
from compute_api import neutron_proxies as external
from compute_api.api.deps import (
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version

LAST = "2.35"


def _served(version: Version) -> None:
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")


async def _optional_body(request: Request) -> Any:
    """The JSON body, None when there is none (allocating a floating IP needs none)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed request body") from None


OptionalBodyDep = Annotated[Any, Depends(_optional_body)]


# --- security groups -------------------------------------------------------------------


def list_security_groups(request: Request, ctx: ContextDep, session: SessionDep,
                         version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    everyone = request.query_params.get("all_tenants", "0").lower() not in ("0", "false", "")
    if runtime.neutron is not None:
        return {"security_groups": external.list_groups(runtime.neutron, ctx, everyone)}
    return {"security_groups": proxies.list_groups(session, ctx, everyone)}


def show_security_group(group_id: str, ctx: ContextDep, session: SessionDep,
                        version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"security_group": external.show_group(runtime.neutron, group_id)}
    return {"security_group": proxies.show_group(session, ctx, group_id)}


def create_security_group(body: BodyDep, ctx: ContextDep, session: SessionDep,
                          version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"security_group": external.create_group(runtime.neutron, body)}
    return {"security_group": proxies.create_group(session, ctx, body)}


def update_security_group(group_id: str, body: BodyDep, ctx: ContextDep, session: SessionDep,
                          version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"security_group": external.update_group(runtime.neutron, group_id, body)}
    return {"security_group": proxies.update_group(session, ctx, group_id, body)}


def delete_without_id(ctx: ContextDep, version: VersionDep) -> Response:
    _served(version)
    raise NotFound("Security group could not be found: no id was given.")


def delete_security_group(group_id: str, ctx: ContextDep, session: SessionDep,
                          version: VersionDep, runtime: RuntimeDep) -> Response:
    _served(version)
    if runtime.neutron is not None:
        external.delete_group(runtime.neutron, group_id)
    else:
        proxies.delete_group(session, ctx, group_id)
    return Response(status_code=202)


def create_security_group_rule(body: BodyDep, ctx: ContextDep, session: SessionDep,
                               version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"security_group_rule": external.create_rule(runtime.neutron, ctx, body)}
    return {"security_group_rule": proxies.create_rule(session, ctx, body)}


def delete_security_group_rule(rule_id: str, ctx: ContextDep, session: SessionDep,
                               version: VersionDep, runtime: RuntimeDep) -> Response:
    _served(version)
    if runtime.neutron is not None:
        external.delete_rule(runtime.neutron, rule_id)
    else:
        proxies.delete_rule(session, ctx, rule_id)
    return Response(status_code=202)


# --- floating IPs ----------------------------------------------------------------------


def list_floating_ips(ctx: ContextDep, session: ReadSessionDep, version: VersionDep,
                      runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"floating_ips": external.list_floating_ips(runtime.neutron, ctx)}
    return {"floating_ips": proxies.list_floating_ips(session, ctx)}


def show_floating_ip(floating_ip_id: str, ctx: ContextDep, session: ReadSessionDep,
                     version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"floating_ip": external.show_floating_ip(runtime.neutron, floating_ip_id)}
    return {"floating_ip": proxies.show_floating_ip(session, ctx, floating_ip_id)}


def allocate_floating_ip(body: OptionalBodyDep, ctx: ContextDep, session: SessionDep,
                         version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"floating_ip": external.allocate_floating_ip(runtime.neutron, ctx, body)}
    return {"floating_ip": proxies.allocate_floating_ip(session, ctx, body)}


def release_floating_ip(floating_ip_id: str, ctx: ContextDep, session: SessionDep,
                        version: VersionDep, runtime: RuntimeDep) -> Response:
    _served(version)
    if runtime.neutron is not None:
        external.release_floating_ip(runtime.neutron, floating_ip_id)
    else:
        proxies.release_floating_ip(session, ctx, floating_ip_id)
    return Response(status_code=202)


_POOL_BODY = {"type": "object", "properties": {"pool": {"type": ["string", "null"]}}}
SG = "os_compute_api:os-security-groups"
FIP = "os_compute_api:os-floating-ips"

ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-security-groups", list_security_groups, f"{SG}:list",
          max_version=LAST, query=frozenset({"all_tenants", "limit", "offset"})),
    Route("POST", "/v2.1/os-security-groups", create_security_group, f"{SG}:create",
          body=proxies.GROUP_BODY, max_version=LAST),
    Route("GET", "/v2.1/os-security-groups/{group_id}", show_security_group, f"{SG}:show",
          max_version=LAST),
    Route("PUT", "/v2.1/os-security-groups/{group_id}", update_security_group,
          f"{SG}:update", body=proxies.GROUP_BODY, max_version=LAST),
    Route("DELETE", "/v2.1/os-security-groups/{group_id}", delete_security_group,
          f"{SG}:delete", max_version=LAST, status_code=202),
    # An empty id (a trailing slash) names no group: 404 as upstream, not a redirect.
    Route("DELETE", "/v2.1/os-security-groups/", delete_without_id, f"{SG}:delete",
          max_version=LAST, status_code=202),
    Route("POST", "/v2.1/os-security-group-rules", create_security_group_rule,
          f"{SG}:rule:create", body=proxies.RULE_BODY, max_version=LAST),
    Route("DELETE", "/v2.1/os-security-group-rules/{rule_id}", delete_security_group_rule,
          f"{SG}:rule:delete", max_version=LAST, status_code=202),
    Route("GET", "/v2.1/os-floating-ips", list_floating_ips, f"{FIP}:list",
          max_version=LAST),
    Route("POST", "/v2.1/os-floating-ips", allocate_floating_ip, f"{FIP}:create",
          body=_POOL_BODY, max_version=LAST),
    Route("GET", "/v2.1/os-floating-ips/{floating_ip_id}", show_floating_ip, f"{FIP}:show",
          max_version=LAST),
    Route("DELETE", "/v2.1/os-floating-ips/{floating_ip_id}", release_floating_ip,
          f"{FIP}:delete", max_version=LAST, status_code=202),
]
