"""Statements on the network tables that outlive a request of the network API: a server's
ports as the conductor keeps them (bound where the server is, released with it) and the
``addresses`` they make."""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.compute_db.models import Instance
from common.compute_db.network_models import (
    FloatingIP,
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Subnet,
)
from common.db import utcnow

_UNBOUND: dict[str, Any] = {"binding_host_id": "", "binding_vif_type": "unbound",
                            "binding_vif_details": {}, "status": "DOWN"}


def server_ports(session: Session, instance_uuid: uuid.UUID) -> list[Port]:
    """The server's ports in the order it got them (its guest's interface order)."""
    return list(session.scalars(sa.select(Port).where(Port.device_id == str(instance_uuid))
                                .order_by(Port.created_at, Port.id)))


def release_server_ports(session: Session, instance_uuid: uuid.UUID,
                         port_ids: Collection[uuid.UUID] | None = None) -> None:
    """Delete the ports made for a server and free their addresses; detach and unbind
    the ports its user handed in (they stay, as upstream keeps them). ``port_ids``: only
    those of its ports."""
    device = str(instance_uuid)
    mine = [Port.device_id == device]
    if port_ids is not None:
        mine.append(Port.id.in_(list(port_ids)))
    made = sa.select(Port.id).where(*mine, Port.delete_with_device.is_(True))
    session.execute(sa.delete(IpAllocation).where(IpAllocation.port_id.in_(made)))
    session.execute(sa.delete(PortSecurityGroup).where(PortSecurityGroup.port_id.in_(made)))
    session.execute(sa.delete(Port).where(*mine, Port.delete_with_device.is_(True))
                    .execution_options(synchronize_session=False))
    session.execute(
        sa.update(Port).where(*mine)
        .values(device_id="", device_owner="", **_UNBOUND,
                revision_number=Port.revision_number + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False))


def bind_server_ports(session: Session, instance_uuid: uuid.UUID, host: str,
                      status: str, port_ids: Collection[uuid.UUID] | None = None) -> None:
    """Bind the server's ports to ``host``: BUILD while it is being placed there,
    ACTIVE once its guest runs (the host has wired the port); DOWN where it does not run.
    ``port_ids``: only those of its ports."""
    mine = [Port.device_id == str(instance_uuid)]
    if port_ids is not None:
        mine.append(Port.id.in_(list(port_ids)))
    session.execute(
        sa.update(Port).where(*mine)
        .values(binding_host_id=host, binding_vif_type="ovs",
                binding_vif_details={"port_filter": True, "connectivity": "l2"},
                status=status, revision_number=Port.revision_number + 1,
                updated_at=utcnow())
        .execution_options(synchronize_session=False))


def unbind_server_ports(session: Session, instance_uuid: uuid.UUID) -> None:
    """The server's ports stay its own but bound nowhere (shelved offloaded: no host)."""
    session.execute(
        sa.update(Port).where(Port.device_id == str(instance_uuid))
        .values(**_UNBOUND, revision_number=Port.revision_number + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False))


def refresh_server_addresses(session: Session, instance_uuid: uuid.UUID) -> None:
    """Rewrite the server's ``addresses`` from the ports it holds now (fixed addresses,
    each followed by its floating ones), as the compute API shows them."""
    session.flush()
    held = server_ports(session, instance_uuid)
    session.execute(sa.update(Instance).where(Instance.uuid == instance_uuid,
                                              Instance.deleted.is_(False))
                    .values(addresses=addresses_of(session, held))
                    .execution_options(synchronize_session=False))


def addresses_of(session: Session, held: list[Port]) -> dict[str, list[dict[str, Any]]]:
    """Network name -> the fixed addresses of these ports, each followed by its floating
    addresses, in port order: a server's ``addresses`` as the compute API shows them."""
    if not held:
        return {}
    by_id = {p.id: p for p in held}
    rows = session.execute(
        sa.select(IpAllocation.port_id, IpAllocation.ip_address, Subnet.ip_version,
                  Network.name, Network.id)
        .join(Subnet, Subnet.id == IpAllocation.subnet_id)
        .join(Network, Network.id == Subnet.network_id)
        .where(IpAllocation.port_id.in_(list(by_id)))
        .order_by(IpAllocation.id)).all()
    floating: dict[tuple[uuid.UUID | None, str], list[str]] = {}
    for port_id, fixed, outer in session.execute(
            sa.select(FloatingIP.fixed_port_id, FloatingIP.fixed_ip_address,
                      FloatingIP.floating_ip_address)
            .where(FloatingIP.fixed_port_id.in_(list(by_id)))
            .order_by(FloatingIP.created_at, FloatingIP.id)):
        floating.setdefault((port_id, str(fixed)), []).append(outer)
    order = {pid: n for n, pid in enumerate(by_id)}
    out: dict[str, list[dict[str, Any]]] = {}
    for port_id, address, version, name, net_id in sorted(rows, key=lambda r: order[r[0]]):
        mac = by_id[port_id].mac_address
        shown = out.setdefault(name or str(net_id), [])
        shown.append({"version": version, "addr": address, "OS-EXT-IPS:type": "fixed",
                      "OS-EXT-IPS-MAC:mac_addr": mac})
        shown.extend({"version": 4, "addr": a, "OS-EXT-IPS:type": "floating",
                      "OS-EXT-IPS-MAC:mac_addr": mac}
                     for a in floating.get((port_id, address), []))
    return out


# Free candidates tried after collisions with concurrent allocations, before giving up.
_ALLOCATION_TRIES = 16
# Pools larger than this are sampled instead of listed.
_ENUMERABLE = 1 << 16


def _free_address(session: Session, subnet: Subnet) -> str | None:
    """A free address of the subnet's pools as far as this transaction sees, or None."""
    ranges = [(int(ipaddress.ip_address(p["start"])), int(ipaddress.ip_address(p["end"])))
              for p in subnet.allocation_pools or []]
    size = sum(high - low + 1 for low, high in ranges)
    if size == 0:
        return None
    used = {int(ipaddress.ip_address(a)) for a in session.scalars(
        sa.select(IpAllocation.ip_address).where(IpAllocation.subnet_id == subnet.id))}
    if size <= _ENUMERABLE:
        free = [n for low, high in ranges for n in range(low, high + 1) if n not in used]
        return str(ipaddress.ip_address(random.choice(free))) if free else None
    for _ in range(_ALLOCATION_TRIES):
        low, high = random.choice(ranges)
        n = random.randint(low, high)
        if n not in used:
            version = ipaddress.ip_network(subnet.cidr).version
            return str(ipaddress.IPv4Address(n) if version == 4 else ipaddress.IPv6Address(n))
    return None


def allocate_address(session: Session, port_id: uuid.UUID, subnet: Subnet) -> str | None:
    """Give the port a free address of the subnet's pools; None when they are full.
    Race-free: ``ip_allocations`` is unique on (subnet, address), each try is inserted in
    a savepoint and a collision with a concurrent allocation tries another address."""
    for _ in range(_ALLOCATION_TRIES):
        candidate = _free_address(session, subnet)
        if candidate is None:
            return None
        try:
            with session.begin_nested():
                session.add(IpAllocation(port_id=port_id, subnet_id=subnet.id,
                                         network_id=subnet.network_id, ip_address=candidate))
                session.flush()
            return candidate
        except IntegrityError:
            continue
    return None
