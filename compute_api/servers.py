"""Servers: create, read, list and delete instance records, then hand work to the conductor."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db import queries
from common.compute_db.models import Flavor, Image, Instance, InstanceFault, Service
from common.context import RequestContext
from common.db import transaction, utcnow
from common.errors import BadRequest, Conflict, NotFound
from common.states import Action, TaskState, VmState, allowed, vm_states_for_status
from compute_api.api.microversion import Version
from compute_api.api.schemas import ServerCreate
from compute_api.runtime import Runtime

LOG = logging.getLogger(__name__)

COMPUTE_BINARY = "kilonova-compute"


def flavor_snapshot(flavor: Flavor) -> dict[str, object]:
    """The flavor as the server keeps it, unaffected by later flavor changes."""
    return {"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
            "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb,
            "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
            "extra_specs": dict(flavor.extra_specs or {})}


def _resolve_flavor(session: Session, ref: str) -> Flavor:
    try:
        flavor = queries.get_flavor(session, ref)
    except NotFound:
        raise BadRequest("Invalid flavorRef provided.") from None
    if flavor.disabled:
        raise BadRequest("Invalid flavorRef provided.")
    return flavor


def _resolve_image(session: Session, ref: str | None, flavor: Flavor) -> Image | None:
    if ref is None:
        raise BadRequest("Invalid input for field/attribute imageRef. imageRef is required "
                         "when not booting from a volume")
    image = session.get(Image, uuid.UUID(ref))
    if image is None:
        raise BadRequest("Can not find requested image")
    if image.status != "active":
        raise BadRequest(f"Image {ref} is not active.")
    if flavor.memory_mb < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    if flavor.root_gb and flavor.root_gb < image.min_disk:
        raise BadRequest("Flavor's disk is too small for requested image.")
    return image


def _check_networks(body: ServerCreate, version: Version) -> None:
    if version.at_least("2.37"):
        if body.networks is None:
            raise BadRequest("Invalid input for field/attribute networks. 'networks' is a "
                             "required property")
    elif isinstance(body.networks, str):
        raise BadRequest(f"Invalid input for field/attribute networks. Value: "
                         f"{body.networks}. '{body.networks}' is not of type 'array'")
    if isinstance(body.networks, list) and body.networks:
        raise BadRequest("Networking is not available in this cloud yet: use networks "
                         "'none' (microversion 2.37 or later).")


@dataclass
class Created:
    instances: list[Instance]
    reservation_id: str
    admin_pass: str


def create(session: Session, ctx: RequestContext, body: ServerCreate, version: Version,
           build_timeout: int) -> Created:
    """Validate and insert the servers of one request (building/scheduling)."""
    _check_networks(body, version)
    max_count = body.max_count or body.min_count
    if body.min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    if body.description is not None and not version.at_least("2.19"):
        raise BadRequest("Additional properties are not allowed ('description' was "
                         "unexpected)")
    flavor = _resolve_flavor(session, str(body.flavorRef))
    _resolve_image(session, body.imageRef, flavor)
    reservation_id = f"r-{secrets.token_hex(4)}"
    now = utcnow()
    instances = []
    for index in range(max_count):
        name = body.name if max_count == 1 else f"{body.name}-{index + 1}"
        instances.append(Instance(
            display_name=name, description=body.description,
            project_id=ctx.project_id, user_id=ctx.user_id,
            image_ref=body.imageRef, flavor=flavor_snapshot(flavor),
            vm_state=VmState.BUILDING, task_state=TaskState.SCHEDULING,
            task_deadline=now + timedelta(seconds=build_timeout),
            availability_zone=body.availability_zone, key_name=body.key_name,
            user_data=body.user_data, metadata_items=dict(body.metadata),
            access_ip_v4=body.accessIPv4, access_ip_v6=body.accessIPv6,
            config_drive="True" if body.config_drive in (True, "True", "true") else "",
            reservation_id=reservation_id, launch_index=index, attempted_hosts=[],
            created_at=now, updated_at=now,
        ))
    queries.add_instances(session, instances)
    return Created(instances, reservation_id, body.adminPass or secrets.token_urlsafe(9))


def get(session: Session, ctx: RequestContext, server_id: str
        ) -> tuple[Instance, InstanceFault | None]:
    """One server visible to ``ctx`` and its newest fault. Raises NotFound."""
    try:
        instance_uuid = uuid.UUID(server_id)
    except ValueError:
        raise NotFound(f"Instance {server_id} could not be found.") from None
    inst = queries.get_instance(session, instance_uuid,
                                project_id=None if ctx.is_admin else ctx.project_id)
    return inst, queries.latest_fault(session, inst.id)


@dataclass
class ListQuery:
    limit: int
    marker: str | None = None
    name: str | None = None
    status: str | None = None
    changes_since: datetime | None = None
    all_tenants: bool = False
    project_id: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"


SORT_KEYS = {"created_at", "display_name", "updated_at", "vm_state", "task_state",
             "uuid", "launched_at", "host", "node", "project_id", "user_id"}


def list_servers(session: Session, ctx: RequestContext, q: ListQuery) -> Sequence[Instance]:
    stmt: sa.Select[Instance] = sa.select(Instance)
    if q.changes_since is None:
        stmt = stmt.where(Instance.deleted.is_(False))
    else:
        stmt = stmt.where(Instance.updated_at >= q.changes_since)
    if not (ctx.is_admin and q.all_tenants):
        stmt = stmt.where(Instance.project_id == ctx.project_id)
    elif q.project_id:
        stmt = stmt.where(Instance.project_id == q.project_id)
    if q.name:
        stmt = stmt.where(Instance.display_name.contains(q.name, autoescape=True))
    if q.status:
        states = vm_states_for_status(q.status)
        if not states:
            return []
        stmt = stmt.where(Instance.vm_state.in_([s.value for s in states]))
    stmt = _paginate(session, stmt, q)
    return session.scalars(stmt).all()


def _paginate(session: Session, stmt: sa.Select[Instance],
              q: ListQuery) -> sa.Select[Instance]:
    if q.sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort_key {q.sort_key}")
    column = getattr(Instance, q.sort_key)
    desc = q.sort_dir == "desc"
    if q.marker is not None:
        try:
            anchor = session.scalar(sa.select(Instance).where(
                Instance.uuid == uuid.UUID(q.marker)))
        except ValueError:
            anchor = None
        if anchor is None:
            raise BadRequest(f"marker [{q.marker}] not found")
        value = getattr(anchor, q.sort_key)
        beyond = column < value if desc else column > value
        tie = sa.and_(column == value, Instance.id < anchor.id if desc
                      else Instance.id > anchor.id)
        stmt = stmt.where(sa.or_(beyond, tie))
    order = [column.desc(), Instance.id.desc()] if desc else [column.asc(), Instance.id.asc()]
    return stmt.order_by(*order).limit(q.limit)


def latest_faults(session: Session, instances: Sequence[Instance]) -> dict[int, InstanceFault]:
    """Newest fault per errored instance, in one query."""
    ids = [i.id for i in instances if i.vm_state == VmState.ERROR]
    if not ids:
        return {}
    rows = session.scalars(
        sa.select(InstanceFault).where(InstanceFault.instance_id.in_(ids))
        .order_by(InstanceFault.id)
    ).all()
    return {f.instance_id: f for f in rows}


def _host_up(session: Session, host: str, down_time: float) -> bool:
    svc = session.scalar(sa.select(Service).where(Service.host == host,
                                                  Service.binary == COMPUTE_BINARY))
    return queries.is_up(svc, down_time)


@dataclass
class DeletePlan:
    instance_uuid: uuid.UUID
    host: str | None  # None: deleted locally, only the allocations remain to release


DELETE_ATTEMPTS = 5


def delete(session: Session, ctx: RequestContext, server_id: str, runtime: Runtime
           ) -> DeletePlan | None:
    """Start deleting a server. Returns what to do after commit (None: already deleting).

    A concurrent state change (the conductor moving a build along) makes the
    compare-and-swap miss: re-read and try again a bounded number of times.
    """
    for _ in range(DELETE_ATTEMPTS):
        inst, _fault = get(session, ctx, server_id)
        if inst.task_state == TaskState.DELETING:
            return None
        if not allowed(Action.DELETE, inst.vm_state, inst.task_state):
            raise Conflict(f"Cannot 'delete' instance {inst.uuid} while it is in vm_state "
                           f"{inst.vm_state}")
        plan = _try_delete(session, inst, runtime)
        if plan is not None:
            return plan
        session.expire(inst)
    raise Conflict(f"Instance {server_id} kept changing while it was being deleted; retry")


def _try_delete(session: Session, inst: Instance, runtime: Runtime) -> DeletePlan | None:
    settings = runtime.settings
    local = inst.host is None or not _host_up(session, inst.host,
                                                settings.service.service_down_time)
    values = (queries.deleted_values() if local else
              {"task_state": TaskState.DELETING,
               "task_deadline": utcnow() + timedelta(seconds=settings.conductor.task_timeout)})
    if not queries.swap_state(session, inst.uuid, expected_task=[inst.task_state],
                              expected_vm=[inst.vm_state], values=values):
        return None
    return DeletePlan(inst.uuid, None if local else inst.host)


def finish_delete(runtime: Runtime, ctx: RequestContext, plan: DeletePlan) -> None:
    """After commit: ask the host's agent to destroy the guest, or release allocations."""
    if plan.host is not None:
        runtime.compute.terminate_instance(ctx, plan.host, plan.instance_uuid)
        return
    runtime.placement.delete_allocations(plan.instance_uuid)
    with transaction(runtime.sessions) as session:
        session.execute(sa.update(Instance).where(Instance.uuid == plan.instance_uuid)
                        .values(cleaned=True))
