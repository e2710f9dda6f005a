"""/os-networks and /os-tenant-networks (until 2.35, then 404): the read-only views of
the network API's networks the caller sees, in the shapes upstream's proxies gave them
(an external Neutron's, through ``compute_api/neutron_proxies.py``, with backend = neutron)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.network_models import Network, Subnet
from common.context import RequestContext
from common.errors import NotFound
from common.routes import Route
from compute_api import neutron_proxies
from compute_api.api.deps import ContextDep, ReadSessionDep, RuntimeDep, VersionDep
from compute_api.api.microversion import Version
from compute_api.network import networks

# Upstream's proxy answered these nova-network fields, all empty with a network service.
_EMPTY_FIELDS = (
    "bridge", "bridge_interface", "broadcast", "cidr", "cidr_v6", "created_at", "deleted",
    "deleted_at", "dhcp_server", "dhcp_start", "dns1", "dns2", "enable_dhcp", "gateway",
    "gateway_v6", "host", "injected", "multi_host", "netmask", "netmask_v6", "priority",
    "project_id", "rxtx_base", "share_address", "updated_at", "vlan", "vpn_private_address",
    "vpn_public_address", "vpn_public_port", "mtu")


def _served(version: Version) -> None:
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")


def _view(net: Network) -> dict[str, Any]:
    return _fields(str(net.id), net.name)


def _fields(net_id: str, label: str) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(_EMPTY_FIELDS)
    out.update({"id": net_id, "label": label})
    return out


def list_networks(ctx: ContextDep, session: ReadSessionDep, version: VersionDep,
                  runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"networks": [_fields(n["id"], n.get("name", ""))
                             for n in neutron_proxies.list_networks(runtime.neutron)]}
    return {"networks": [_view(n) for n in networks.list_visible(session, ctx)]}


def _visible(session: Session, ctx: RequestContext, network_id: str) -> Network:
    try:
        return networks.get(session, ctx, network_id)
    except NotFound:
        raise NotFound("Network not found") from None


def show_network(network_id: str, ctx: ContextDep, session: ReadSessionDep,
                 version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        net = neutron_proxies.get_network(runtime.neutron, network_id)
        return {"network": _fields(net["id"], net.get("name", ""))}
    return {"network": _view(_visible(session, ctx, network_id))}


def _tenant_views(session: Session, nets: Sequence[Network]) -> list[dict[str, Any]]:
    """Upstream's tenant networks: id, label (the name) and the first IPv4 subnet's cidr
    (one read for all of them)."""
    first: dict[Any, str] = {}
    for net_id, cidr in session.execute(
            sa.select(Subnet.network_id, Subnet.cidr)
            .where(Subnet.network_id.in_([n.id for n in nets]), Subnet.ip_version == 4)
            .order_by(Subnet.cidr)):
        first.setdefault(net_id, cidr)
    return [{"id": str(n.id), "label": n.name, "cidr": first.get(n.id)} for n in nets]


def list_tenant_networks(ctx: ContextDep, session: ReadSessionDep, version: VersionDep,
                         runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"networks": neutron_proxies.tenant_views(
            runtime.neutron, neutron_proxies.list_networks(runtime.neutron))}
    return {"networks": _tenant_views(session, networks.list_visible(session, ctx))}


def show_tenant_network(network_id: str, ctx: ContextDep, session: ReadSessionDep,
                        version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    _served(version)
    if runtime.neutron is not None:
        return {"network": neutron_proxies.tenant_views(runtime.neutron, [
            neutron_proxies.get_network(runtime.neutron, network_id)])[0]}
    return {"network": _tenant_views(session, [_visible(session, ctx, network_id)])[0]}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-networks", list_networks, "os_compute_api:os-networks:list",
          max_version="2.35"),
    Route("GET", "/v2.1/os-networks/{network_id}", show_network, "os_compute_api:os-networks:show",
          max_version="2.35"),
    Route("GET", "/v2.1/os-tenant-networks", list_tenant_networks,
          "os_compute_api:os-tenant-networks:list", max_version="2.35"),
    Route("GET", "/v2.1/os-tenant-networks/{network_id}", show_tenant_network,
          "os_compute_api:os-tenant-networks:show", max_version="2.35"),
]
