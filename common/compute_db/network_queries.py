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


def holds_ports(session: Session, instance_uuid: uuid.UUID) -> bool:
    """Whether any port names the server as its device (one indexed read)."""
    return session.scalar(sa.select(Port.id).where(
        Port.device_id == str(instance_uuid)).limit(1)) is not None


def release_server_ports(session: Session, instance_uuid: uuid.UUID,
                         port_ids: Collection[uuid.UUID] | None = None) -> None:
    """Delete the ports made for a server and free their addresses; detach and unbind
    the ports its user handed in (they stay, as upstream keeps them). ``port_ids``: only
    those of its ports."""
    mine = [Port.device_id == str(instance_uuid)]
    if port_ids is not None:
        mine.append(Port.id.in_(list(port_ids)))
    # One read first: most servers hold no port, and then nothing more is written.
    held = session.execute(sa.select(Port.id, Port.delete_with_device).where(*mine)).all()
    if not held:
        return
    made = [port_id for port_id, made_here in held if made_here]
    if made:
        session.execute(sa.delete(IpAllocation).where(IpAllocation.port_id.in_(made)))
        session.execute(sa.delete(PortSecurityGroup)
                        .where(PortSecurityGroup.port_id.in_(made)))
        session.execute(sa.delete(Port).where(*mine, Port.id.in_(made))
                        .execution_options(synchronize_session=False))
    kept = [port_id for port_id, made_here in held if not made_here]
    if kept:
        session.execute(
            sa.update(Port).where(*mine, Port.id.in_(kept))
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


# Candidates tried after collisions with concurrent allocations, before giving up.
ALLOCATION_TRIES = 64
# Up to this many addresses a pool's free addresses are listed; beyond, sampled.
_ENUMERABLE = 1 << 16
# Past this many addresses a pool is tried at random before its used set is read.
_SPARSE = 1024


def _used(session: Session, subnet: Subnet) -> set[int]:
    rows = session.scalars(sa.select(IpAllocation.ip_address)
                           .where(IpAllocation.subnet_id == subnet.id))
    return {int(ipaddress.ip_address(ip)) for ip in rows}


def _candidate(session: Session, subnet: Subnet, careful: bool) -> str | None:
    """A free address of the subnet's pools, or None when none is left.

    A small pool is enumerated against the addresses in use. A large one is mostly free:
    a random address is tried first without reading what is used (the unique insert
    decides), and only after a collision (``careful``) is the used set read.
    """
    ranges = [(int(ipaddress.ip_address(p["start"])), int(ipaddress.ip_address(p["end"])))
              for p in subnet.allocation_pools or []]
    size = sum(high - low + 1 for low, high in ranges)
    if size == 0:
        return None
    version = ipaddress.ip_network(subnet.cidr).version
    if size > _SPARSE and not careful:
        return _address(random.randint(*random.choice(ranges)), version)
    used = _used(session, subnet)
    if size <= _ENUMERABLE:
        free = [n for low, high in ranges for n in range(low, high + 1) if n not in used]
        return str(ipaddress.ip_address(random.choice(free))) if free else None
    for _ in range(ALLOCATION_TRIES):
        low, high = random.choice(ranges)
        n = random.randint(low, high)
        if n not in used:
            return _address(n, version)
    return None


def _address(n: int, version: int) -> str:
    return str(ipaddress.IPv4Address(n) if version == 4 else ipaddress.IPv6Address(n))


def insert_address(session: Session, port_id: uuid.UUID, subnet: Subnet, ip: str) -> bool:
    """Whether ``ip`` was free: inserted in a savepoint, so a collision undoes only it."""
    try:
        with session.begin_nested():
            session.add(IpAllocation(port_id=port_id, subnet_id=subnet.id,
                                     network_id=subnet.network_id, ip_address=ip))
            session.flush()
        return True
    except IntegrityError:
        return False


def allocate_address(session: Session, port_id: uuid.UUID, subnet: Subnet) -> str | None:
    """Give the port a free address of the subnet's pools; None when they are full.
    Race-free: ``ip_allocations`` is unique on (subnet, address), each try is inserted in
    a savepoint and a collision with a concurrent allocation tries another address. The
    one allocator of the network API (``ipam.allocate``) and the conductor's DHCP ports."""
    for attempt in range(ALLOCATION_TRIES):
        candidate = _candidate(session, subnet, careful=attempt > 0)
        if candidate is None:
            return None
        if insert_address(session, port_id, subnet, candidate):
            return candidate
    return None
