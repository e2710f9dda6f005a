"""Floating IPs: an external address, associated with a port's fixed address through a
router; and the interface the compute API uses for servers.

A floating IP holds its address through a port of its own (``network:floatingip``,
owned by no project), so the external network's addresses are allocated by ``ipam`` as
any port's, race-free. ``associate_for_server``, ``disassociate_for_server`` and
``for_ports`` are what the rest of the API process calls.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.compute_db.network_models import FloatingIP, Network, Port
from common.context import RequestContext
from common.errors import Conflict
from compute_api.network import ipam, networks, ports, quotas, routers, server_addresses, subnets
from compute_api.network import validators as v
from compute_api.network.attributes import REQUIRED, Attr, Resource, _common
from compute_api.network.common import fetch, owns, sees_all, standard, touch
from compute_api.network.faults import (
    ExternalGatewayForFloatingIPNotFound,
    FloatingIPNotFound,
    FloatingIPPortAlreadyAssociated,
    L3PortInUse,
    NeutronBadRequest,
    PortNotFound,
)

FLOATINGIP = Resource("floatingip", "floatingips", {
    **{k: a for k, a in _common().items() if k != "name"},
    "floating_network_id": Attr(put=False, check=v.uuid_str, default=REQUIRED),
    "floating_ip_address": Attr(put=False, check=v.nullable(v.ip_address), default=None,
                                admin_rule="floating_ip_address"),
    "subnet_id": Attr(put=False, check=v.nullable(v.uuid_str), default=None),
    "port_id": Attr(check=v.nullable(v.uuid_str), default=None),
    "fixed_ip_address": Attr(check=v.nullable(v.ip_address), default=None),
    "router_id": Attr(post=False, put=False),
    "status": Attr(post=False, put=False),
    "port_details": Attr(post=False, put=False),
})


class FloatingIPNotAssociatedWithServer(Conflict):
    neutron_type = "FloatingIPNotAssociated"

    def __init__(self, address: str, instance_id: uuid.UUID) -> None:
        super().__init__(f"Floating IP {address} is not associated with instance "
                         f"{instance_id}.")


def visible(ctx: RequestContext, fip: FloatingIP) -> bool:
    return owns(ctx, fip.project_id)


def get(session: Session, ctx: RequestContext, fip_id: Any) -> FloatingIP:
    """The caller's floating IP (any, for admins). Raises FloatingIPNotFound."""
    return fetch(session, FloatingIP, fip_id, lambda f: visible(ctx, f), FloatingIPNotFound)


def list_visible(session: Session, ctx: RequestContext) -> Sequence[FloatingIP]:
    stmt = sa.select(FloatingIP).order_by(FloatingIP.created_at, FloatingIP.id)
    if not sees_all(ctx):
        stmt = stmt.where(FloatingIP.project_id == ctx.project_id)
    return session.scalars(stmt).all()


def create(session: Session, ctx: RequestContext, attrs: dict[str, Any]) -> FloatingIP:
    """Allocate a floating IP (and associate it). Raises NetworkNotFound,
    NeutronBadRequest (not external), OverQuota, IpAddressGenerationFailure,
    IpAddressAlreadyAllocated and what an association raises."""
    net = networks.get(session, ctx, attrs["floating_network_id"])
    if not net.external:
        raise NeutronBadRequest("floatingip", f"Network {net.id} is not a valid external "
                                "network")
    quotas.check(session, attrs["project_id"], "floatingip")
    fip_id = uuid.uuid4()
    port = routers.network_port(session, net, "", str(fip_id), routers.FLOATINGIP_OWNER)
    address = _allocate(session, port, net, attrs.get("subnet_id"),
                        attrs.get("floating_ip_address"))
    fip = FloatingIP(id=fip_id, project_id=attrs["project_id"], floating_network_id=net.id,
                     floating_port_id=port.id, floating_ip_address=address,
                     description=attrs["description"], tags=[])
    session.add(fip)
    session.flush()
    if attrs.get("port_id"):
        _associate(session, ctx, fip, attrs["port_id"], attrs.get("fixed_ip_address"))
    return fip


def _allocate(session: Session, port: Port, net: Network, subnet_id: str | None,
              address: str | None) -> str:
    if subnet_id is None and address is None:
        return routers.allocate_external(session, port, net, "floatingip")
    for subnet in subnets.on_network(session, net.id):
        if subnet.ip_version != 4:
            continue
        if str(subnet.id) == subnet_id or (
                subnet_id is None and address is not None
                and ipaddress.ip_address(address) in ipam.network_of(subnet)):
            return ipam.allocate(session, port, subnet, address)
    raise NeutronBadRequest("floatingip", f"No IPv4 subnet of network {net.id} matches "
                            f"{subnet_id or address}")


