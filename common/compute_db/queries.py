"""Statements on the compute database. They flush, never commit; they raise NotFound."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from common.compute_db.models import ComputeNode, Flavor, Image, Instance, InstanceFault, Service
from common.db import utcnow
from common.errors import Conflict, NotFound

# --- services -------------------------------------------------------------------


def upsert_service(session: Session, host: str, binary: str, topic: str | None) -> Service:
    """Create the service row if absent, mark it seen now, return it."""
    svc = session.scalar(sa.select(Service).where(Service.host == host, Service.binary == binary))
    now = utcnow()
    if svc is None:
        svc = Service(host=host, binary=binary, topic=topic, last_seen_up=now)
        try:
            with session.begin_nested():
                session.add(svc)
        except IntegrityError:
            # Another process registered the same service at the same moment.
            svc = session.scalars(
                sa.select(Service).where(Service.host == host, Service.binary == binary)
            ).one()
    svc.last_seen_up = now
    session.flush()
    return svc


def heartbeat(session: Session, host: str, binary: str) -> bool:
    """Record that a service is alive. False if its row does not exist."""
    result = session.execute(
        sa.update(Service)
        .where(Service.host == host, Service.binary == binary)
        .values(last_seen_up=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def get_service(session: Session, host: str, binary: str) -> Service | None:
    return session.scalar(sa.select(Service).where(Service.host == host, Service.binary == binary))


def list_services(session: Session, binary: str | None = None) -> Sequence[Service]:
    stmt = sa.select(Service).order_by(Service.id)
    if binary is not None:
        stmt = stmt.where(Service.binary == binary)
    return session.scalars(stmt).all()


def is_up(svc: Service | None, down_time: float, now: datetime | None = None) -> bool:
    if svc is None or svc.forced_down or svc.last_seen_up is None:
        return False
    return (now or utcnow()) - svc.last_seen_up <= timedelta(seconds=down_time)


# --- compute nodes --------------------------------------------------------------


def upsert_compute_node(session: Session, values: dict[str, Any]) -> ComputeNode:
    node = session.scalar(
        sa.select(ComputeNode).where(
            ComputeNode.hypervisor_hostname == values["hypervisor_hostname"]
        )
    )
    if node is None:
        node = ComputeNode(**values)
        session.add(node)
    else:
        for key, value in values.items():
            setattr(node, key, value)
    session.flush()
    return node


# --- flavors --------------------------------------------------------------------


def create_flavor(session: Session, values: dict[str, Any]) -> Flavor:
    flavor = Flavor(**values)
    try:
        with session.begin_nested():
            session.add(flavor)
    except IntegrityError as exc:
        raise Conflict(
            f"Flavor with name {values['name']} or ID {values['flavorid']} already exists."
        ) from exc
    return flavor


def get_flavor(session: Session, flavorid: str) -> Flavor:
    flavor = session.scalar(sa.select(Flavor).where(Flavor.flavorid == flavorid))
    if flavor is None:
        raise NotFound(f"Flavor {flavorid} could not be found.")
    return flavor


def list_flavors(
    session: Session, *, is_public: bool | None = True, min_ram: int | None = None,
    min_disk: int | None = None, limit: int | None = None, marker: str | None = None,
    sort_key: str = "flavorid", sort_dir: str = "asc",
) -> Sequence[Flavor]:
    stmt = sa.select(Flavor).where(Flavor.disabled.is_(False))
    if is_public is not None:
        stmt = stmt.where(Flavor.is_public.is_(is_public))
    if min_ram is not None:
        stmt = stmt.where(Flavor.memory_mb >= min_ram)
    if min_disk is not None:
        stmt = stmt.where(Flavor.root_gb >= min_disk)
    column = getattr(Flavor, sort_key)
    order = column.desc() if sort_dir == "desc" else column.asc()
    if marker is not None:
        anchor = get_flavor(session, marker)
        value = getattr(anchor, sort_key)
        after = (column < value) if sort_dir == "desc" else (column > value)
        tie = sa.and_(column == value, Flavor.id > anchor.id)
        stmt = stmt.where(sa.or_(after, tie))
    stmt = stmt.order_by(order, Flavor.id.asc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def delete_flavor(session: Session, flavorid: str) -> None:
    session.delete(get_flavor(session, flavorid))
    session.flush()


# --- images ---------------------------------------------------------------------


def get_image(session: Session, image_id: uuid.UUID) -> Image:
    image = session.get(Image, image_id)
    if image is None:
        raise NotFound(f"Image {image_id} could not be found.")
    return image


# --- instances ------------------------------------------------------------------


def add_instances(session: Session, instances: Iterable[Instance]) -> None:
    session.add_all(instances)
    session.flush()


def get_instance(
    session: Session, instance_uuid: uuid.UUID, *, project_id: str | None = None,
    with_faults: bool = False, include_deleted: bool = False,
) -> Instance:
    stmt = sa.select(Instance).where(Instance.uuid == instance_uuid)
    if not include_deleted:
        stmt = stmt.where(Instance.deleted.is_(False))
    if project_id is not None:
        stmt = stmt.where(Instance.project_id == project_id)
    if with_faults:
        stmt = stmt.options(selectinload(Instance.faults))
    instance = session.scalar(stmt)
    if instance is None:
        raise NotFound(f"Instance {instance_uuid} could not be found.")
    return instance


def task_matches(expected: Iterable[str | None]) -> sa.ColumnElement[bool]:
    """``task_state`` is one of ``expected`` (None meaning no task)."""
    wanted = list(expected)
    named = [t for t in wanted if t is not None]
    clauses: list[sa.ColumnElement[bool]] = []
    if named:
        clauses.append(Instance.task_state.in_(named))
    if None in wanted:
        clauses.append(Instance.task_state.is_(None))
    return sa.or_(*clauses) if clauses else sa.false()


def swap_state(
    session: Session, instance_uuid: uuid.UUID, *,
    expected_task: Iterable[str | None], expected_vm: Iterable[str] | None = None,
    values: dict[str, Any], host: str | None = None,
) -> bool:
    """Compare-and-swap the instance's states: update only if they are still as expected.

    Returns False when a concurrent writer got there first (or the instance is gone).
    """
    stmt = sa.update(Instance).where(
        Instance.uuid == instance_uuid, Instance.deleted.is_(False),
        task_matches(expected_task),
    )
    if expected_vm is not None:
        stmt = stmt.where(Instance.vm_state.in_(list(expected_vm)))
    if host is not None:
        stmt = stmt.where(Instance.host == host)
    result = session.execute(
        stmt.values(updated_at=utcnow(), **values).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def deleted_values() -> dict[str, Any]:
    """The column values of a server whose deletion is complete."""
    now = utcnow()
    return {"vm_state": "deleted", "task_state": None, "task_deadline": None,
            "deleted": True, "deleted_at": now, "terminated_at": now}


def add_fault(session: Session, instance: Instance, code: int, message: str,
              details: str | None = None) -> InstanceFault:
    fault = InstanceFault(instance_id=instance.id, code=code, message=message[:4096],
                          details=details)
    session.add(fault)
    session.flush()
    return fault


def latest_fault(session: Session, instance_id: int) -> InstanceFault | None:
    return session.scalar(
        sa.select(InstanceFault)
        .where(InstanceFault.instance_id == instance_id)
        .order_by(InstanceFault.id.desc())
        .limit(1)
    )


def expired_tasks(session: Session, now: datetime, limit: int = 100) -> Sequence[Instance]:
    return session.scalars(
        sa.select(Instance)
        .where(Instance.deleted.is_(False), Instance.task_deadline.is_not(None),
               Instance.task_deadline < now)
        .limit(limit)
    ).all()


def uncleaned_deleted(session: Session, limit: int = 100) -> Sequence[Instance]:
    return session.scalars(
        sa.select(Instance)
        .where(Instance.deleted.is_(True), Instance.cleaned.is_(False))
        .limit(limit)
    ).all()


def mark_cleaned(session: Session, instance_ids: Iterable[int]) -> None:
    ids = list(instance_ids)
    if ids:
        session.execute(sa.update(Instance).where(Instance.id.in_(ids)).values(cleaned=True))
