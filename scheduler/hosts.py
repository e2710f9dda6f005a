"""Host states: placement's view of capacity joined with the compute services' health."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeNode,
    Instance,
    ServerGroup,
    ServerGroupMember,
    Service,
)
from common.compute_db.queries import seen_up
from common.db import utcnow
from scheduler.select import Candidate, HostState

DEFAULT_ZONE = "nova"
# Beyond this many candidates, the host reads take every row and keep the candidates':
# binding a thousand parameters per decision cost more than reading the rest.
MANY = 100
AZ_KEY = "availability_zone"


@dataclass(frozen=True)
class HostInfo:
    """What the compute database says of a candidate's host."""

    host: str
    nodename: str
    up: bool
    disabled: bool
    hypervisor_type: str = ""
    zone: str = DEFAULT_ZONE
    aggregates: tuple[Mapping[str, str], ...] = ()
    num_instances: int = 0
    failed_builds: int = 0


def load_hosts(session: Session, rp_uuids: Iterable[uuid.UUID], down_time: float,
               failures: Mapping[str, int]) -> dict[uuid.UUID, HostInfo]:
    """Map compute node uuid -> its host's health, zone, aggregates and load.

    ``failures``: recent failed builds per host (``recent_failures``), which the caller
    may keep for a few seconds. Two statements in all: every decision asks.
    """
    wanted = set(rp_uuids)
    if not wanted:
        return {}
    live = (sa.select(sa.func.count()).select_from(Instance)
            .where(Instance.host == ComputeNode.host, Instance.deleted.is_(False))
            .correlate(ComputeNode).scalar_subquery())
    # Columns, not entities: a thousand candidates per decision, and ORM loading of
    # whole rows cost more than the query itself.
    stmt = (sa.select(ComputeNode.uuid, ComputeNode.host, ComputeNode.hypervisor_hostname,
                      ComputeNode.hypervisor_type, Service.id, Service.disabled,
                      Service.forced_down, Service.last_seen_up, live)
            .join(Service, sa.and_(Service.host == ComputeNode.host,
                                   Service.binary == "kilonova-compute"), isouter=True))
    many = len(wanted) > MANY
    if not many:
        stmt = stmt.where(ComputeNode.uuid.in_(wanted))
    rows = [row for row in session.execute(stmt).all() if not many or row[0] in wanted]
    now = utcnow()
    aggregates = host_aggregates(session, {row[1] for row in rows}, every=many)
    out = {}
    for (node_uuid, host, nodename, hv_type, svc_id, disabled, forced_down, seen,
         count) in rows:
        metas = aggregates.get(host, ())
        zone = next((m[AZ_KEY] for m in metas if AZ_KEY in m), DEFAULT_ZONE)
        up = svc_id is not None and seen_up(forced_down, seen, down_time, now)
        out[node_uuid] = HostInfo(
            host, nodename, up, bool(svc_id is not None and disabled), hv_type, zone,
            tuple(metas), int(count or 0), failures.get(host, 0))
    return out


def host_aggregates(session: Session, hosts: Iterable[str], every: bool = False
                    ) -> dict[str, tuple[dict[str, str], ...]]:
    """Host -> the metadata of each aggregate it is in (one statement: every scheduling
    decision asks). ``every``: read every host's and keep the asked ones (cheaper than
    a long IN list)."""
    wanted = set(hosts)
    stmt = (sa.select(AggregateHost.host, AggregateHost.aggregate_id, AggregateMetadata.key,
                      AggregateMetadata.value)
            .join(AggregateMetadata,
                  AggregateMetadata.aggregate_id == AggregateHost.aggregate_id, isouter=True))
    if not every:
        stmt = stmt.where(AggregateHost.host.in_(wanted))
    rows = [row for row in session.execute(stmt).all() if row[0] in wanted]
    meta: dict[int, dict[str, str]] = {}
    members: dict[str, dict[int, None]] = {}
    for host, agg_id, key, value in rows:
        metas = meta.setdefault(agg_id, {})
        if key is not None:
            metas[key] = value
        members.setdefault(host, {})[agg_id] = None
    return {host: tuple(meta[agg_id] for agg_id in ids) for host, ids in members.items()}


def zone_aggregates(session: Session, zone: str) -> list[uuid.UUID]:
    """The uuids (placement aggregates) of the aggregates that make ``zone``."""
    return list(session.scalars(
        sa.select(Aggregate.uuid)
        .join(AggregateMetadata, AggregateMetadata.aggregate_id == Aggregate.id)
        .where(AggregateMetadata.key == AZ_KEY, AggregateMetadata.value == zone)).all())


def recent_failures(session: Session, since: datetime) -> dict[str, int]:
    """Host -> builds that failed there since ``since`` (and were tried elsewhere)."""
    counts: dict[str, int] = {}
    tried_elsewhere = sa.cast(Instance.attempted_hosts, sa.String) != "[]"
    for attempted in session.scalars(
            sa.select(Instance.attempted_hosts)
            .where(Instance.updated_at >= since, tried_elsewhere)).all():
        for host in set(attempted or []):
            counts[host] = counts.get(host, 0) + 1
    return counts


def build_candidates(body: dict[str, Any], hosts: dict[uuid.UUID, HostInfo]
                     ) -> list[Candidate]:
    """Turn an allocation-candidates response into candidates tied to compute nodes."""
    summaries = body.get("provider_summaries", {})
    # Providers come as strings: each compute node's string is made once, not per use.
    nodes = {str(node): node for node in hosts}
    out: list[Candidate] = []
    for request in body.get("allocation_requests", []):
        allocations = {
            rp: dict(alloc["resources"]) for rp, alloc in request["allocations"].items()
        }
        rp = next((rp for rp in allocations if rp in nodes), None)
        if rp is None:
            continue
        node_uuid = nodes[rp]
        info = hosts[node_uuid]
        summary = summaries.get(rp, {})
        resources = summary.get("resources", {})
        capacity = {rc: float(v["capacity"]) for rc, v in resources.items()}
        free = {rc: float(v["capacity"] - v["used"]) for rc, v in resources.items()}
        state = HostState(
            info.host, info.nodename, node_uuid, info.up, info.disabled, free, capacity,
            zone=info.zone, aggregates=info.aggregates,
            traits=frozenset(summary.get("traits", ())),
            hypervisor_type=info.hypervisor_type, num_instances=info.num_instances,
            failed_builds=info.failed_builds)
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
