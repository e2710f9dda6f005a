"""Ports: addresses, MAC, security groups, bindings; and the interface servers use.

``create_for_server``, ``release_for_server`` and ``list_for_server`` are what the rest
of the API process calls for a server's ports (the conductor binds them:
``common.compute_db.network_queries``).
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.compute_db.network_models import IpAllocation, Network, Port, PortSecurityGroup
from common.compute_db.network_queries import release_server_ports
from common.context import RequestContext
from common.errors import Conflict
from common.policy import PolicyForbidden
from compute_api.network import ipam, networks, quotas, security_groups, server_addresses, subnets
from compute_api.network.common import as_uuid, fetch, owns, sees_all, touch
from compute_api.network.faults import InvalidInput, MacAddressInUse, PortNotFound
from compute_api.network.port_views import views as views

MAC_PREFIX = "fa:16:3e"
_MAC_TRIES = 16
SERVER_OWNER = "compute:nova"
# What a bound port reports (no agent plugs it yet: the host's data plane does later).
BOUND_VIF = ("ovs", {"port_filter": True, "connectivity": "l2"})


class PortInUse(Conflict):
    neutron_type = "PortInUse"

    def __init__(self, port_id: str, device_id: str) -> None:
        super().__init__(f"Unable to complete operation on port {port_id}. The port is "
                         f"already used by device {device_id}.")


class AddressPairAndPortSecurityRequired(Conflict):
    neutron_type = "AddressPairAndPortSecurityRequired"

    def __init__(self) -> None:
        super().__init__("Port Security must be enabled in order to have allowed address "
                         "pairs on a port.")


def visible(ctx: RequestContext, port: Port) -> bool:
    return owns(ctx, port.project_id)


def get(session: Session, ctx: RequestContext, port_id: Any) -> Port:
    """The caller's port (any, for admins). Raises PortNotFound."""
    return fetch(session, Port, port_id, lambda p: visible(ctx, p), PortNotFound)


def list_visible(session: Session, ctx: RequestContext) -> Sequence[Port]:
    stmt = sa.select(Port).order_by(Port.created_at, Port.id)
    if not sees_all(ctx):
        stmt = stmt.where(Port.project_id == ctx.project_id)
    return session.scalars(stmt).all()


def random_mac() -> str:
    return MAC_PREFIX + "".join(f":{random.randint(0, 255):02x}" for _ in range(3))


def _insert(session: Session, fields: dict[str, Any], mac: str | None) -> Port:
    """Insert the port with ``mac``, or a generated MAC unique on its network."""
    for _ in range(_MAC_TRIES):
        port = Port(**fields, mac_address=mac or random_mac())
        try:
            with session.begin_nested():
                session.add(port)
                session.flush()
            return port
        except IntegrityError:
            if mac is not None:
                raise MacAddressInUse(mac, str(fields["network_id"])) from None
    raise MacAddressInUse("(generated)", str(fields["network_id"]))


def _subnet_for(session: Session, net: Network, spec: dict[str, Any]) -> Any:
    on_net = subnets.on_network(session, net.id)
    if "subnet_id" in spec:
        for subnet in on_net:
            if str(subnet.id) == spec["subnet_id"]:
                return subnet
        raise InvalidInput(f"Failed to create port on network {net.id}, because fixed_ips "
                           f"included invalid subnet {spec['subnet_id']}")
    for subnet in on_net:
        if ipaddress.ip_address(spec["ip_address"]) in ipam.network_of(subnet):
            return subnet
    raise InvalidInput(f"IP address {spec['ip_address']} is not a valid IP for any of the "
                       "subnets on the specified network.")


def _allocate(session: Session, port: Port, net: Network,
              fixed_ips: list[dict[str, Any]] | None) -> None:
    if fixed_ips is not None:
        for spec in fixed_ips:
            ipam.allocate(session, port, _subnet_for(session, net, spec), spec.get("ip_address"))
        return
    on_net = subnets.on_network(session, net.id)
    v4 = [s for s in on_net if s.ip_version == 4]
    if v4:
        ipam.allocate(session, port, v4[0])
    stateful_done = False
    for subnet in (s for s in on_net if s.ip_version == 6):
        if subnet.ipv6_address_mode in ipam.SLAAC_MODES:
            ipam.allocate(session, port, subnet)
        elif not stateful_done:
            ipam.allocate(session, port, subnet)
            stateful_done = True


