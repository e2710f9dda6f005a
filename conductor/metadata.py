"""The facts behind a guest's metadata documents, and which guest a request is from.

A metadata request names the network it arrived on and its source address: the port
holding that fixed address on that network belongs to the instance (``device_id``),
whose documents answer it. A host is answered only about instances on that host (or
either end of their move in progress), as every other agent read is: a compromised host
learns nothing of guests elsewhere. ``common/metadata.py`` renders the documents.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.models import Instance
from common.compute_db.network_models import (
    FloatingIP,
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    Subnet,
)
from common.compute_db.network_queries import server_ports
from common.db import read_only, transaction
from common.errors import Forbidden, NotFound
from common.messages import (
    InstancePayload,
    MetadataFacts,
    MetadataFixedIp,
    MetadataPort,
    MetadataSubnet,
)
from conductor.instances import to_payload

LOG = logging.getLogger(__name__)


def metadata_facts(session: Session, inst: Instance, holds_ports: bool = True
                   ) -> MetadataFacts:
    """The server's ports (addresses, subnets, floating IPs) and security groups;
    ``holds_ports``: False when the caller knows it holds none."""
    held = server_ports(session, inst.uuid) if holds_ports else []  # the guest's interface order
    facts = MetadataFacts(instance_id=inst.id, reservation_id=inst.reservation_id or "")
    if not held:
        return facts
    ids = [p.id for p in held]
    fixed: dict[uuid.UUID, list[MetadataFixedIp]] = {}
    for address, subnet in session.execute(
            sa.select(IpAllocation, Subnet).join(Subnet, Subnet.id == IpAllocation.subnet_id)
            .where(IpAllocation.port_id.in_(ids)).order_by(IpAllocation.id)):
        fixed.setdefault(address.port_id, []).append(MetadataFixedIp(
            ip_address=address.ip_address, subnet=_subnet(subnet)))
    floating: dict[uuid.UUID, list[str]] = {}
    for port_id, outer in session.execute(
            sa.select(FloatingIP.fixed_port_id, FloatingIP.floating_ip_address)
            .where(FloatingIP.fixed_port_id.in_(ids))
            .order_by(FloatingIP.created_at, FloatingIP.id)):
        if port_id is not None:
            floating.setdefault(port_id, []).append(outer)
    mtus = {net_id: mtu for net_id, mtu in session.execute(
        sa.select(Network.id, Network.mtu).where(Network.id.in_({p.network_id for p in held})))}
    groups = session.scalars(
        sa.select(SecurityGroup.name).distinct()
        .join(PortSecurityGroup, PortSecurityGroup.security_group_id == SecurityGroup.id)
        .where(PortSecurityGroup.port_id.in_(ids)).order_by(SecurityGroup.name)).all()
    ports = [MetadataPort(id=p.id, network_id=p.network_id, mac_address=p.mac_address,
                          mtu=mtus.get(p.network_id), vif_type=p.binding_vif_type,
                          fixed_ips=fixed.get(p.id, []), floating_ips=floating.get(p.id, []))
             for p in held]
    return facts.model_copy(update={"security_groups": list(groups), "ports": ports})


def _subnet(subnet: Subnet) -> MetadataSubnet:
    return MetadataSubnet(
        id=subnet.id, ip_version=subnet.ip_version, cidr=subnet.cidr,
        gateway_ip=subnet.gateway_ip,
        dns_nameservers=[str(a) for a in subnet.dns_nameservers or []],
        host_routes=[{"destination": str(r["destination"]), "nexthop": str(r["nexthop"])}
                     for r in subnet.host_routes or []],
        ipv6_address_mode=subnet.ipv6_address_mode)


def with_facts(session: Session, inst: Instance, record: InstancePayload,
               holds_ports: bool = True) -> InstancePayload:
    """``record`` (the instance as an agent gets it) with its metadata facts;
    ``holds_ports``: False when the caller knows it holds none."""
    return record.model_copy(update={
        "metadata_facts": metadata_facts(session, inst, holds_ports)})


class GuestMetadata:
    """Answers a host's metadata service: whose request it is, and that guest's facts."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._reads = read_only(sessions)

    def for_address(self, host: str, network_id: uuid.UUID, address: str
                    ) -> InstancePayload:
        """The instance holding ``address`` on ``network_id``, with its metadata facts.

        Raises NotFound (no live server holds it), Forbidden (it is not on ``host``).
        """
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise NotFound(f"no server has address {address!r}") from None
        with transaction(self._reads) as session:
            inst = self._holder(session, network_id, address)
            if not self._on_host(session, inst, host):
                LOG.warning("host %s asked for the metadata of %s, which is not there",
                            host, inst.uuid)
                raise Forbidden(f"address {address} is not a server's on host {host}")
            return with_facts(session, inst, to_payload(inst))

    @staticmethod
    def _holder(session: Session, network_id: uuid.UUID, address: str) -> Instance:
        device = session.scalar(
            sa.select(Port.device_id).join(IpAllocation, IpAllocation.port_id == Port.id)
            .where(IpAllocation.network_id == network_id, IpAllocation.ip_address == address,
                   Port.network_id == network_id, Port.device_owner.startswith("compute:")))
        inst = None
        if device:
            try:
                inst = session.scalar(sa.select(Instance).where(
                    Instance.uuid == uuid.UUID(device), Instance.deleted.is_(False)))
            except ValueError:
                inst = None
        if inst is None:
            raise NotFound(f"no server has address {address} on network {network_id}")
        return inst

    @staticmethod
    def _on_host(session: Session, inst: Instance, host: str) -> bool:
        """On ``host``, or ``host`` is either end of its move in progress (the guest runs
        on the destination before the record says so)."""
        if inst.host == host:
            return True
        moving = queries.current_migration(session, inst.uuid)
        return moving is not None and host in (moving.source_compute, moving.dest_compute)
