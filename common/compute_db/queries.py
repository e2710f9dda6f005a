"""Statements on the compute database. They flush, never commit; they raise NotFound."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from common.compute_db.models import (
    ComputeNode,
    Flavor,
    FlavorProject,
    Image,
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceFault,
    Migration,
    Service,
)
from common.db import utcnow
from common.errors import Conflict, NotFound
from common.states import MIGRATION_IN_PROGRESS, MigrationStatus

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


def heartbeats(session: Session, hosts: Sequence[str], binary: str) -> int:
    """Record that many services are alive; how many rows there were."""
    result = session.execute(
        sa.update(Service)
        .where(Service.host.in_(list(hosts)), Service.binary == binary)
        .values(last_seen_up=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def missing_services(session: Session, hosts: Sequence[str], binary: str) -> list[str]:
    """Those of ``hosts`` that have no ``binary`` service row."""
    known = set(session.scalars(sa.select(Service.host).where(
        Service.host.in_(list(hosts)), Service.binary == binary)))
    return sorted(set(hosts) - known)


def get_service(session: Session, host: str, binary: str) -> Service | None:
    return session.scalar(sa.select(Service).where(Service.host == host, Service.binary == binary))


def list_services(session: Session, binary: str | None = None) -> Sequence[Service]:
    stmt = sa.select(Service).order_by(Service.id)
    if binary is not None:
        stmt = stmt.where(Service.binary == binary)
    return session.scalars(stmt).all()


def is_up(svc: Service | None, down_time: float, now: datetime | None = None) -> bool:
    if svc is None:
        return False
    return seen_up(svc.forced_down, svc.last_seen_up, down_time, now)


def seen_up(forced_down: bool, last_seen_up: datetime | None, down_time: float,
            now: datetime | None = None) -> bool:
    """A service is up when it beat within ``down_time`` and is not forced down."""
    if forced_down or last_seen_up is None:
        return False
    return (now or utcnow()) - last_seen_up <= timedelta(seconds=down_time)


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


def compute_node_of_host(session: Session, host: str) -> ComputeNode | None:
    return session.scalar(sa.select(ComputeNode).where(ComputeNode.host == host)
                          .order_by(ComputeNode.id).limit(1))


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


def _accessible(project_id: str) -> Any:
    """Flavors a project may use: the public ones and the private ones shared with it."""
    shared = sa.select(FlavorProject.id).where(FlavorProject.flavor_id == Flavor.id,
                                               FlavorProject.project_id == project_id)
    return sa.or_(Flavor.is_public.is_(True), shared.exists())


def get_flavor(session: Session, flavorid: str, project_id: str | None = None) -> Flavor:
    """One flavor; with ``project_id``, only if that project may see it. Raises NotFound."""
    stmt = sa.select(Flavor).where(Flavor.flavorid == flavorid)
    if project_id is not None:
        stmt = stmt.where(_accessible(project_id))
    flavor = session.scalar(stmt)
    if flavor is None:
        raise NotFound(f"Flavor {flavorid} could not be found.")
    return flavor


def list_flavors(
    session: Session, *, is_public: bool | None = True, min_ram: int | None = None,
    min_disk: int | None = None, limit: int | None = None, marker: str | None = None,
    sort_key: str = "flavorid", sort_dir: str = "asc", project_id: str | None = None,
    name: str | None = None,
) -> Sequence[Flavor]:
    """Flavors; ``is_public=True`` also lists private ones shared with ``project_id``;
    ``name`` is a regular expression the name matches."""
    stmt = sa.select(Flavor).where(Flavor.disabled.is_(False))
    if name is not None:
        stmt = stmt.where(Flavor.name.regexp_match(name))
    if is_public and project_id is not None:
        stmt = stmt.where(_accessible(project_id))
    elif is_public is not None:
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
    flavor = get_flavor(session, flavorid)
    session.execute(sa.delete(FlavorProject).where(FlavorProject.flavor_id == flavor.id))
    session.delete(flavor)
    session.flush()


def flavor_projects(session: Session, flavor: Flavor) -> list[str]:
    return list(session.scalars(sa.select(FlavorProject.project_id).where(
        FlavorProject.flavor_id == flavor.id).order_by(FlavorProject.project_id)))


def add_flavor_project(session: Session, flavor: Flavor, project_id: str) -> None:
    """Share a private flavor with a project. Raises Conflict."""
    if flavor.is_public:
        raise Conflict("Can not add access to a public flavor.")
    if project_id in flavor_projects(session, flavor):
        raise Conflict(f"Flavor access already exists for flavor {flavor.flavorid} and "
                       f"project {project_id} combination.")
    session.add(FlavorProject(flavor_id=flavor.id, project_id=project_id))
    session.flush()


def remove_flavor_project(session: Session, flavor: Flavor, project_id: str) -> None:
    """Stop sharing a flavor with a project. Raises NotFound."""
    gone = session.execute(sa.delete(FlavorProject).where(
        FlavorProject.flavor_id == flavor.id, FlavorProject.project_id == project_id))
    if not getattr(gone, "rowcount", 0):
        raise NotFound(f"Flavor access not found for {flavor.flavorid} / {project_id} "
                       "combination.")


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


def resting_since(session: Session, vm_state: str, before: datetime, since: str,
                  limit: int = 100) -> Sequence[uuid.UUID]:
    """Servers in ``vm_state`` with no task whose ``since`` column (``deleted_at``,
    ``shelved_at``) is older than ``before``."""
    column = {"deleted_at": Instance.deleted_at, "shelved_at": Instance.shelved_at}[since]
    return session.scalars(
        sa.select(Instance.uuid)
        .where(Instance.deleted.is_(False), Instance.vm_state == vm_state,
               Instance.task_state.is_(None), column.is_not(None), column < before)
        .order_by(column).limit(limit)
    ).all()


def offloaded_on_a_host(session: Session, limit: int = 100) -> Sequence[uuid.UUID]:
    """SHELVED_OFFLOADED servers, no task running, still recorded on a host (an unshelve
    expired after the scheduler claimed it)."""
    return session.scalars(
        sa.select(Instance.uuid)
        .where(Instance.deleted.is_(False), Instance.vm_state == "shelved_offloaded",
               Instance.task_state.is_(None), Instance.host.is_not(None))
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


# --- instance action events -----------------------------------------------------


def find_action(session: Session, instance_uuid: uuid.UUID, request_id: str
                ) -> InstanceAction | None:
    return session.scalar(
        sa.select(InstanceAction)
        .where(InstanceAction.instance_uuid == instance_uuid,
               InstanceAction.request_id == request_id)
        .order_by(InstanceAction.id.desc()).limit(1))


def start_event(session: Session, instance_uuid: uuid.UUID, request_id: str, event: str,
                host: str | None) -> None:
    """Record that a step of the action of ``request_id`` began (no action: no event)."""
    action = find_action(session, instance_uuid, request_id)
    if action is None:
        return
    session.add(InstanceActionEvent(action_id=action.id, event=event, host=host))
    action.updated_at = utcnow()
    session.flush()


def finish_event(session: Session, instance_uuid: uuid.UUID, request_id: str, event: str,
                 error: str | None = None) -> None:
    """Record a step's result; a failed step marks its action's message "Error"."""
    action = find_action(session, instance_uuid, request_id)
    if action is None:
        return
    row = session.scalar(
        sa.select(InstanceActionEvent)
        .where(InstanceActionEvent.action_id == action.id,
               InstanceActionEvent.event == event)
        .order_by(InstanceActionEvent.id.desc()).limit(1))
    if row is not None and row.finish_time is not None:
        return  # already ended, by the sweeper when its task expired: that stands
    if row is None:
        row = InstanceActionEvent(action_id=action.id, event=event)
        session.add(row)
    row.finish_time = utcnow()
    row.result = "Error" if error else "Success"
    row.details = error
    if error:
        action.message = "Error"
    action.updated_at = utcnow()
    session.flush()


def action_events(session: Session, action_id: int) -> Sequence[InstanceActionEvent]:
    return session.scalars(
        sa.select(InstanceActionEvent).where(InstanceActionEvent.action_id == action_id)
        .order_by(InstanceActionEvent.id)).all()


# --- migrations -----------------------------------------------------------------



def get_migration(session: Session, migration_uuid: uuid.UUID) -> Migration:
    found = session.scalar(sa.select(Migration).where(Migration.uuid == migration_uuid))
    if found is None:
        raise NotFound(f"Migration {migration_uuid} could not be found.")
    return found


def current_migration(session: Session, instance_uuid: uuid.UUID,
                      statuses: Iterable[MigrationStatus] = MIGRATION_IN_PROGRESS
                      ) -> Migration | None:
    """The server's newest migration in one of ``statuses``."""
    return session.scalar(
        sa.select(Migration)
        .where(Migration.instance_uuid == instance_uuid, Migration.status.in_(list(statuses)))
        .order_by(Migration.id.desc()).limit(1))


