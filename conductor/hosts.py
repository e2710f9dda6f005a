"""What compute agents ask of the conductor about their host and its instances.

Every call names the calling host, and an agent only ever sees or changes instances
recorded on that host.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.models import Instance
from common.compute_db.network_models import Port
from common.compute_db.network_queries import bind_server_ports
from common.compute_db.transition import transition
from common.db import read_only, transaction, utcnow
from common.errors import BadRequest, Forbidden, NotFound
from common.lifecycle import SPAWNING, Event
from common.messages import (
    GuestAddress,
    GuestState,
    HostNetworkState,
    InstancePayload,
    NodeReport,
)
from common.states import PowerState, VmState
from conductor.dhcp_ports import ensure_dhcp_ports
from conductor.instances import port_payloads, to_payload
from conductor.metadata import with_facts
from conductor.network_state import host_network_state
from conductor.neutron_ports import NeutronPorts

LOG = logging.getLogger(__name__)

COMPUTE_BINARY = "kilonova-compute"


class HostRecords:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._reads = read_only(sessions)
        # [network] backend = neutron: a record read by a host carries its ports there.
        self.neutron_ports: NeutronPorts | None = None

    def register(self, host: str, node: NodeReport, rpc_server: str | None = None,
                 vtep_ip: str | None = None) -> None:
        """Record the host's service and node; ``rpc_server``: the queue its messages go
        to when its agent process serves many hosts (None: its own); ``vtep_ip``: its
        VXLAN tunnel address (None: it has none, e.g. a simulated host)."""
        if rpc_server is not None and not 0 < len(rpc_server) <= 255:
            raise BadRequest("rpc_server must be 1 to 255 characters")
        if vtep_ip is not None:
            try:
                vtep_ip = str(ipaddress.ip_address(vtep_ip))
            except ValueError:
                raise BadRequest(f"vtep_ip {vtep_ip!r} is not an IP address") from None
        with transaction(self._sessions) as session:
            svc = queries.upsert_service(session, host, COMPUTE_BINARY, "compute")
            svc.rpc_server = None if rpc_server == host else rpc_server
            svc.vtep_ip = vtep_ip
            values = node.model_dump(exclude={"reserved_vcpus", "reserved_memory_mb",
                                              "reserved_disk_gb"})
            queries.upsert_compute_node(session, {**values, "host": host})

    def heartbeat(self, host: str, binary: str) -> None:
        with transaction(self._sessions) as session:
            if not queries.heartbeat(session, host, binary):
                queries.upsert_service(session, host, binary, None)

    def heartbeats(self, hosts: Sequence[str], binary: str) -> None:
        """Mark many services alive in one statement (an agent process's hosts)."""
        with transaction(self._sessions) as session:
            if queries.heartbeats(session, hosts, binary) < len(set(hosts)):
                for host in queries.missing_services(session, hosts, binary):
                    queries.upsert_service(session, host, binary, None)

    def instance_for_host(self, host: str, instance_uuid: uuid.UUID) -> InstancePayload | None:
        with transaction(self._reads) as session:
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                return None
            if inst.host != host:
                # Either end of a move in progress may act on the server: the
                # destination prepares for it before the server is recorded there, the
                # source cleans up after it left.
                moving = queries.current_migration(session, instance_uuid)
                if moving is None or host not in (moving.source_compute,
                                                  moving.dest_compute):
                    return None
            # With its metadata facts: a spawn read here (rebuild, evacuate, unshelve, a
            # spawn cast again) writes the same config drive as a build.
            record = with_facts(session, inst,
                                to_payload(inst, ports=port_payloads(session, instance_uuid)))
        if self.neutron_ports is not None and record.ports == []:
            # Its ports live in an external Neutron (raises ServiceUnavailable while
            # Neutron does not answer: the agent's spawn is retried, never done without
            # its interfaces).
            view = self.neutron_ports.view(instance_uuid)
            record = record.model_copy(update={
                "ports": view.payloads(),
                "metadata_facts": view.facts(record.metadata_facts.instance_id,
                                             record.metadata_facts.reservation_id)
                if record.metadata_facts is not None else None})
        return record

    def spawned(self, host: str, instance_uuid: uuid.UUID, power_state: int,
                reports_wiring: bool = False) -> bool:
        """Spawning -> ACTIVE. False if the server changed (e.g. was deleted) meanwhile.

        ``reports_wiring``: the agent reported its wired ports (``ports_wired``), which
        are ACTIVE; the others stay DOWN. An older agent does not: all become ACTIVE."""
        with transaction(self._sessions) as session:
            won = transition(session, instance_uuid, Event.SPAWNED, host=host, likely=SPAWNING,
                             power=power_state,
                             values={"launched_at": utcnow(), "progress": 100}) is not None
            if won and not reports_wiring:
                bind_server_ports(session, instance_uuid, host, "ACTIVE")
            elif won:
                unwired = session.scalars(sa.select(Port.id).where(
                    Port.device_id == str(instance_uuid), Port.status != "ACTIVE")).all()
                if unwired:
                    bind_server_ports(session, instance_uuid, host, "DOWN", unwired)
        if won:
            LOG.info("instance %s is active on %s", instance_uuid, host)
        return won

    def ports_wired(self, host: str, instance_uuid: uuid.UUID,
                    port_ids: Sequence[uuid.UUID]) -> None:
        """The host wired these ports of its server: ACTIVE ("network-vif-plugged").
        Raises Forbidden when the server is not on ``host`` or a port is not its."""
        with transaction(self._sessions) as session:
            inst = session.scalar(sa.select(Instance).where(
                Instance.uuid == instance_uuid, Instance.deleted.is_(False)))
            if inst is None or inst.host != host:
                raise Forbidden(f"instance {instance_uuid} is not on host {host}")
            held = set(session.scalars(sa.select(Port.id).where(
                Port.device_id == str(instance_uuid), Port.id.in_(list(port_ids)))))
            if held != set(port_ids):
                strangers = ", ".join(sorted(str(p) for p in set(port_ids) - held))
                raise Forbidden(f"ports {strangers} are not instance {instance_uuid}'s")
            if held:
                bind_server_ports(session, instance_uuid, host, "ACTIVE", held)

    def network_state(self, host: str) -> HostNetworkState:
        """What ``host``'s data plane should hold; makes missing DHCP ports first."""
        with transaction(self._sessions) as session:
            ensure_dhcp_ports(session, host)
        with transaction(self._reads) as session:
            return host_network_state(session, host)

    def instances_on_host(self, host: str) -> Sequence[InstancePayload]:
        with transaction(self._reads) as session:
            rows = session.scalars(
                sa.select(Instance).where(Instance.host == host, Instance.deleted.is_(False))
            ).all()
            return [to_payload(i) for i in rows]

    def instances_on_hosts(self, hosts: Sequence[str]) -> dict[str, list[InstancePayload]]:
        """The live servers of each of ``hosts`` (every host named has an entry)."""
        found: dict[str, list[InstancePayload]] = {h: [] for h in hosts}
        with transaction(self._reads) as session:
            rows = session.scalars(
                sa.select(Instance)
                .where(Instance.host.in_(list(found)), Instance.deleted.is_(False))).all()
            for inst in rows:
                if inst.host is not None:
                    found[inst.host].append(to_payload(inst))
        return found

    def set_addresses(self, host: str, instance_uuid: uuid.UUID,
                      addresses: Sequence[GuestAddress]) -> None:
        """Record the addresses a guest on ``host`` holds, as the API's ``addresses``;
        a server with ports shows theirs instead."""
        with transaction(self._sessions) as session:
            session.execute(
                sa.update(Instance)
                .where(Instance.uuid == instance_uuid, Instance.host == host,
                       Instance.deleted.is_(False),
                       ~sa.exists().where(Port.device_id == str(instance_uuid)))
                .values(addresses=addresses_view(addresses))
            )

    def sync_power_states(self, host: str, guests: Sequence[GuestState]) -> None:
        """Record the power state the hypervisor reports for idle servers on ``host``."""
        wanted = {g.uuid: PowerState(g.power_state) for g in guests}
        with transaction(self._sessions) as session:
            rows = session.execute(
                sa.select(Instance.uuid, Instance.vm_state, Instance.power_state)
                .where(Instance.uuid.in_(list(wanted)), Instance.host == host,
                       Instance.deleted.is_(False), Instance.task_state.is_(None))).all()
            for instance_uuid, vm, power in rows:
                if power != wanted[instance_uuid]:
                    # A task that began since the read wins: the swap then misses.
                    transition(session, instance_uuid, Event.POWER_SYNCED,
                               seen=(VmState(vm), None), host=host,
                               power=wanted[instance_uuid])


def addresses_view(addresses: Sequence[GuestAddress]) -> dict[str, list[dict[str, Any]]]:
    """Network name -> its addresses, in the shape of the compute API's ``addresses``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for a in addresses:
        out.setdefault(a.network, []).append({
            "version": a.version, "addr": a.addr, "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": a.mac})
    return out
