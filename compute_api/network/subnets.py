"""Subnets: CIDR, gateway and pools checked against each other and the network's others."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.network_models import IpAllocation, Network, Port, Subnet
from common.context import RequestContext
from common.policy import PolicyForbidden
from compute_api.network import ipam, networks, quotas
from compute_api.network.attributes import AUTO
from compute_api.network.common import fetch, owns, standard, touch
from compute_api.network.faults import (
    InvalidInput,
    OverlappingCidr,
    SubnetInUse,
    SubnetNotFound,
)

ROUTER_INTERFACES = ("network:router_interface", "network:router_interface_distributed",
                     "network:ha_router_replicated_interface")


def visible(session: Session, ctx: RequestContext, subnet: Subnet) -> bool:
    if owns(ctx, subnet.project_id):
        return True
    net = session.get(Network, subnet.network_id)
    return net is not None and networks.visible(ctx, net)


def get(session: Session, ctx: RequestContext, subnet_id: Any) -> Subnet:
    """The subnet if the caller may see it (its own, or on a network it sees)."""
    return fetch(session, Subnet, subnet_id, lambda s: visible(session, ctx, s),
                 SubnetNotFound)


def list_visible(session: Session, ctx: RequestContext) -> Sequence[Subnet]:
    stmt = (sa.select(Subnet).join(Network, Network.id == Subnet.network_id)
            .where(sa.or_(networks.visible_filter(ctx), Subnet.project_id == ctx.project_id))
            .order_by(Subnet.created_at, Subnet.id))
    return session.scalars(stmt).all()


def on_network(session: Session, net_id: Any) -> Sequence[Subnet]:
    return session.scalars(sa.select(Subnet).where(Subnet.network_id == net_id)
                           .order_by(Subnet.created_at, Subnet.id)).all()


def _check_gateway(cidr: str, gateway: str | None) -> None:
    if gateway is None:
        return
    net, address = ipaddress.ip_network(cidr), ipaddress.ip_address(gateway)
    if address.version != net.version or address not in net or address == net.network_address \
            or (net.version == 4 and net.prefixlen < 31 and address == net.broadcast_address):
        raise InvalidInput("Gateway is not valid on subnet")


def _check_overlap(session: Session, net_id: Any, cidr: str) -> None:
    mine = ipaddress.ip_network(cidr)
    for other in on_network(session, net_id):
        theirs = ipaddress.ip_network(other.cidr)
        if theirs.version == mine.version and theirs.overlaps(mine):
            raise OverlappingCidr(cidr, str(net_id))


def _check_ipv6_modes(attrs: dict[str, Any]) -> None:
    ra_mode, address_mode = attrs.get("ipv6_ra_mode"), attrs.get("ipv6_address_mode")
    if not (ra_mode or address_mode):
        return
    if not attrs["enable_dhcp"]:
        raise InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when "
                           "enable_dhcp is set to False")
    if ra_mode and address_mode and ra_mode != address_mode:
        raise InvalidInput(f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to "
                           f"'{address_mode}' is not valid. If both attributes are set, "
                           "they must be the same value")
    # Addresses made from the MAC (EUI-64) need a /64.
    if (ra_mode in ipam.SLAAC_MODES or address_mode in ipam.SLAAC_MODES) \
            and ipaddress.ip_network(attrs["cidr"]).prefixlen != 64:
        raise InvalidInput(f"Invalid CIDR {attrs['cidr']} for IPv6 address mode. OpenStack "
                           "uses the EUI-64 address format, which requires the prefix to be "
                           "/64")


def create(session: Session, ctx: RequestContext, attrs: dict[str, Any]) -> Subnet:
    """Create a subnet. Raises InvalidInput, OverlappingCidr, pool errors, OverQuota."""
    net = networks.get(session, ctx, attrs["network_id"])
    if not owns(ctx, net.project_id):
        raise PolicyForbidden("create_subnet")
    cidr = attrs["cidr"]
    if ipaddress.ip_network(cidr).version != attrs["ip_version"]:
        raise InvalidInput(f"Cidr {cidr} does not match ip_version {attrs['ip_version']}")
    if attrs["ip_version"] == 4 and (attrs.get("ipv6_ra_mode") or attrs.get("ipv6_address_mode")):
        raise InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp "
                           "is set to False or ip_version is 4")
    _check_ipv6_modes(attrs)
    quotas.check(session, attrs["project_id"], "subnet")
    gateway = ipam.default_gateway(cidr) if attrs["gateway_ip"] is AUTO else attrs["gateway_ip"]
    _check_gateway(cidr, gateway)
    pools = attrs["allocation_pools"]
    pools = ipam.default_pools(cidr, gateway) if pools is AUTO or pools is None else pools
    ipam.check_pools(cidr, gateway, pools)
    _check_overlap(session, net.id, cidr)
    subnet = Subnet(project_id=attrs["project_id"], network_id=net.id, name=attrs["name"],
                    description=attrs["description"], ip_version=attrs["ip_version"],
                    cidr=cidr, gateway_ip=gateway, allocation_pools=pools,
                    dns_nameservers=attrs["dns_nameservers"], host_routes=attrs["host_routes"],
                    enable_dhcp=attrs["enable_dhcp"], ipv6_ra_mode=attrs.get("ipv6_ra_mode"),
                    ipv6_address_mode=attrs.get("ipv6_address_mode"), tags=[])
    session.add(subnet)
    session.flush()
    return subnet


def _owned(session: Session, ctx: RequestContext, subnet_id: str, rule: str) -> Subnet:
    subnet = get(session, ctx, subnet_id)
    if not owns(ctx, subnet.project_id):
        raise PolicyForbidden(rule)
    return subnet


def update(session: Session, ctx: RequestContext, subnet_id: str, attrs: dict[str, Any]
           ) -> Subnet:
    subnet = _owned(session, ctx, subnet_id, "update_subnet")
    gateway = attrs.get("gateway_ip", subnet.gateway_ip)
    pools = attrs.get("allocation_pools") or subnet.allocation_pools
    _check_gateway(subnet.cidr, gateway)
    ipam.check_pools(subnet.cidr, gateway, pools)
    for key in ("name", "description", "dns_nameservers", "host_routes", "enable_dhcp"):
        if key in attrs:
            setattr(subnet, key, attrs[key])
    subnet.gateway_ip, subnet.allocation_pools = gateway, pools
    touch(subnet)
    session.flush()
    return subnet


def _release_auto_addresses(session: Session, subnet: Subnet) -> None:
    """As Neutron: addresses made from the prefix (SLAAC) leave with their subnet,
    except a router interface's, which keeps the subnet in use."""
    holders = session.scalars(sa.select(Port).join(
        IpAllocation, IpAllocation.port_id == Port.id).where(
        IpAllocation.subnet_id == subnet.id)).unique().all()
    if any(p.device_owner in ROUTER_INTERFACES for p in holders):
        raise SubnetInUse(str(subnet.id))
    for port in holders:
        touch(port)