def _set_groups(session: Session, port: Port, groups: list[Any]) -> None:
    session.execute(sa.delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id))
    for group in groups:
        session.add(PortSecurityGroup(port_id=port.id, security_group_id=group.id))
    session.flush()


def _security(session: Session, ctx: RequestContext, project_id: str, enabled: bool,
              attrs: dict[str, Any], device_owner: str) -> list[Any]:
    asked = attrs.get("security_groups")
    if not enabled:
        if asked:
            raise InvalidInput("Port security must be enabled and port must have an IP "
                               "address in order to use security groups.")
        if attrs.get("allowed_address_pairs"):
            raise AddressPairAndPortSecurityRequired()
        return []
    if asked is None and device_owner.startswith("network:"):
        return []
    return security_groups.for_port(session, ctx, project_id, asked)


def create(session: Session, ctx: RequestContext, attrs: dict[str, Any]) -> Port:
    """Create a port. Raises NetworkNotFound, InvalidInput, MacAddressInUse,
    IpAddressAlreadyAllocated, IpAddressGenerationFailure, SecurityGroupNotFound,
    OverQuota."""
    net = networks.get(session, ctx, attrs["network_id"])
    if not owns(ctx, net.project_id) and not net.shared:
        raise PolicyForbidden("create_port")
    project_id = attrs["project_id"]
    quotas.check(session, project_id, "port")
    enabled = attrs.get("port_security_enabled")
    enabled = net.port_security_enabled if enabled is None else enabled
    groups = _security(session, ctx, project_id, enabled, attrs, attrs["device_owner"])
    host = attrs.get("binding:host_id") or ""
    vif_type, details = BOUND_VIF if host else ("unbound", {})
    port = _insert(session, {
        "project_id": project_id, "network_id": net.id, "name": attrs["name"],
        "description": attrs["description"], "admin_state_up": attrs["admin_state_up"],
        "device_id": attrs["device_id"], "device_owner": attrs["device_owner"],
        "port_security_enabled": enabled,
        "allowed_address_pairs": attrs.get("allowed_address_pairs") or [],
        "binding_host_id": host, "binding_vif_type": vif_type, "binding_vif_details": details,
        "binding_vnic_type": attrs.get("binding:vnic_type") or "normal",
        "binding_profile": attrs.get("binding:profile") or {}, "tags": [],
        "delete_with_device": bool(attrs.get("delete_with_device")),
    }, attrs.get("mac_address"))
    _allocate(session, port, net, attrs.get("fixed_ips"))
    _set_groups(session, port, groups)
    return port


def update(session: Session, ctx: RequestContext, port_id: str, attrs: dict[str, Any]
           ) -> Port:
    """Change a port. Raises as ``create`` does, and PortNotFound."""
    port = get(session, ctx, port_id)
    net = session.get(Network, port.network_id)
    assert net is not None
    if "mac_address" in attrs and attrs["mac_address"] != port.mac_address:
        if port.binding_host_id:
            raise Conflict(f"Port {port.id} is bound: its MAC address cannot change")
        port.mac_address = attrs["mac_address"]
    for key in ("name", "description", "admin_state_up", "device_id", "device_owner"):
        if key in attrs:
            setattr(port, key, attrs[key])
    if "allowed_address_pairs" in attrs:
        port.allowed_address_pairs = attrs["allowed_address_pairs"]
    if attrs.get("port_security_enabled") is not None:
        port.port_security_enabled = attrs["port_security_enabled"]
    _update_binding(port, attrs)
    if "fixed_ips" in attrs:
        ipam.release(session, port)
        session.flush()
        _allocate(session, port, net, attrs["fixed_ips"])
        server_addresses.refresh(session, server_addresses.server_devices([port]))
    if "security_groups" in attrs or "port_security_enabled" in attrs:
        wanted = {**attrs, "allowed_address_pairs": port.allowed_address_pairs}
        if "security_groups" not in attrs:
            wanted["security_groups"] = [str(g) for g in group_ids(session, port)]
        _set_groups(session, port, _security(session, ctx, port.project_id,
                                             port.port_security_enabled, wanted,
                                             port.device_owner))
    elif attrs.get("allowed_address_pairs") and not port.port_security_enabled:
        raise AddressPairAndPortSecurityRequired()
    touch(port)
    session.flush()
    return port


