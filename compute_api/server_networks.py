"""A server's interfaces: which networks and ports a create asks for, and its ports.

The ports are made (or taken over, for ports handed in) in the transaction that inserts
the servers, so a refused request leaves no port behind and a server never exists
without the addresses it shows. They go when the server is deleted
(``common.compute_db.network_queries.release_server_ports``).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import Instance
from common.compute_db.network_models import (
    Network,
    SecurityGroup,
)
from common.context import RequestContext
from common.errors import BadRequest, Conflict, ControlPlaneError, NotFound, QuotaExceeded
from compute_api.network import (
    attributes,
    networks,
    ports,
    security_groups,
    server_addresses,
    subnets,
)

# The network ``auto`` makes for a project that has none, as Neutron's auto-allocated
# topology names it; each project's is its own (overlapping addresses are fine).
AUTO_NETWORK = "auto_allocated_network"
AUTO_CIDR = "10.0.0.0/24"


@dataclass(frozen=True)
class Interface:
    """One interface a create asks for: a network (and maybe an address), or a port."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None


def requested(session: Session, ctx: RequestContext, networks_field: Any,
              max_count: int) -> list[Interface] | None:
    """The interfaces of each server; None: ``auto`` with no network to use yet.

    Raises BadRequest for unknown networks or ports, a port with several servers or
    an invalid address; Conflict when ``auto`` finds several networks.
    """
    if networks_field == "none":
        return []
    if networks_field is None or networks_field == "auto":
        found = _usable(session, ctx)
        if len(found) > 1:
            raise Conflict("Multiple possible networks found, use a Network ID to be more "
                           "specific.")
        if found:
            return [Interface(network_id=str(found[0].id))]
        return None if networks_field == "auto" else []
    wanted = [_interface(session, ctx, item) for item in networks_field]
    if max_count > 1 and any(i.port_id for i in wanted):
        raise BadRequest("Unable to launch multiple instances with a single configured "
                         "port ID. Please launch your instance one by one with different "
                         "ports.")
    taken = [i.port_id for i in wanted if i.port_id]
    if len(taken) != len(set(taken)):
        raise BadRequest("Port ID(s) given more than once.")
    return wanted


def _item(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _interface(session: Session, ctx: RequestContext, item: Any) -> Interface:
    port_id, net_id, fixed = _item(item, "port"), _item(item, "uuid"), _item(item, "fixed_ip")
    if port_id:
        try:
            port = ports.get(session, ctx, port_id)
        except NotFound:
            raise BadRequest(f"Port id {port_id} could not be found.") from None
        if port.device_id:
            raise Conflict(f"Port {port_id} is still in use.")
        return Interface(port_id=str(port.id))
    if not net_id:
        raise BadRequest("Bad networks format: network uuid is not in proper format "
                         f"({net_id})")
    try:
        net = networks.get(session, ctx, net_id)
    except NotFound:
        raise BadRequest(f"Network {net_id} could not be found.") from None
    if fixed is not None:
        try:
            ipaddress.ip_address(fixed)
        except ValueError:
            raise BadRequest(f"Invalid fixed IP address ({fixed})") from None
    return Interface(network_id=str(net.id), fixed_ip=fixed)


def _usable(session: Session, ctx: RequestContext) -> Sequence[Network]:
    """Networks a project's server lands on when it names none: its own and shared ones,
    never external ones."""
    return session.scalars(
        sa.select(Network).where(
            sa.or_(Network.project_id == ctx.project_id, Network.shared.is_(True)),
            Network.external.is_(False))
        .order_by(Network.created_at, Network.id)).all()


def auto_network(session: Session, ctx: RequestContext) -> Interface:
    """The project's auto-allocated network with a subnet, made on first use."""
    existing = session.scalars(sa.select(Network).where(
        Network.project_id == ctx.project_id, Network.name == AUTO_NETWORK)).first()
    if existing is None:
        existing = networks.create(session, ctx, attributes.for_create(
            attributes.NETWORK, {"name": AUTO_NETWORK}, ctx))
        subnets.create(session, ctx, attributes.for_create(attributes.SUBNET, {
            "name": AUTO_NETWORK, "network_id": str(existing.id), "ip_version": 4,
            "cidr": AUTO_CIDR}, ctx))
    return Interface(network_id=str(existing.id))


def group_ids(session: Session, ctx: RequestContext,
              wanted: list[dict[str, str]] | None) -> list[str] | None:
    """Ids of the security groups named (by name or id) in a create; None: the default.

    Raises BadRequest naming an unknown group."""
    if not wanted:
        return None
    found: list[str] = []
    for item in wanted:
        name = str(item.get("name", ""))
        group: SecurityGroup | None
        try:
            group = security_groups.get(session, ctx, name)
        except NotFound:
            security_groups.ensure_default(session, ctx.project_id or "")
            group = next((g for g in security_groups.list_visible(session, ctx)
                          if g.name == name and g.project_id == ctx.project_id), None)
        if group is None:
            raise BadRequest(f"Security group {name} not found.")
        if str(group.id) not in found:
            found.append(str(group.id))
    return found


def attach(session: Session, ctx: RequestContext, instances: Sequence[Instance],
           wanted: list[Interface], groups: list[str] | None) -> None:
    """Make (or take over) each server's ports and record its addresses.

    Raises BadRequest (address in use, no address left), QuotaExceeded (ports).
    """
    for inst in instances:
        made = []
        for iface in wanted:
            try:
                made.append(ports.create_for_server(
                    session, ctx, inst.uuid, network_id=iface.network_id,
                    port_id=iface.port_id, fixed_ip=iface.fixed_ip,
                    security_groups=None if iface.port_id else groups))
            except QuotaExceeded:
                raise QuotaExceeded("Maximum number of ports exceeded") from None
            except (Conflict, BadRequest) as exc:
                raise BadRequest(_message(exc)) from None
        inst.addresses = server_addresses.addresses_of(session, made)


def _message(exc: ControlPlaneError) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def refresh_addresses(session: Session, instance_uuid: uuid.UUID) -> None:
    """Write the server's ``addresses`` from the ports it holds now."""
    server_addresses.refresh(session, [str(instance_uuid)])
