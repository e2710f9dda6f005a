"""The DHCP server port of each network a host serves, made on demand.

``network_state.host_network_state`` gives a DHCP subnet its server address from the
network's ``network:dhcp`` port. The first host that needs it makes it: one per network,
with a deterministic id (uuid5 of the network's id), so two hosts asking at once insert
the same primary key and the loser's insert conflicts instead of duplicating. Its
addresses are allocated with the port's row locked, so concurrent askers do not give it
two addresses on one subnet. A full pool leaves the subnet without DHCP (logged).
"""

from __future__ import annotations

import logging
import random
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.compute_db.network_models import IpAllocation, Network, Port, Subnet
from common.compute_db.network_queries import allocate_address
from conductor.network_state import DHCP_OWNER

LOG = logging.getLogger(__name__)

_DHCP_PORT_NAMESPACE = uuid.UUID("6f0a3b5e-1d7c-5d2e-9a41-0c8b6e2f7d10")
_MAC_PREFIX = "fa:16:3e"


def dhcp_port_id(network_id: uuid.UUID) -> uuid.UUID:
    """The id of the network's DHCP port (the same whoever makes it)."""
    return uuid.uuid5(_DHCP_PORT_NAMESPACE, str(network_id))


def ensure_dhcp_ports(session: Session, host: str) -> None:
    """Make the missing DHCP ports (and addresses) of the DHCP networks ``host`` has
    bound guest ports on. Idempotent; the caller commits."""
    network_ids = set(session.scalars(
        sa.select(Port.network_id).where(Port.binding_host_id == host,
                                         ~Port.device_owner.startswith("network:"))))
    if not network_ids:
        return
    subnets = list(session.scalars(sa.select(Subnet).where(
        Subnet.network_id.in_(network_ids), Subnet.enable_dhcp.is_(True))
        .order_by(Subnet.created_at, Subnet.id)))
    for network_id in sorted({s.network_id for s in subnets}):
        _ensure(session, network_id, [s for s in subnets if s.network_id == network_id])


def _ensure(session: Session, network_id: uuid.UUID, subnets: list[Subnet]) -> None:
    port_id = dhcp_port_id(network_id)
    have = set(session.scalars(sa.select(IpAllocation.subnet_id)
                               .where(IpAllocation.port_id == port_id)))
    if all(s.id in have for s in subnets):
        return
    network = session.get(Network, network_id)
    if network is None:
        return
    if session.get(Port, port_id) is None and not _insert(session, network, port_id):
        return
    # Serialises the askers of one network from here (a no-op lock on SQLite, whose
    # writers are serial anyway).
    session.execute(sa.select(Port.id).where(Port.id == port_id).with_for_update())
    have = set(session.scalars(sa.select(IpAllocation.subnet_id)
                               .where(IpAllocation.port_id == port_id)))
    for subnet in subnets:
        if subnet.id not in have and allocate_address(session, port_id, subnet) is None:
            LOG.warning("subnet %s: no free address for its DHCP server; it serves no "
                        "DHCP until one is free", subnet.id)


def _insert(session: Session, network: Network, port_id: uuid.UUID) -> bool:
    """Insert the DHCP port; False if it could not be made (vanished network)."""
    for _ in range(8):
        mac = _MAC_PREFIX + "".join(f":{random.randint(0, 255):02x}" for _ in range(3))
        try:
            with session.begin_nested():
                session.add(Port(id=port_id, project_id=network.project_id,
                                 network_id=network.id, mac_address=mac, status="ACTIVE",
                                 device_id="dhcp", device_owner=DHCP_OWNER))
                session.flush()
            return True
        except IntegrityError:
            # Made by a concurrent asker (same id), or a MAC taken: look again.
            session.expire_all()
            if session.get(Port, port_id) is not None:
                return True
    LOG.warning("network %s: could not make its DHCP port", network.id)
    return False
