"""Usage of servers over a period (os-simple-tenant-usage): hours each server ran
within it, and the resources those hours held."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import Instance
from common.db import utcnow
from common.errors import BadRequest

FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def parse_time(text: str | None) -> datetime:
    """A period bound as upstream accepts it; absent means now. Raises BadRequest."""
    if text is None:
        return utcnow()
    for fmt in FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise BadRequest(f"Invalid datetime string: {text}")


@dataclass
class ServerUsage:
    inst: Instance
    hours: float
    now: datetime

    @property
    def local_gb(self) -> int:
        return int(self.inst.flavor.get("root_gb", 0)) + int(
            self.inst.flavor.get("ephemeral_gb", 0))


@dataclass
class ProjectUsage:
    project_id: str
    servers: list[ServerUsage] = field(default_factory=list)

    def total(self, key: str) -> float:
        if key == "hours":
            return sum(s.hours for s in self.servers)
        if key == "local_gb":
            return sum(s.hours * s.local_gb for s in self.servers)
        return sum(s.hours * int(s.inst.flavor.get(key, 0)) for s in self.servers)


def _hours(inst: Instance, start: datetime, stop: datetime) -> float:
    assert inst.launched_at is not None
    began = max(inst.launched_at, start)
    ended = min(inst.terminated_at or stop, stop)
    return max((ended - began).total_seconds(), 0.0) / 3600


def servers_in(session: Session, start: datetime, stop: datetime,
               project_id: str | None = None, limit: int | None = None,
               marker: str | None = None) -> Sequence[Instance]:
    """Servers (deleted ones too) that ran some time within [start, stop), by id."""
    if start >= stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end "
                         "time.")
    stmt = sa.select(Instance).where(
        Instance.launched_at.is_not(None), Instance.launched_at < stop,
        sa.or_(Instance.terminated_at.is_(None), Instance.terminated_at > start))
    if project_id is not None:
        stmt = stmt.where(Instance.project_id == project_id)
    if marker is not None:
        try:
            anchor = session.scalar(sa.select(Instance.id).where(
                Instance.uuid == uuid.UUID(marker)))
        except ValueError:
            anchor = None
        if anchor is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        stmt = stmt.where(Instance.id > anchor)
    stmt = stmt.order_by(Instance.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def by_project(instances: Sequence[Instance], start: datetime,
               stop: datetime) -> list[ProjectUsage]:
    now = utcnow()
    out: dict[str, ProjectUsage] = {}
    for inst in instances:
        usage = out.setdefault(inst.project_id, ProjectUsage(inst.project_id))
        usage.servers.append(ServerUsage(inst, _hours(inst, start, stop), now))
    return list(out.values())