def _update_binding(port: Port, attrs: dict[str, Any]) -> None:
    if "binding:host_id" in attrs:
        port.binding_host_id = attrs["binding:host_id"]
        port.binding_vif_type, port.binding_vif_details = (
            BOUND_VIF if port.binding_host_id else ("unbound", {}))
    if "binding:vnic_type" in attrs:
        port.binding_vnic_type = attrs["binding:vnic_type"]
    if "binding:profile" in attrs:
        port.binding_profile = attrs["binding:profile"]


def group_ids(session: Session, port: Port) -> list[uuid.UUID]:
    return list(session.scalars(sa.select(PortSecurityGroup.security_group_id)
                                .where(PortSecurityGroup.port_id == port.id)))


def delete(session: Session, ctx: RequestContext, port_id: str) -> None:
    """Delete a port, freeing its addresses. Raises PortNotFound."""
    port = get(session, ctx, port_id)
    devices = server_addresses.server_devices([port])
    _remove(session, port)
    server_addresses.refresh(session, devices)


def _remove(session: Session, port: Port) -> None:
    ipam.release(session, port)
    session.execute(sa.delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id))
    session.delete(port)
    session.flush()


# --- the interface for servers -----------------------------------------------------------


def create_for_server(session: Session, ctx: RequestContext, instance_id: uuid.UUID, *,
                      network_id: str | None = None, port_id: str | None = None,
                      fixed_ip: str | None = None,
                      security_groups: list[str] | None = None) -> Port:
    """The port a server's interface uses: the caller's ``port_id`` (attached, kept when
    the server goes), or a new port on ``network_id`` (deleted with the server). Raises
    PortNotFound, PortInUse, NetworkNotFound and what ``create`` raises."""
    if port_id is not None:
        port = get(session, ctx, port_id)
        if port.device_id and port.device_id != str(instance_id):
            raise PortInUse(str(port.id), port.device_id)
        port.device_id, port.device_owner = str(instance_id), SERVER_OWNER
        touch(port)
        session.flush()
        return port
    if network_id is None:
        raise InvalidInput("a network or a port is required")
    attrs: dict[str, Any] = {
        "network_id": network_id, "project_id": ctx.project_id, "name": "",
        "description": "", "admin_state_up": True, "device_id": str(instance_id),
        "device_owner": SERVER_OWNER, "delete_with_device": True,
        "fixed_ips": [{"ip_address": fixed_ip}] if fixed_ip else None,
        "security_groups": security_groups}
    return create(session, ctx, attrs)


def list_for_server(session: Session, instance_id: uuid.UUID) -> list[Port]:
    return list(session.scalars(sa.select(Port).where(Port.device_id == str(instance_id))
                                .order_by(Port.created_at, Port.id)))


def release_for_server(session: Session, instance_id: uuid.UUID) -> None:
    """Delete the ports made for the server; detach and unbind the ones handed in."""
    session.flush()
    release_server_ports(session, instance_id)
    session.expire_all()


def addresses(session: Session, port_id: uuid.UUID) -> list[tuple[str, str]]:
    """(subnet id, address) of each of the port's addresses."""
    rows = session.execute(sa.select(IpAllocation.subnet_id, IpAllocation.ip_address)
                           .where(IpAllocation.port_id == as_uuid(port_id))
                           .order_by(IpAllocation.id))
    return [(str(s), ip) for s, ip in rows]
