"""IP address management: pools, and allocation made race-free by the database.

An address belongs to one port per subnet because ``ip_allocations`` is unique on
(subnet_id, ip_address): allocation picks a free candidate and inserts it in a
savepoint; a concurrent request that took it first makes the insert fail, and another
candidate is tried, a bounded number of times. No lock is held.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.compute_db.network_models import IpAllocation, Port, Subnet
from common.errors import BadRequest, Conflict
from compute_api.network.faults import (
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Range = tuple[int, int]
# Candidates tried after collisions with concurrent allocations, before giving up.
TRIES = 64
# Up to this many addresses a pool's free addresses are listed; beyond, sampled.
_ENUMERABLE = 1 << 16
# Past this many addresses a pool is tried at random before its used set is read.
_SPARSE = 1024
SLAAC_MODES = ("slaac", "dhcpv6-stateless")


class PoolError(BadRequest):
    neutron_type = "InvalidAllocationPool"


class PoolConflict(Conflict):
    neutron_type = "OverlappingAllocationPools"


class GatewayConflict(Conflict):
    neutron_type = "GatewayConflictWithAllocationPools"


class InvalidIpForSubnet(BadRequest):
    neutron_type = "InvalidIpForSubnet"

    def __init__(self, ip: str) -> None:
        super().__init__(f"IP address {ip} is not a valid IP for the specified subnet.")


def network_of(subnet: Subnet) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(subnet.cidr)


def default_gateway(cidr: str) -> str | None:
    net = ipaddress.ip_network(cidr)
    return str(net.network_address + 1) if net.num_addresses > 2 else None


def default_pools(cidr: str, gateway: str | None) -> list[dict[str, str]]:
    """The whole range minus the network address, a v4 broadcast and the gateway."""
    net = ipaddress.ip_network(cidr)
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4 and net.prefixlen <= 30:
        first, last = first + 1, last - 1
    elif net.version == 6 and net.prefixlen < 127:
        first += 1
    ranges = [(first, last)]
    if gateway is not None:
        gw = int(ipaddress.ip_address(gateway))
        ranges = [piece for low, high in ranges
                  for piece in ((low, min(high, gw - 1)), (max(low, gw + 1), high))
                  if piece[0] <= piece[1]] if first <= gw <= last else ranges
    make = ipaddress.ip_address
    return [{"start": str(make(a)), "end": str(make(b))} for a, b in ranges]


def _ranges(pools: list[dict[str, str]]) -> list[Range]:
    return [(int(ipaddress.ip_address(p["start"])), int(ipaddress.ip_address(p["end"])))
            for p in pools]


def check_pools(cidr: str, gateway: str | None, pools: list[dict[str, str]]) -> None:
    """Pools inside the subnet, ordered, disjoint and apart from the gateway."""
    net = ipaddress.ip_network(cidr)
    for pool in pools:
        start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        if start.version != net.version or end.version != net.version or int(start) > int(end):
            raise PoolError(f"The allocation pool {pool['start']}-{pool['end']} is not "
                            "valid.")
        if start not in net or end not in net:
            raise PoolError(f"The allocation pool {pool['start']}-{pool['end']} spans beyond "
                            f"the subnet cidr {cidr}.")
    ordered = sorted(_ranges(pools))
    for (_, high), (low, _) in itertools.pairwise(ordered):
        if low <= high:
            raise PoolConflict(f"Found overlapping allocation pools: {pools}")
    if gateway is not None:
        gw = int(ipaddress.ip_address(gateway))
        for pool, (low, high) in zip(pools, _ranges(pools), strict=True):
            if low <= gw <= high:
                raise GatewayConflict(f"Gateway ip {gateway} conflicts with allocation pool "
                                      f"{pool['start']}-{pool['end']}.")


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
    ranges = _ranges(subnet.allocation_pools or [])
    size = sum(high - low + 1 for low, high in ranges)
    if size == 0:
        return None
    version = network_of(subnet).version
    if size > _SPARSE and not careful:
        return _address(random.randint(*random.choice(ranges)), version)
    used = _used(session, subnet)
    if size <= _ENUMERABLE:
        free = [n for low, high in ranges for n in range(low, high + 1) if n not in used]
        return str(ipaddress.ip_address(random.choice(free))) if free else None
    for _ in range(TRIES):
        low, high = random.choice(ranges)
        n = random.randint(low, high)
        if n not in used:
            return _address(n, version)
    return None


def _address(n: int, version: int) -> str:
    return str(ipaddress.IPv4Address(n) if version == 4 else ipaddress.IPv6Address(n))


def _insert(session: Session, port: Port, subnet: Subnet, ip: str) -> bool:
    """Whether ``ip`` was free: inserted in a savepoint, so a collision undoes only it."""
    try:
        with session.begin_nested():
            session.add(IpAllocation(port_id=port.id, subnet_id=subnet.id,
                                     network_id=subnet.network_id, ip_address=ip))
            session.flush()
        return True
    except IntegrityError:
        return False


def allocate(session: Session, port: Port, subnet: Subnet, ip: str | None = None) -> str:
    """Give ``port`` an address of ``subnet`` (``ip`` if asked). Raises InvalidIpForSubnet,
    IpAddressAlreadyAllocated, IpAddressGenerationFailure (the pools are exhausted)."""
    if ip is not None:
        return _allocate_given(session, port, subnet, ip)
    if subnet.ip_version == 6 and subnet.ipv6_address_mode in SLAAC_MODES:
        return _allocate_given(session, port, subnet, eui64(subnet.cidr, port.mac_address))
    for attempt in range(TRIES):
        candidate = _candidate(session, subnet, careful=attempt > 0)
        if candidate is None:
            break
        if _insert(session, port, subnet, candidate):
            return candidate
    raise IpAddressGenerationFailure(str(subnet.network_id))


def _allocate_given(session: Session, port: Port, subnet: Subnet, ip: str) -> str:
    address = ipaddress.ip_address(ip)
    net = network_of(subnet)
    if address not in net or address == net.network_address or (
            net.version == 4 and net.prefixlen <= 30 and address == net.broadcast_address):
        raise InvalidIpForSubnet(ip)
    if not _insert(session, port, subnet, str(address)):
        raise IpAddressAlreadyAllocated(str(address), str(subnet.id))
    return str(address)


def eui64(cidr: str, mac: str) -> str:
    """The SLAAC address of ``mac`` in an IPv6 /64 (modified EUI-64)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    iid = bytes([*octets[:3], 255, 254, *octets[3:]])
    net = ipaddress.IPv6Network(cidr)
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(iid, "big")))


def release(session: Session, port: Port, subnet_id: Any = None) -> None:
    """Free the port's addresses (of one subnet only, when given)."""
    stmt = sa.delete(IpAllocation).where(IpAllocation.port_id == port.id)
    if subnet_id is not None:
        stmt = stmt.where(IpAllocation.subnet_id == subnet_id)
    session.execute(stmt)


def in_use(session: Session, subnet: Subnet, ignore_owners: tuple[str, ...]) -> bool:
    """Whether a port (other than network-owned ones) holds an address of the subnet."""
    stmt = (sa.select(sa.func.count()).select_from(IpAllocation)
            .join(Port, Port.id == IpAllocation.port_id)
            .where(IpAllocation.subnet_id == subnet.id, Port.device_owner.not_in(ignore_owners)))
    return bool(session.scalar(stmt))
