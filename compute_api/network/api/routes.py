"""The network API's surface: version documents, extensions, collections, quotas."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.requests import Request

from common.policy import PolicyForbidden
from common.routes import AUTHENTICATED, PUBLIC, Route
from compute_api.api.deps import BodyDep, ContextDep, ReadSessionDep, SessionDep
from compute_api.api.versions import base_url
from compute_api.network import (
    extensions,
    floating_ips,
    networks,
    ports,
    quotas,
    router_interfaces,
    routers,
    rules,
    security_groups,
    subnets,
)
from compute_api.network.api.collections import Collection, routes_of
from compute_api.network.attributes import (
    NETWORK,
    PORT,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
    SUBNET,
)
from compute_api.network.faults import (
    AgentNotFound,
    FloatingIPNotFound,
    NetworkNotFound,
    PortNotFound,
    RouterNotFound,
    SecurityGroupNotFound,
    SecurityGroupRuleNotFound,
    SubnetNotFound,
)

_STANDARD = frozenset({"id", "name", "project_id", "tenant_id", "created_at", "updated_at",
                       "revision_number", "description"})

COLLECTIONS = [
    Collection(NETWORK, "/networks", networks.create, networks.get, networks.list_visible,
               networks.update, networks.delete, networks.views, NetworkNotFound,
               _STANDARD | {"status", "admin_state_up", "shared", "mtu", "router:external"}),
    Collection(SUBNET, "/subnets", subnets.create, subnets.get, subnets.list_visible,
               subnets.update, subnets.delete,
               lambda session, ctx, rows: [subnets.view(r) for r in rows], SubnetNotFound,
               _STANDARD | {"network_id", "ip_version", "cidr", "gateway_ip", "enable_dhcp"}),
    Collection(PORT, "/ports", ports.create, ports.get, ports.list_visible, ports.update,
               floating_ips.delete_port, ports.views, PortNotFound,
               _STANDARD | {"network_id", "mac_address", "status", "device_id",
                            "device_owner", "admin_state_up"}),
    Collection(SECURITY_GROUP, "/security-groups", security_groups.create,
               security_groups.get, security_groups.list_visible, security_groups.update,
               security_groups.delete,
               lambda session, ctx, rows: security_groups.views(session, rows),
               SecurityGroupNotFound, _STANDARD | {"stateful"}, list_writes=True),
    Collection(SECURITY_GROUP_RULE, "/security-group-rules", rules.create, rules.get,
               rules.list_visible, rules.update, rules.delete,
               lambda session, ctx, rows: [rules.rule_view(r) for r in rows],
               SecurityGroupRuleNotFound,
               _STANDARD | {"security_group_id", "direction", "ethertype", "protocol",
                            "port_range_min", "port_range_max", "remote_ip_prefix",
                            "remote_group_id"}),
    Collection(routers.ROUTER, "/routers", routers.create, routers.get, routers.list_visible,
               routers.update, routers.delete, routers.views, RouterNotFound,
               _STANDARD | {"status", "admin_state_up"}),
    Collection(floating_ips.FLOATINGIP, "/floatingips", floating_ips.create, floating_ips.get,
               floating_ips.list_visible, floating_ips.update, floating_ips.delete,
               floating_ips.views, FloatingIPNotFound,
               _STANDARD | {"floating_network_id", "floating_ip_address", "fixed_ip_address",
                            "port_id", "router_id", "status"}),
]


def versions(request: Request) -> dict[str, Any]:
    base = base_url(request)
    return {"versions": [{"id": "v2.0", "status": "CURRENT",
                          "links": [{"rel": "self", "href": f"{base}/v2.0/"}]}]}


def version_resources(request: Request, ctx: ContextDep) -> dict[str, Any]:
    base = base_url(request)
    return {"resources": [
        {"name": c.resource.singular, "collection": c.resource.plural,
         "links": [{"rel": "self", "href": f"{base}/v2.0{c.path}"}]} for c in COLLECTIONS]}


def list_extensions(ctx: ContextDep) -> dict[str, Any]:
    return {"extensions": extensions.listed()}


def show_extension(alias: str, ctx: ContextDep) -> dict[str, Any]:
    return {"extension": extensions.shown(alias)}


def list_agents(ctx: ContextDep) -> dict[str, Any]:
    """Neutron's agents: there are none (each compute agent runs the data plane itself),
    so the list is empty for everyone, as a non-admin's is in Neutron."""
    return {"agents": []}


