"""A router's interfaces: subnets attached by their gateway address, or ports adopted.

Neutron's checks, in its order: no second port on a subnet and no overlapping CIDR among
the subnets a router reaches (its interfaces' and its gateway network's), one IPv6 port
per network (another IPv6 subnet of that network is one more address on it); removal
refuses while a floating IP goes through the subnet.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.network_models import IpAllocation, Network, Port, Router, RouterPort, Subnet
from common.context import RequestContext
from common.errors import BadRequest
from compute_api.network import ipam, ports, quotas, routers, subnets
from compute_api.network import validators as v
from compute_api.network.common import touch
from compute_api.network.faults import (
    NeutronBadRequest,
    PortNotFound,
    RouterInterfaceInUseByFloatingIP,
    RouterInterfaceNotFound,
    RouterInterfaceNotFoundForSubnet,
    SubnetMismatchForPort,
)


def _interface_ids(body: Any, verb: str) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        raise BadRequest("Body contains invalid data")
    subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
    if subnet_id is None and port_id is None:
        raise NeutronBadRequest("router", "Either subnet_id or port_id must be specified")
    if verb == "add" and subnet_id is not None and port_id is not None:
        raise NeutronBadRequest("router", "Cannot specify both subnet-id and port-id")
    return (None if subnet_id is None else v.uuid_str("subnet_id", subnet_id),
            None if port_id is None else v.uuid_str("port_id", port_id))


def _reached_subnets(session: Session, router: Router, new_ids: set[uuid.UUID]
                     ) -> list[Subnet]:
    """The subnets the router reaches: its interfaces' and every subnet of its gateway's
    network. Raises NeutronBadRequest if one of its ports already holds a ``new_ids``."""
    rows = session.execute(
        sa.select(RouterPort.port_type, Port.network_id, IpAllocation.subnet_id)
        .join(Port, Port.id == RouterPort.port_id)
        .join(IpAllocation, IpAllocation.port_id == Port.id)
        .where(RouterPort.router_id == router.id).order_by(IpAllocation.id))
    reached: dict[uuid.UUID, Subnet] = {}
    for port_type, net_id, subnet_id in rows:
        if subnet_id in new_ids:
            raise NeutronBadRequest("router", f"Router already has a port on subnet "
                                    f"{subnet_id}")
        held = (subnets.on_network(session, net_id) if port_type == routers.GATEWAY_OWNER
                else [session.get(Subnet, subnet_id)])
        reached.update((s.id, s) for s in held if s is not None)
    return list(reached.values())


def _check_attachable(session: Session, router: Router, new: Sequence[Subnet]) -> None:
    """Neutron's checks before subnets join a router (both 400): no second port on a
    subnet, and no CIDR overlapping one the router reaches already."""
    for other in _reached_subnets(session, router, {s.id for s in new}):
        theirs = ipam.network_of(other)
        for subnet in new:
            mine = ipam.network_of(subnet)
            if theirs.version == mine.version and theirs.overlaps(mine):
                raise NeutronBadRequest("router", f"Cidr {subnet.cidr} of subnet "
                                        f"{subnet.id} overlaps with cidr {other.cidr} of "
                                        f"subnet {other.id}")


def add_interface(session: Session, ctx: RequestContext, router_id: str, body: Any
                  ) -> dict[str, Any]:
    """Attach a subnet (its gateway address on a new port, or on the router's IPv6 port of
    that network) or an unbound port. Raises RouterNotFound, SubnetNotFound, PortNotFound,
    PortInUse, NeutronBadRequest, IpAddressAlreadyAllocated (the gateway address is
    taken), OverQuota."""
    router = routers.get(session, ctx, router_id)
    subnet_id, port_id = _interface_ids(body, "add")
    if subnet_id is not None:
        port, added, new_port = _port_on_gateway(session, ctx, router, subnet_id)
    else:
        port, added = _adopt_port(session, ctx, router, str(port_id))
        new_port = True
    if new_port:
        session.add(RouterPort(port_id=port.id, router_id=router.id,
                               port_type=routers.INTERFACE_OWNER))
    touch(router)
    session.flush()
    ids = [s.id for s in added]
    return interface_info(router, port, ids, ids[-1])


def _port_on_gateway(session: Session, ctx: RequestContext, router: Router, subnet_id: str
                     ) -> tuple[Port, list[Subnet], bool]:
    """(port, [subnet], whether the port is new)."""
    subnet = subnets.get(session, ctx, subnet_id)
    if subnet.gateway_ip is None:
        raise NeutronBadRequest("router", "Subnet for router interface must have a gateway IP")
    if subnet.project_id != ctx.project_id and not ctx.is_admin:
        # A shared network's subnet is visible, not the project's to route (as Neutron).
        raise NeutronBadRequest("router", f"Cannot add an interface on subnet {subnet.id}: "
                                "it is not owned by the requesting project")
    _check_attachable(session, router, [subnet])
    if subnet.ip_version == 6:
        existing = _ipv6_interface(session, router, subnet.network_id)
        if existing is not None:
            # One IPv6 port per network: another prefix is one more address on it.
            ipam.allocate(session, existing, subnet, subnet.gateway_ip)
            touch(existing)
            return existing, [subnet], False
    net = session.get(Network, subnet.network_id)
    assert net is not None
    quotas.check(session, router.project_id, "port")
    port = routers.network_port(session, net, router.project_id, str(router.id),
                                routers.INTERFACE_OWNER)
    port.status = routers.ROUTER_PORT_STATUS
    ipam.allocate(session, port, subnet, subnet.gateway_ip)
    return port, [subnet], True


def _ipv6_interface(session: Session, router: Router, net_id: uuid.UUID,
                    exclude: uuid.UUID | None = None) -> Port | None:
    """The router's interface port on the network holding an IPv6 address, if any."""
    for port in routers.interface_ports(session, router.id):
        if port.network_id == net_id and port.id != exclude and any(
                s.ip_version == 6 for s in _port_subnets(session, port.id)):
            return port
    return None


