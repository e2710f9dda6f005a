"""Hypervisors as operators see them (os-hypervisors): the compute nodes, their
service's health, and what their servers use."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db import queries
from common.compute_db.models import ComputeNode, Instance, Service
from common.db import utcnow
from common.errors import BadRequest, NotFound
from compute_api.aggregates import COMPUTE_BINARY

LOG = logging.getLogger(__name__)


@dataclass
class Hypervisor:
    node: ComputeNode
    service: Service | None
    up: bool
    used: dict[str, int]
    running_vms: int
    current_workload: int
    servers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def disabled(self) -> bool:
        return self.service is not None and self.service.disabled


def list_nodes(session: Session, pattern: str | None = None, limit: int | None = None,
               marker: str | None = None, by_uuid: bool = False) -> Sequence[ComputeNode]:
    """Compute nodes by id; ``pattern`` matches a part of the hostname.

    Raises BadRequest (a pattern with paging, an unknown marker), NotFound (a pattern
    matching nothing).
    """
    stmt = sa.select(ComputeNode).order_by(ComputeNode.id)
    if pattern is not None and (limit is not None or marker is not None):
        raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern "
                         "query parameter is not supported.")
    if pattern is not None:
        stmt = stmt.where(ComputeNode.hypervisor_hostname.contains(pattern, autoescape=True))
    if marker is not None:
        try:
            anchor = get_node(session, marker, by_uuid)
        except NotFound:
            raise BadRequest(f"marker [{marker}] not found") from None
        stmt = stmt.where(ComputeNode.id > anchor.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    nodes = session.scalars(stmt).all()
    if pattern is not None and not nodes:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return nodes


def get_node(session: Session, hypervisor_id: str, by_uuid: bool) -> ComputeNode:
    """A compute node by integer id (before 2.53) or uuid. Raises NotFound."""
    node: ComputeNode | None = None
    if by_uuid:
        try:
            node = session.scalar(sa.select(ComputeNode).where(
                ComputeNode.uuid == uuid.UUID(hypervisor_id)))
        except ValueError:
            raise BadRequest(f"Invalid uuid {hypervisor_id}") from None
    elif hypervisor_id.isdigit() and len(hypervisor_id) < 10:
        node = session.get(ComputeNode, int(hypervisor_id))
    if node is None:
        raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    return node


def _flavor_usage(instances: Sequence[Instance]) -> dict[str, int]:
    return {"VCPU": sum(int(i.flavor.get("vcpus", 0)) for i in instances),
            "MEMORY_MB": sum(int(i.flavor.get("memory_mb", 0)) for i in instances),
            "DISK_GB": sum(int(i.flavor.get("root_gb", 0)) + int(i.flavor.get("ephemeral_gb", 0))
                           for i in instances)}


def load(session: Session, nodes: Sequence[ComputeNode], down_time: float,
         with_servers: bool = False) -> list[Hypervisor]:
    """Join nodes with their compute service, servers and what those servers use.

    Usage is counted from the servers' flavors, not asked of placement: the API holds
    no placement client (only the scheduler and conductor talk to placement)."""
    hosts = {n.host for n in nodes}
    services = {s.host: s for s in session.scalars(sa.select(Service).where(
        Service.host.in_(hosts), Service.binary == COMPUTE_BINARY)).all()} if hosts else {}
    names = [n.hypervisor_hostname for n in nodes]
    rows = session.scalars(sa.select(Instance).where(
        Instance.node.in_(names), Instance.deleted.is_(False))
        .order_by(Instance.id)).all() if names else []
    on_node: dict[str, list[Instance]] = {}
    for inst in rows:
        on_node.setdefault(inst.node or "", []).append(inst)
    out = []
    for node in nodes:
        here = on_node.get(node.hypervisor_hostname, [])
        svc = services.get(node.host)
        out.append(Hypervisor(
            node=node, service=svc, up=queries.is_up(svc, down_time),
            used=_flavor_usage(here), running_vms=len(here),
            current_workload=sum(1 for i in here if i.task_state is not None),
            servers=[(str(i.uuid), i.display_name) for i in here] if with_servers else []))
    return out


def statistics(hypervisors: Sequence[Hypervisor]) -> dict[str, int]:
    """The sums os-hypervisors/statistics shows (before 2.88)."""
    totals = {"count": len(hypervisors), "current_workload": 0, "running_vms": 0}
    for hyp in hypervisors:
        counts = {**resources(hyp), "current_workload": hyp.current_workload,
                  "running_vms": hyp.running_vms}
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    for key in resources_keys():
        totals.setdefault(key, 0)
    return totals


def resources_keys() -> tuple[str, ...]:
    return ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
            "local_gb_used", "free_ram_mb", "free_disk_gb", "disk_available_least")


def resources(hyp: Hypervisor) -> dict[str, int]:
    """Sizes and use of a node, in the units the API reports."""
    node = hyp.node
    used_ram, used_disk = hyp.used.get("MEMORY_MB", 0), hyp.used.get("DISK_GB", 0)
    return {"vcpus": node.vcpus, "memory_mb": node.memory_mb, "local_gb": node.local_gb,
            "vcpus_used": hyp.used.get("VCPU", 0), "memory_mb_used": used_ram,
            "local_gb_used": used_disk, "free_ram_mb": node.memory_mb - used_ram,
            "free_disk_gb": node.local_gb - used_disk,
            "disk_available_least": node.local_gb - used_disk}


def uptime(hyp: Hypervisor, now: datetime | None = None) -> str | None:
    """How long the node's compute service has been registered, in ``uptime``'s shape;
    None while the service is down (nothing answers for the host)."""
    if hyp.service is None or not hyp.up:
        return None
    now = now or utcnow()
    seconds = int((now - hyp.service.created_at).total_seconds())
    days, rest = divmod(max(seconds, 0), 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    return (f" {now:%H:%M:%S} up {days} days, {hours:2d}:{minutes:02d},  1 user,  "
            "load average: 0.00, 0.00, 0.00")