def show_agent(agent_id: str, ctx: ContextDep) -> dict[str, Any]:
    raise AgentNotFound(agent_id)


def _with_owner(limits: dict[str, int], project_id: str) -> dict[str, Any]:
    return {**limits, "project_id": project_id, "tenant_id": project_id}


def list_quotas(ctx: ContextDep, session: ReadSessionDep) -> dict[str, Any]:
    if not ctx.is_admin:
        raise PolicyForbidden("get_quota")
    return {"quotas": [_with_owner(quotas.limits(session, p), p)
                       for p in quotas.projects_with_limits(session)]}


def show_quota(project_id: str, ctx: ContextDep, session: ReadSessionDep) -> dict[str, Any]:
    return {"quota": quotas.limits(session, project_id)}


def show_default_quota(project_id: str, ctx: ContextDep) -> dict[str, Any]:
    return {"quota": dict(quotas.DEFAULTS)}


def show_quota_details(project_id: str, ctx: ContextDep, session: ReadSessionDep
                       ) -> dict[str, Any]:
    return {"quota": quotas.details(session, project_id)}


def update_quota(project_id: str, body: BodyDep, ctx: ContextDep, session: SessionDep
                 ) -> dict[str, Any]:
    return {"quota": quotas.update(session, project_id, body)}


def delete_quota(project_id: str, ctx: ContextDep, session: SessionDep) -> Response:
    quotas.reset(session, project_id)
    return Response(status_code=204)


def add_router_interface(item_id: str, body: BodyDep, ctx: ContextDep, session: SessionDep
                         ) -> dict[str, Any]:
    return router_interfaces.add_interface(session, ctx, item_id, body)


def remove_router_interface(item_id: str, body: BodyDep, ctx: ContextDep,
                            session: SessionDep) -> dict[str, Any]:
    return router_interfaces.remove_interface(session, ctx, item_id, body)


_INTERFACE_BODY = {"type": "object", "properties": {"subnet_id": {}, "port_id": {}}}
_QUOTA_BODY = {"type": "object", "properties": {"quota": {"type": "object"}}}
_QUOTA = "/v2.0/quotas/{project_id}"

ROUTES: list[Route] = [
    Route("GET", "/", versions, PUBLIC, query=None, include_in_schema=False),
    Route("GET", "/v2.0/", version_resources, AUTHENTICATED, query=None),
    Route("GET", "/v2.0/extensions", list_extensions, AUTHENTICATED, query=None),
    Route("GET", "/v2.0/extensions/{alias}", show_extension, AUTHENTICATED, query=None),
    Route("GET", "/v2.0/agents", list_agents, AUTHENTICATED, query=None),
    Route("GET", "/v2.0/agents/{agent_id}", show_agent, AUTHENTICATED, query=None),
    *(route for c in COLLECTIONS for route in routes_of(c)),
    Route("PUT", "/v2.0/routers/{item_id}/add_router_interface", add_router_interface,
          "add_router_interface", query=None, body=_INTERFACE_BODY),
    Route("PUT", "/v2.0/routers/{item_id}/remove_router_interface", remove_router_interface,
          "remove_router_interface", query=None, body=_INTERFACE_BODY),
    Route("GET", "/v2.0/quotas", list_quotas, "get_quota", query=None),
    Route("GET", f"{_QUOTA}/default", show_default_quota, "get_quota", query=None),
    Route("GET", f"{_QUOTA}/details", show_quota_details, "get_quota", query=None),
    Route("GET", _QUOTA, show_quota, "get_quota", query=None),
    Route("PUT", _QUOTA, update_quota, "update_quota", query=None, body=_QUOTA_BODY),
    Route("DELETE", _QUOTA, delete_quota, "delete_quota", query=None, status_code=204),
]