def update(session: Session, ctx: RequestContext, fip_id: str, attrs: dict[str, Any]
           ) -> FloatingIP:
    """Associate (``port_id``), disassociate (``port_id`` None) or describe."""
    fip = get(session, ctx, fip_id)
    before = fip.fixed_port_id
    if "description" in attrs:
        fip.description = attrs["description"]
    if "port_id" in attrs:
        if attrs["port_id"] is None:
            _disassociate(fip)
        else:
            _associate(session, ctx, fip, attrs["port_id"], attrs.get("fixed_ip_address"))
    elif attrs.get("fixed_ip_address") and fip.fixed_port_id is not None:
        _associate(session, ctx, fip, str(fip.fixed_port_id), attrs["fixed_ip_address"])
    touch(fip)
    session.flush()
    _refresh_servers(session, before, fip.fixed_port_id)
    return fip


def _refresh_servers(session: Session, *port_ids: uuid.UUID | None) -> None:
    """Rewrite the addresses of the servers holding these ports."""
    held = [session.get(Port, p) for p in port_ids if p is not None]
    server_addresses.refresh(session, server_addresses.server_devices(held))


def delete(session: Session, ctx: RequestContext, fip_id: str) -> None:
    """Release a floating IP and its address. Raises FloatingIPNotFound."""
    fip = get(session, ctx, fip_id)
    port_id, fixed_port = fip.floating_port_id, fip.fixed_port_id
    session.delete(fip)
    session.flush()
    routers.drop_port(session, port_id)
    _refresh_servers(session, fixed_port)


def delete_port(session: Session, ctx: RequestContext, port_id: str) -> None:
    """DELETE /ports/{id}: a router's or floating IP's port is refused (L3PortInUse); a
    port's floating IPs are disassociated, then the port goes. Raises PortNotFound."""
    port = ports.get(session, ctx, port_id)
    if port.device_owner in routers.L3_OWNED:
        raise L3PortInUse(str(port.id), port.device_owner)
    for fip in session.scalars(sa.select(FloatingIP).where(FloatingIP.fixed_port_id == port.id)):
        _disassociate(fip)
    session.flush()
    ports.delete(session, ctx, port_id)


def _disassociate(fip: FloatingIP) -> None:
    fip.fixed_port_id = fip.fixed_ip_address = fip.router_id = None


def _fixed_address(port: Port, addresses: list[tuple[str, str]], fixed: str | None
                   ) -> tuple[str, str]:
    """The (subnet id, address) of the port to associate with."""
    if fixed is not None:
        for subnet_id, address in addresses:
            if address == fixed:
                if ipaddress.ip_address(address).version != 4:
                    break
                return subnet_id, address
        raise NeutronBadRequest("floatingip", f"Port {port.id} does not have fixed IPv4 "
                                f"address {fixed}")
    v4 = [(s, a) for s, a in addresses if ipaddress.ip_address(a).version == 4]
    if not v4:
        raise NeutronBadRequest("floatingip", f"Port {port.id} does not have any fixed IPv4 "
                                "address")
    if len(v4) > 1:
        raise NeutronBadRequest("floatingip", f"Port {port.id} has multiple fixed IPv4 "
                                "addresses. Must provide a specific IPv4 address when "
                                "assigning a floating IP")
    return v4[0]


def _associate(session: Session, ctx: RequestContext, fip: FloatingIP, port_id: str,
               fixed: str | None) -> None:
    """Raises PortNotFound, NeutronBadRequest, ExternalGatewayForFloatingIPNotFound,
    FloatingIPPortAlreadyAssociated."""
    port = ports.get(session, ctx, port_id)
    if port.project_id != fip.project_id and not ctx.is_admin:
        raise PortNotFound(port_id)
    if port.device_owner.startswith("network:"):
        raise NeutronBadRequest("floatingip", f"Port {port.id} is owned by "
                                f"{port.device_owner} and cannot have a floating IP")
    subnet_id, address = _fixed_address(port, ports.addresses(session, port.id), fixed)
    router_id = routers.router_between(session, uuid.UUID(subnet_id), fip.floating_network_id)
    if router_id is None:
        raise ExternalGatewayForFloatingIPNotFound(str(fip.floating_network_id), subnet_id,
                                                   str(port.id))
    taken = session.scalar(sa.select(FloatingIP).where(
        FloatingIP.fixed_port_id == port.id, FloatingIP.fixed_ip_address == address,
        FloatingIP.id != fip.id))
    if taken is not None:
        raise _already(taken, port, address)
    try:
        with session.begin_nested():
            fip.fixed_port_id, fip.fixed_ip_address, fip.router_id = port.id, address, router_id
            session.flush()
    except IntegrityError:
        # A concurrent association of the same fixed address won.
        raise _already(fip, port, address) from None


def _already(fip: FloatingIP, port: Port, address: str) -> FloatingIPPortAlreadyAssociated:
    return FloatingIPPortAlreadyAssociated(fip.floating_ip_address, str(fip.id), str(port.id),
                                           address, str(fip.floating_network_id))


# --- the interface for servers -----------------------------------------------------------