def delete(session: Session, ctx: RequestContext, subnet_id: str) -> None:
    """Delete a subnet. Raises SubnetInUse while a port holds one of its addresses."""
    subnet = _owned(session, ctx, subnet_id, "delete_subnet")
    if subnet.ipv6_address_mode in ipam.SLAAC_MODES:
        _release_auto_addresses(session, subnet)
    elif ipam.in_use(session, subnet, networks.NETWORK_OWNED):
        raise SubnetInUse(str(subnet.id))
    session.execute(sa.delete(IpAllocation).where(IpAllocation.subnet_id == subnet.id))
    session.delete(subnet)
    session.flush()


def view(subnet: Subnet) -> dict[str, Any]:
    return {**standard(subnet), "name": subnet.name, "description": subnet.description,
            "network_id": str(subnet.network_id), "ip_version": subnet.ip_version,
            "cidr": subnet.cidr, "gateway_ip": subnet.gateway_ip,
            "allocation_pools": list(subnet.allocation_pools or []),
            "dns_nameservers": list(subnet.dns_nameservers or []),
            "host_routes": list(subnet.host_routes or []), "enable_dhcp": subnet.enable_dhcp,
            "ipv6_ra_mode": subnet.ipv6_ra_mode, "ipv6_address_mode": subnet.ipv6_address_mode,
            "subnetpool_id": None, "segment_id": None, "service_types": []}