def set_migration_status(session: Session, migration_uuid: uuid.UUID,
                         status: MigrationStatus,
                         **values: Any) -> None:
    session.execute(sa.update(Migration).where(Migration.uuid == migration_uuid)
                    .values(status=status, updated_at=utcnow(), **values))


def advance_migration(session: Session, migration_uuid: uuid.UUID,
                      seen: Sequence[MigrationStatus], status: MigrationStatus,
                      **values: Any) -> bool:
    """Set the status only if it is one of ``seen`` (compare and swap); False if not."""
    result = session.execute(
        sa.update(Migration).where(Migration.uuid == migration_uuid,
                                   Migration.status.in_(seen))
        .values(status=status, updated_at=utcnow(), **values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def migrations_of_deleted(session: Session, limit: int = 100) -> Sequence[Migration]:
    """Migrations still in progress whose server is deleted."""
    return session.scalars(
        sa.select(Migration)
        .join(Instance, Instance.uuid == Migration.instance_uuid)
        .where(Instance.deleted.is_(True), Migration.status.in_(MIGRATION_IN_PROGRESS))
        .limit(limit)).all()


def fail_open_events(session: Session, instance_uuid: uuid.UUID, message: str) -> None:
    """Finish the server's unfinished action events as errors (their task expired); the
    latest action failed too, even if no step of it began (its message was lost)."""
    rows = session.execute(
        sa.select(InstanceActionEvent, InstanceAction)
        .join(InstanceAction, InstanceAction.id == InstanceActionEvent.action_id)
        .where(InstanceAction.instance_uuid == instance_uuid,
               InstanceActionEvent.finish_time.is_(None))).all()
    now = utcnow()
    for event, action in rows:
        event.finish_time, event.result, event.details = now, "Error", message
        action.message, action.updated_at = "Error", now
    latest = session.scalar(sa.select(InstanceAction)
                            .where(InstanceAction.instance_uuid == instance_uuid)
                            .order_by(InstanceAction.id.desc()).limit(1))
    if latest is not None and latest.message is None:
        latest.message, latest.updated_at = "Error", now
    session.flush()
