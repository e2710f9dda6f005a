"""Host states: placement's view of capacity joined with the compute services' health."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import (
    ComputeNode,
    Instance,
    ServerGroup,
    ServerGroupMember,
    Service,
)
from common.compute_db.queries import is_up
from common.db import utcnow
from scheduler.select import Candidate, HostState


def load_hosts(session: Session, rp_uuids: Iterable[uuid.UUID],
               down_time: float) -> dict[uuid.UUID, tuple[str, str, bool, bool]]:
    """Map compute node uuid -> (host, nodename, up, disabled) for the given providers."""
    wanted = list(rp_uuids)
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(ComputeNode, Service)
        .join(Service, sa.and_(Service.host == ComputeNode.host,
                               Service.binary == "kilonova-compute"), isouter=True)
        .where(ComputeNode.uuid.in_(wanted))
    ).all()
    now = utcnow()
    return {
        node.uuid: (node.host, node.hypervisor_hostname, is_up(svc, down_time, now),
                    bool(svc is not None and svc.disabled))
        for node, svc in rows
    }


def build_candidates(body: dict[str, Any],
                     hosts: dict[uuid.UUID, tuple[str, str, bool, bool]]) -> list[Candidate]:
    """Turn an allocation-candidates response into candidates tied to compute nodes."""
    summaries = body.get("provider_summaries", {})
    out: list[Candidate] = []
    for request in body.get("allocation_requests", []):
        allocations = {
            rp: dict(alloc["resources"]) for rp, alloc in request["allocations"].items()
        }
        node_uuid = next((uuid.UUID(rp) for rp in allocations if uuid.UUID(rp) in hosts), None)
        if node_uuid is None:
            continue
        host, nodename, up, disabled = hosts[node_uuid]
        resources = summaries.get(str(node_uuid), {}).get("resources", {})
        capacity = {rc: float(v["capacity"]) for rc, v in resources.items()}
        free = {rc: float(v["capacity"] - v["used"]) for rc, v in resources.items()}
        state = HostState(host, nodename, node_uuid, up, disabled, free, capacity)
        out.append(Candidate(state, allocations))
    return out


def hosts_of_providers(session: Session, rp_uuids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = list(rp_uuids)
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(ComputeNode.uuid, ComputeNode.host).where(ComputeNode.uuid.in_(wanted))
    ).all()
    return {node_uuid: host for node_uuid, host in rows}


def candidate_providers(body: dict[str, Any]) -> set[uuid.UUID]:
    return {uuid.UUID(rp) for req in body.get("allocation_requests", [])
            for rp in req["allocations"]}


def requested_nodes(session: Session, host: str | None, node: str | None) -> list[uuid.UUID]:
    """Compute node uuids matching a requested host and/or hypervisor hostname."""
    stmt = sa.select(ComputeNode.uuid)
    if host is not None:
        stmt = stmt.where(ComputeNode.host == host)
    if node is not None:
        stmt = stmt.where(ComputeNode.hypervisor_hostname == node)
    return list(session.scalars(stmt).all())


def group_members(session: Session, group_uuid: uuid.UUID,
                  exclude: uuid.UUID) -> list[uuid.UUID]:
    """The live members of a server group now, other than ``exclude``."""
    return list(session.scalars(
        sa.select(ServerGroupMember.instance_uuid)
        .join(ServerGroup, ServerGroup.id == ServerGroupMember.group_id)
        .join(Instance, Instance.uuid == ServerGroupMember.instance_uuid)
        .where(ServerGroup.uuid == group_uuid, ServerGroupMember.instance_uuid != exclude,
               Instance.deleted.is_(False))
    ).all())
