"""The services of the cloud as operators see them (os-services): every Kilonova
process that keeps a row in ``services`` with its heartbeat.

Clients know upstream's binary names (``nova-compute``); the table keeps ours
(``kilonova-compute``). Both are accepted, upstream's are shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db import queries
from common.compute_db.models import ComputeNode, Instance, Service
from common.errors import BadRequest, Conflict, NotFound
from compute_api import aggregates
from compute_api.aggregates import COMPUTE_BINARY, DEFAULT_ZONE, INTERNAL_ZONE
from compute_api.hypervisors import Hypervisor


def shown_binary(binary: str) -> str:
    return "nova-" + binary.removeprefix("kilonova-")


def stored_binary(name: str) -> str:
    return "kilonova-" + name.removeprefix("kilonova-").removeprefix("nova-")


@dataclass
class ServiceState:
    row: Service
    up: bool
    zone: str


def _state(session: Session, svc: Service, down_time: float,
           zones: dict[str, str] | None = None) -> ServiceState:
    if svc.binary != COMPUTE_BINARY:
        zone = INTERNAL_ZONE
    else:
        zone = (zones if zones is not None else aggregates.host_zones(session)).get(
            svc.host, DEFAULT_ZONE)
    return ServiceState(svc, queries.is_up(svc, down_time), zone)


def list_states(session: Session, down_time: float, host: str | None = None,
                binary: str | None = None) -> list[ServiceState]:
    stmt = sa.select(Service).order_by(Service.id)
    if host is not None:
        stmt = stmt.where(Service.host == host)
    if binary is not None:
        stmt = stmt.where(Service.binary == stored_binary(binary))
    zones = aggregates.host_zones(session)
    return [_state(session, svc, down_time, zones) for svc in session.scalars(stmt).all()]


def state_of(session: Session, svc: Service, down_time: float) -> ServiceState:
    return _state(session, svc, down_time)


def find(session: Session, host: str, binary: str) -> Service:
    """The service of ``host`` and ``binary``. Raises NotFound."""
    svc = queries.get_service(session, host, stored_binary(binary))
    if svc is None:
        raise NotFound(f"Service {binary} on host {host} could not be found.")
    return svc


def find_compute(session: Session, host: str) -> Service:
    """The compute service of ``host``. Raises NotFound."""
    svc = queries.get_service(session, host, COMPUTE_BINARY)
    if svc is None:
        raise NotFound(f"Compute host {host} could not be found.")
    return svc


def host_resources(session: Session, host: str,
                   hyps: Sequence[Hypervisor]) -> list[dict[str, Any]]:
    """os-hosts' view of a host: its size, what placement has given out, what its
    servers' flavors add up to, and that per project."""
    def entry(project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict[str, Any]:
        return {"resource": {"host": host, "project": project, "cpu": cpu,
                             "memory_mb": memory_mb, "disk_gb": disk_gb}}

    out = [entry("(total)", sum(h.node.vcpus for h in hyps),
                 sum(h.node.memory_mb for h in hyps), sum(h.node.local_gb for h in hyps)),
           entry("(used_now)", sum(h.used.get("VCPU", 0) for h in hyps),
                 sum(h.used.get("MEMORY_MB", 0) for h in hyps),
                 sum(h.used.get("DISK_GB", 0) for h in hyps))]
    per_project: dict[str, list[int]] = {}
    for inst in session.scalars(sa.select(Instance).where(
            Instance.host == host, Instance.deleted.is_(False))).all():
        sums = per_project.setdefault(inst.project_id, [0, 0, 0])
        sums[0] += int(inst.flavor.get("vcpus", 0))
        sums[1] += int(inst.flavor.get("memory_mb", 0))
        sums[2] += int(inst.flavor.get("root_gb", 0)) + int(inst.flavor.get("ephemeral_gb", 0))
    used_max = [sum(v[i] for v in per_project.values()) for i in range(3)]
    out.append(entry("(used_max)", *used_max))
    out += [entry(project, *sums) for project, sums in sorted(per_project.items())]
    return out


def by_id(session: Session, service_id: str, as_uuid: bool) -> Service:
    """A service by its integer id (before 2.53) or uuid. Raises BadRequest, NotFound."""
    svc: Service | None
    if as_uuid:
        try:
            wanted = uuid.UUID(service_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {service_id}") from None
        svc = session.scalar(sa.select(Service).where(Service.uuid == wanted))
    else:
        if not service_id.isdigit() or len(service_id) > 9:
            raise BadRequest(f"Invalid ID {service_id}")
        svc = session.get(Service, int(service_id))
    if svc is None:
        raise NotFound(f"Service {service_id} could not be found.")
    return svc


def set_status(svc: Service, disabled: bool, reason: str | None) -> bool:
    """Enable or disable; True when the disabled flag changed (placement must follow)."""
    changed = svc.disabled != disabled
    svc.disabled = disabled
    svc.disabled_reason = reason if disabled else None
    return changed


def update(svc: Service, status: str | None, reason: str | None,
           forced_down: bool | None) -> bool:
    """The 2.53 update. Returns whether the disabled flag changed. Raises BadRequest."""
    if status is None and forced_down is None:
        raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' "
                         "should be specified.")
    if reason is not None and status != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    if svc.binary != COMPUTE_BINARY:
        raise BadRequest(f"Updating a {shown_binary(svc.binary)} service is not supported. "
                         "Only nova-compute services can be updated.")
    changed = False
    if status is not None:
        changed = set_status(svc, status == "disabled", reason)
    if forced_down is not None:
        svc.forced_down = forced_down
    return changed


def delete(session: Session, svc: Service) -> list[uuid.UUID]:
    """Delete a service; for a compute one also its nodes and aggregate memberships.

    Returns the deleted nodes' uuids: their providers go next (with their placement
    aggregates). Raises Conflict while servers are on the host.
    """
    nodes: list[uuid.UUID] = []
    if svc.binary == COMPUTE_BINARY:
        hosting = session.scalar(sa.select(sa.func.count()).select_from(Instance).where(
            Instance.host == svc.host, Instance.deleted.is_(False)))
        if hosting:
            raise Conflict("Unable to delete compute service that is hosting instances. "
                           "Migrate or delete the instances first.")
        rows = session.scalars(sa.select(ComputeNode).where(
            ComputeNode.host == svc.host)).all()
        nodes = [n.uuid for n in rows]
        for node in rows:
            session.delete(node)
        aggregates.remove_host_everywhere(session, svc.host)
    session.delete(svc)
    session.flush()
    return nodes
