"""Host aggregates: named groups of compute hosts with metadata.

An aggregate's ``availability_zone`` metadata makes its hosts a zone. Placement keeps
the same groups as aggregates of the hosts' providers (the conductor mirrors them after
the commit), so ``member_of`` queries see them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.compute_db.models import Aggregate, AggregateHost, AggregateMetadata, Service
from common.db import utcnow
from common.errors import BadRequest, Conflict, NotFound

COMPUTE_BINARY = "kilonova-compute"
DEFAULT_ZONE = "nova"
INTERNAL_ZONE = "internal"
AZ_KEY = "availability_zone"


@dataclass
class AggregateInfo:
    row: Aggregate
    hosts: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def zone(self) -> str | None:
        return self.metadata.get(AZ_KEY)


def _info(session: Session, agg: Aggregate) -> AggregateInfo:
    hosts = session.scalars(sa.select(AggregateHost.host).where(
        AggregateHost.aggregate_id == agg.id).order_by(AggregateHost.id)).all()
    meta = session.execute(sa.select(AggregateMetadata.key, AggregateMetadata.value).where(
        AggregateMetadata.aggregate_id == agg.id)).all()
    return AggregateInfo(agg, list(hosts), {k: v for k, v in meta})


def _row(session: Session, aggregate_id: str) -> Aggregate:
    known = aggregate_id.isdigit() and len(aggregate_id) < 10
    agg = session.get(Aggregate, int(aggregate_id)) if known else None
    if agg is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    return agg


def list_all(session: Session) -> list[AggregateInfo]:
    return [_info(session, a) for a in session.scalars(sa.select(Aggregate)
                                                         .order_by(Aggregate.id)).all()]


def get(session: Session, aggregate_id: str) -> AggregateInfo:
    """One aggregate by its integer id. Raises NotFound."""
    return _info(session, _row(session, aggregate_id))


def host_zones(session: Session) -> dict[str, str]:
    """Host -> the availability zone an aggregate gives it (hosts in none are absent)."""
    rows = session.execute(
        sa.select(AggregateHost.host, AggregateMetadata.value)
        .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
        .where(AggregateMetadata.key == AZ_KEY).order_by(AggregateHost.id)).all()
    return {host: zone for host, zone in rows}


def zone_of(session: Session, host: str) -> str:
    return host_zones(session).get(host, DEFAULT_ZONE)


def _check_zone_name(zone: str | None) -> None:
    if zone is not None and zone == INTERNAL_ZONE:
        raise BadRequest(f"Aggregate's availability zone can't be '{INTERNAL_ZONE}'.")


def create(session: Session, name: str, zone: str | None) -> AggregateInfo:
    """A new aggregate. Raises Conflict when the name is taken."""
    _check_zone_name(zone)
    agg = Aggregate(name=name)
    try:
        with session.begin_nested():
            session.add(agg)
    except IntegrityError:
        raise Conflict(f"Aggregate {name} already exists.") from None
    if zone is not None:
        session.add(AggregateMetadata(aggregate_id=agg.id, key=AZ_KEY, value=zone))
    session.flush()
    return _info(session, agg)


def update(session: Session, aggregate_id: str, name: str | None,
           zone: str | None, zone_given: bool) -> AggregateInfo:
    """Rename an aggregate and/or change its zone. Raises NotFound, Conflict, BadRequest."""
    agg = _row(session, aggregate_id)
    if name is not None and name != agg.name:
        taken = session.scalar(sa.select(Aggregate.id).where(Aggregate.name == name))
        if taken is not None:
            raise Conflict(f"Aggregate {name} already exists.")
        agg.name = name
    if zone_given:
        set_metadata(session, aggregate_id, {AZ_KEY: zone})
    agg.updated_at = utcnow()
    session.flush()
    return _info(session, agg)


def delete(session: Session, aggregate_id: str) -> None:
    """Delete an empty aggregate. Raises NotFound, BadRequest if it still has hosts."""
    info = get(session, aggregate_id)
    if info.hosts:
        raise BadRequest(f"Cannot remove aggregate {aggregate_id}: it still has hosts "
                         f"({', '.join(info.hosts)}); remove them first.")
    session.delete(info.row)
    session.flush()


def _zone_conflict(session: Session, agg: Aggregate, host: str, zone: str | None) -> None:
    """A host is in one zone at most: refuse a change that would give it two."""
    if zone is None:
        return
    others = session.execute(
        sa.select(AggregateMetadata.value)
        .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
        .where(AggregateHost.host == host, AggregateMetadata.key == AZ_KEY,
               AggregateHost.aggregate_id != agg.id)).scalars().all()
    if any(other != zone for other in others):
        raise BadRequest(
            f"Cannot add host {host} to aggregate {agg.id}: the host is in availability "
            f"zone {others[0]} already; a host belongs to one zone only.")


def add_host(session: Session, aggregate_id: str, host: str) -> AggregateInfo:
    """Raises NotFound (aggregate or compute host), Conflict if the host is a member."""
    info = get(session, aggregate_id)
    known = session.scalar(sa.select(Service.id).where(
        Service.host == host, Service.binary == COMPUTE_BINARY))
    if known is None:
        raise NotFound(f"Compute host {host} could not be found.")
    if host in info.hosts:
        raise Conflict(f"Aggregate {aggregate_id} already has host {host}.")
    _zone_conflict(session, info.row, host, info.zone)
    try:
        with session.begin_nested():
            session.add(AggregateHost(aggregate_id=info.row.id, host=host))
    except IntegrityError:
        # Added by a concurrent request since we looked.
        raise Conflict(f"Aggregate {aggregate_id} already has host {host}.") from None
    return _info(session, info.row)


def remove_host(session: Session, aggregate_id: str, host: str) -> AggregateInfo:
    """Raises NotFound when the aggregate is unknown or the host not a member."""
    info = get(session, aggregate_id)
    if host not in info.hosts:
        raise NotFound(f"Cannot remove host {host} in aggregate {aggregate_id}")
    session.execute(sa.delete(AggregateHost).where(
        AggregateHost.aggregate_id == info.row.id, AggregateHost.host == host))
    session.flush()
    return _info(session, info.row)


def remove_host_everywhere(session: Session, host: str) -> list[Aggregate]:
    """Take a deleted host out of every aggregate; return those it was in."""
    aggs = list(session.scalars(sa.select(Aggregate).join(
        AggregateHost, AggregateHost.aggregate_id == Aggregate.id)
        .where(AggregateHost.host == host)).all())
    session.execute(sa.delete(AggregateHost).where(AggregateHost.host == host))
    return aggs


def set_metadata(session: Session, aggregate_id: str,
                 metadata: Mapping[str, str | None]) -> AggregateInfo:
    """Set keys; a None value deletes its key. Raises NotFound, BadRequest."""
    info = get(session, aggregate_id)
    if AZ_KEY in metadata:
        zone = metadata[AZ_KEY]
        _check_zone_name(zone)
        for host in info.hosts:
            _zone_conflict(session, info.row, host, zone)
    for key, value in metadata.items():
        session.execute(sa.delete(AggregateMetadata).where(
            AggregateMetadata.aggregate_id == info.row.id, AggregateMetadata.key == key))
        if value is not None:
            session.add(AggregateMetadata(aggregate_id=info.row.id, key=key, value=value))
    info.row.updated_at = utcnow()
    session.flush()
    return _info(session, info.row)


def zones(session: Session, compute_hosts: Sequence[str]) -> dict[str, list[str]]:
    """Zone name -> its compute hosts; hosts in no zone are in the default one, which is
    always listed."""
    of_host = host_zones(session)
    out: dict[str, list[str]] = {DEFAULT_ZONE: []}
    for host in compute_hosts:
        out.setdefault(of_host.get(host, DEFAULT_ZONE), []).append(host)
    return out