def _by_address(session: Session, ctx: RequestContext, address: str) -> FloatingIP:
    stmt = sa.select(FloatingIP).where(FloatingIP.floating_ip_address == address)
    if not sees_all(ctx):
        stmt = stmt.where(FloatingIP.project_id == ctx.project_id)
    fip = session.scalars(stmt.order_by(FloatingIP.created_at)).first()
    if fip is None:
        raise FloatingIPNotFound(address)
    return fip


def associate_for_server(session: Session, ctx: RequestContext, address: str,
                         instance_id: uuid.UUID, fixed_address: str | None) -> FloatingIP:
    """Associate the caller's floating IP ``address`` with the server's port holding
    ``fixed_address``, or its first IPv4 address reachable through a router. Raises
    FloatingIPNotFound, NeutronBadRequest, ExternalGatewayForFloatingIPNotFound,
    FloatingIPPortAlreadyAssociated."""
    fip = _by_address(session, ctx, address)
    candidates: list[tuple[Port, str, str]] = []
    for port in ports.list_for_server(session, instance_id):
        for subnet_id, ip in ports.addresses(session, port.id):
            if fixed_address is not None and ip == fixed_address:
                _associate(session, ctx, fip, str(port.id), ip)
                _refresh_servers(session, port.id)
                return fip
            if fixed_address is None and ipaddress.ip_address(ip).version == 4:
                candidates.append((port, subnet_id, ip))
    if fixed_address is not None:
        raise NeutronBadRequest("floatingip", f"Server {instance_id} has no fixed address "
                                f"{fixed_address}")
    if not candidates:
        raise NeutronBadRequest("floatingip", f"Server {instance_id} has no fixed IPv4 "
                                "address")
    for port, subnet_id, ip in candidates:
        if routers.router_between(session, uuid.UUID(subnet_id),
                                  fip.floating_network_id) is not None:
            _associate(session, ctx, fip, str(port.id), ip)
            _refresh_servers(session, port.id)
            return fip
    port, subnet_id, _ = candidates[0]
    raise ExternalGatewayForFloatingIPNotFound(str(fip.floating_network_id), subnet_id,
                                               str(port.id))


def disassociate_for_server(session: Session, ctx: RequestContext, address: str,
                            instance_id: uuid.UUID) -> FloatingIP:
    """Disassociate the caller's floating IP ``address`` from the server. Raises
    FloatingIPNotFound, FloatingIPNotAssociatedWithServer (409)."""
    fip = _by_address(session, ctx, address)
    port = session.get(Port, fip.fixed_port_id) if fip.fixed_port_id is not None else None
    if port is None or port.device_id != str(instance_id):
        raise FloatingIPNotAssociatedWithServer(address, instance_id)
    _disassociate(fip)
    touch(fip)
    session.flush()
    _refresh_servers(session, port.id)
    return fip


def for_ports(session: Session, port_ids: Sequence[uuid.UUID | str]
              ) -> dict[str, list[tuple[str, str]]]:
    """Per port id: (fixed address, floating address) of its floating IPs."""
    ids = [uuid.UUID(str(p)) for p in port_ids]
    out: dict[str, list[tuple[str, str]]] = {}
    if not ids:
        return out
    rows = session.execute(sa.select(FloatingIP.fixed_port_id, FloatingIP.fixed_ip_address,
                                     FloatingIP.floating_ip_address)
                           .where(FloatingIP.fixed_port_id.in_(ids))
                           .order_by(FloatingIP.created_at, FloatingIP.id))
    for port_id, fixed, floating in rows:
        out.setdefault(str(port_id), []).append((str(fixed), floating))
    return out


# --- views ---------------------------------------------------------------------------


def views(session: Session, ctx: RequestContext, fips: Sequence[FloatingIP]
          ) -> list[dict[str, Any]]:
    fixed_ids = [f.fixed_port_id for f in fips if f.fixed_port_id is not None]
    fixed = {p.id: p for p in session.scalars(sa.select(Port).where(Port.id.in_(fixed_ids)))
             } if fixed_ids else {}
    return [_view(f, None if f.fixed_port_id is None else fixed.get(f.fixed_port_id))
            for f in fips]


def _view(fip: FloatingIP, port: Port | None) -> dict[str, Any]:
    details = None if port is None else {
        "name": port.name, "network_id": str(port.network_id),
        "mac_address": port.mac_address, "admin_state_up": port.admin_state_up,
        "status": port.status, "device_id": port.device_id,
        "device_owner": port.device_owner}
    return {**standard(fip), "description": fip.description,
            "floating_network_id": str(fip.floating_network_id),
            "floating_ip_address": fip.floating_ip_address,
            "port_id": None if port is None else str(port.id),
            "fixed_ip_address": None if port is None else fip.fixed_ip_address,
            "router_id": None if port is None or fip.router_id is None else str(fip.router_id),
            "status": "DOWN" if port is None else "ACTIVE", "port_details": details}