def _port_subnets(session: Session, port_id: uuid.UUID) -> list[Subnet]:
    return list(session.scalars(
        sa.select(Subnet).join(IpAllocation, IpAllocation.subnet_id == Subnet.id)
        .where(IpAllocation.port_id == port_id).order_by(IpAllocation.id)))


def _adopt_port(session: Session, ctx: RequestContext, router: Router, port_id: str
                ) -> tuple[Port, list[Subnet]]:
    port = ports.get(session, ctx, port_id)
    if port.project_id != router.project_id:
        raise PortNotFound(port_id)
    if port.device_id:
        raise ports.PortInUse(str(port.id), port.device_id)
    held = _port_subnets(session, port.id)
    if not held:
        raise NeutronBadRequest("router", "Router port must have at least one fixed IP")
    if any(s.ip_version == 6 for s in held):
        other = _ipv6_interface(session, router, port.network_id, exclude=port.id)
        if other is not None:
            raise NeutronBadRequest("router", f"Router already has IPv6 port {other.id} on "
                                    f"network {port.network_id}: one IPv6 port per network "
                                    "may join a router")
    _check_attachable(session, router, held)
    if sum(1 for s in held if s.ip_version == 4) > 1:
        raise NeutronBadRequest("router", "Cannot have multiple IPv4 subnets on router port")
    port.device_id, port.device_owner = str(router.id), routers.INTERFACE_OWNER
    port.status = routers.ROUTER_PORT_STATUS
    touch(port)
    return port, held


def interface_info(router: Router, port: Port, subnet_ids: Sequence[uuid.UUID],
                   subnet_id: uuid.UUID) -> dict[str, Any]:
    """The body of an add or remove answer (``subnet_id``: the one it names)."""
    return {"id": str(router.id), "subnet_id": str(subnet_id),
            "subnet_ids": [str(s) for s in subnet_ids], "port_id": str(port.id),
            "network_id": str(port.network_id), "project_id": port.project_id,
            "tenant_id": port.project_id}


def remove_interface(session: Session, ctx: RequestContext, router_id: str, body: Any
                     ) -> dict[str, Any]:
    """Detach an interface: by port (the port goes) or by subnet (its address goes, and
    the port with it unless it holds other subnets' addresses). Raises RouterNotFound,
    SubnetNotFound, RouterInterfaceNotFound, SubnetMismatchForPort,
    RouterInterfaceNotFoundForSubnet, RouterInterfaceInUseByFloatingIP."""
    router = routers.get(session, ctx, router_id)
    subnet_id, port_id = _interface_ids(body, "remove")
    if port_id is not None:
        info = _remove_by_port(session, router, port_id, subnet_id)
    else:
        info = _remove_by_subnet(session, ctx, router, str(subnet_id))
    touch(router)
    session.flush()
    return info


def _remove_by_port(session: Session, router: Router, port_id: str, subnet_id: str | None
                    ) -> dict[str, Any]:
    port = next((p for p in routers.interface_ports(session, router.id) if str(p.id) == port_id),
                None)
    if port is None:
        raise RouterInterfaceNotFound(str(router.id), port_id)
    held = _port_subnets(session, port.id)
    if subnet_id is not None and subnet_id not in {str(s.id) for s in held}:
        raise SubnetMismatchForPort(str(port.id), subnet_id)
    for subnet in held:
        _check_unused_by_floating_ips(session, router, subnet)
    ids = [s.id for s in held]
    info = interface_info(router, port, ids, ids[0])
    routers.drop_port(session, port.id)
    return info


def _remove_by_subnet(session: Session, ctx: RequestContext, router: Router,
                      subnet_id: str) -> dict[str, Any]:
    subnet = subnets.get(session, ctx, subnet_id)
    on_network = [p for p in routers.interface_ports(session, router.id)
                  if p.network_id == subnet.network_id]
    if on_network:
        _check_unused_by_floating_ips(session, router, subnet)
    for port in on_network:
        held = [a.subnet_id for a in routers.allocations(session, port.id)]
        if subnet.id not in held:
            continue
        info = interface_info(router, port, [subnet.id], subnet.id)
        if len(held) > 1:
            ipam.release(session, port, subnet.id)
            touch(port)
        else:
            routers.drop_port(session, port.id)
        return info
    raise RouterInterfaceNotFoundForSubnet(str(router.id), str(subnet.id))


def _check_unused_by_floating_ips(session: Session, router: Router, subnet: Subnet) -> None:
    cidr = ipam.network_of(subnet)
    for fip in routers.floating_ips_through(session, router.id):
        if fip.fixed_ip_address and ipaddress.ip_address(fip.fixed_ip_address) in cidr:
            raise RouterInterfaceInUseByFloatingIP(str(router.id), str(subnet.id))
