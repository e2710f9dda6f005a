"""IP address management: pools, and allocation made race-free by the database.

An address belongs to one port per subnet because ``ip_allocations`` is unique on
(subnet_id, ip_address): allocation picks a free candidate and inserts it in a
savepoint; a concurrent request that took it first makes the insert fail, and another
candidate is tried, a bounded number of times. No lock is held. The allocator itself is
``common.compute_db.network_queries.allocate_address``, which the conductor's DHCP ports
use as well.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.network_models import IpAllocation, Port, Subnet
from common.compute_db.network_queries import allocate_address, insert_address
from common.errors import BadRequest, Conflict
from compute_api.network.faults import (
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Range = tuple[int, int]
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


def allocate(session: Session, port: Port, subnet: Subnet, ip: str | None = None) -> str:
    """Give ``port`` an address of ``subnet`` (``ip`` if asked). Raises InvalidIpForSubnet,
    IpAddressAlreadyAllocated, IpAddressGenerationFailure (the pools are exhausted)."""
    if ip is not None:
        return _allocate_given(session, port, subnet, ip)
    if subnet.ip_version == 6 and subnet.ipv6_address_mode in SLAAC_MODES:
        return _allocate_given(session, port, subnet, eui64(subnet.cidr, port.mac_address))
    address = allocate_address(session, port.id, subnet)
    if address is None:
        raise IpAddressGenerationFailure(str(subnet.network_id))
    return address


def _allocate_given(session: Session, port: Port, subnet: Subnet, ip: str) -> str:
    address = ipaddress.ip_address(ip)
    net = network_of(subnet)
    if address not in net or address == net.network_address or (
            net.version == 4 and net.prefixlen <= 30 and address == net.broadcast_address):
        raise InvalidIpForSubnet(ip)
    if not insert_address(session, port.id, subnet, str(address)):
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
