"""Servers: read, update, list and delete instance records, then hand work to the conductor
(creating them: ``compute_api.server_create``)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from common import policy
from common.compute_db import queries
from common.compute_db.models import (
    Flavor,
    Image,
    Instance,
    InstanceFault,
    Service,
)
from common.compute_db.network_models import IpAllocation, Port
from common.compute_db.transition import Record, seen, transition
from common.context import RequestContext
from common.db import utcnow
from common.errors import BadRequest, Conflict, NotFound
from common.states import (
    Action,
    TaskState,
    VmState,
    allowed,
    vm_states_for_status,
)
from compute_api import aggregates, server_items
from compute_api.images.source import ImageRecord
from compute_api.runtime import Runtime

LOG = logging.getLogger(__name__)

COMPUTE_BINARY = "kilonova-compute"


@dataclass(frozen=True)
class Accepts:
    """What a create or update may carry at the request's microversion, which the HTTP
    layer reads; the checks and their messages stay here."""

    # The microversion-bound fields it may carry (server_create.VERSIONED_CREATE,
    # pinned_availability_zone).
    fields: frozenset[str]
    # networks is required and may be 'auto' or 'none' (2.37).
    networks_required: bool
    # A hostname may be a FQDN of up to 255 characters (2.94).
    fqdn_hostname: bool


@dataclass(frozen=True)
class ServerChanges:
    """An update as the HTTP layer validated it (``ServerUpdate``): only the ``given``
    fields change, and a given null clears description, the addresses and the zone pin."""

    given: frozenset[str]
    name: str | None = None
    hostname: str | None = None
    description: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    pinned_availability_zone: str | None = None
    disk_config: str | None = None


def unexpected_field(field_name: str) -> BadRequest:
    return BadRequest(f"Additional properties are not allowed ('{field_name}' was "
                      "unexpected)")


HOSTNAME_CHARS = re.compile(r"[a-zA-Z0-9.\-_]*")


def check_hostname(value: str, fqdn: bool) -> str:
    """A requested hostname: 2.90 allows 2-63 characters, 2.94 a FQDN up to 255.

    Raises BadRequest with upstream's field message.
    """
    problem = None
    if not HOSTNAME_CHARS.fullmatch(value):
        problem = f"'{value}' does not match '^[a-zA-Z0-9-._]*$'"
    elif fqdn and not 1 <= len(value) <= 255:
        problem = f"'{value}' is too long" if value else f"'{value}' is too short"
    elif fqdn and any(not 1 <= len(label) <= 63 for label in value.rstrip(".").split(".")):
        problem = f"'{value}' has a label that is empty or longer than 63 characters"
    elif not fqdn and len(value) > 63:
        problem = f"'{value}' is too long"
    elif not fqdn and len(value) < 2:
        problem = f"'{value}' is too short"
    if problem is not None:
        raise BadRequest(f"Invalid input for field/attribute hostname. Value: {value}. "
                         f"{problem}")
    return value


def flavor_snapshot(flavor: Flavor) -> dict[str, object]:
    """The flavor as the server keeps it, unaffected by later flavor changes."""
    return {"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus,
            "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb,
            "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
            "extra_specs": dict(flavor.extra_specs or {})}


def all_tenants_rule() -> str:
    """The all_tenants rule of the list being served (servers:index or servers:detail)."""
    route = policy.current_rule()
    if route == "os_compute_api:servers:detail":
        return "os_compute_api:servers:detail:get_all_tenants"
    return "os_compute_api:servers:index:get_all_tenants"


def check_auto_disk_config(image_id: Any, properties: Mapping[str, Any] | None,
                           disk_config: str | None) -> None:
    """AUTO is refused for an image whose ``auto_disk_config`` property is "disabled",
    as upstream refuses it. Raises BadRequest."""
    if disk_config == "AUTO" and str((properties or {}).get(
            "auto_disk_config", "")).lower() == "disabled":
        raise BadRequest(f"Requested image {image_id} has automatic disk resize disabled.")


def image_meta(image: Image | ImageRecord | None) -> dict[str, str]:
    """The image metadata a server keeps from its boot image (shown at 2.98)."""
    if image is None:
        return {}
    meta = {"base_image_ref": str(image.id), "min_disk": str(image.min_disk),
            "min_ram": str(image.min_ram)}
    if image.container_format:
        meta["container_format"] = image.container_format
    if image.disk_format:
        meta["disk_format"] = image.disk_format
    meta.update({key: str(value) for key, value in (image.properties or {}).items()})
    return meta


def update(session: Session, ctx: RequestContext, server_id: str, changes: ServerChanges,
           accepts: Accepts) -> Instance:
    """Rename or re-describe a server. Raises NotFound, BadRequest."""
    if changes.description is not None and "description" not in accepts.fields:
        raise unexpected_field("description")
    if changes.hostname is not None:
        if "hostname" not in accepts.fields:
            raise unexpected_field("hostname")
        check_hostname(changes.hostname, fqdn=accepts.fqdn_hostname)
    fields = changes.given
    if "pinned_availability_zone" in fields and "pinned_availability_zone" not in accepts.fields:
        raise unexpected_field("pinned_availability_zone")
    inst = find(session, ctx, server_id)
    if "pinned_availability_zone" in fields:
        _pin(session, inst, changes.pinned_availability_zone)
    if "name" in fields and changes.name is not None:
        inst.display_name = changes.name
    if changes.hostname is not None:
        inst.hostname = changes.hostname
    if "description" in fields:
        inst.description = changes.description
    if "access_ip_v4" in fields:
        inst.access_ip_v4 = changes.access_ip_v4
    if "access_ip_v6" in fields:
        inst.access_ip_v6 = changes.access_ip_v6
    if changes.disk_config is not None:
        inst.disk_config = changes.disk_config
    inst.updated_at = utcnow()
    session.flush()
    return inst


def current_zone(session: Session, inst: Instance) -> str:
    """The zone a server is in, as ``OS-EXT-AZ:availability_zone`` shows it: its host's."""
    if inst.host:
        return aggregates.zone_of(session, inst.host)
    return (inst.availability_zone or "").partition(":")[0] or aggregates.DEFAULT_ZONE


def _pin(session: Session, inst: Instance, zone: str | None) -> None:
    """Unpin a server from its zone (None) or pin it to the zone it is in (2.104).
    Raises Conflict for another zone, or to change one pin into another."""
    pinned = (inst.availability_zone or "").partition(":")[0] or None
    if zone is None:
        inst.availability_zone = None
    elif pinned is not None:
        if zone != pinned:
            raise Conflict("Cannot change pinned availability zone directly. Unpin first "
                           "by setting pinned_availability_zone to null.")
    elif zone != (here := current_zone(session, inst)):
        raise Conflict(f"Server can only be pinned to its current availability zone "
                       f"'{here}', but '{zone}' was requested.")
    else:
        inst.availability_zone = zone


def get(session: Session, ctx: RequestContext, server_id: str
        ) -> tuple[Instance, InstanceFault | None]:
    """One server visible to ``ctx`` and its newest fault. Raises NotFound."""
    inst = find(session, ctx, server_id)
    return inst, queries.latest_fault(session, inst.id)


def find(session: Session, ctx: RequestContext, server_id: str) -> Instance:
    """One server visible to ``ctx``, for callers that show no fault (one read fewer
    than ``get``). Raises NotFound."""
    try:
        instance_uuid = uuid.UUID(server_id)
    except ValueError:
        raise NotFound(f"Instance {server_id} could not be found.") from None
    return queries.get_instance(session, instance_uuid,
                                project_id=None if ctx.is_admin else ctx.project_id)


def latest_fault(session: Session, inst: Instance) -> InstanceFault | None:
    return queries.latest_fault(session, inst.id)


@dataclass
class ListQuery:
    limit: int
    marker: str | None = None
    status: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    locked: bool | None = None
    deleted: bool | None = None
    tags: list[str] | None = None
    tags_any: list[str] | None = None
    not_tags: list[str] | None = None
    not_tags_any: list[str] | None = None
    all_tenants: bool = False
    project_id: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    # Other filters by upstream parameter name (already limited to what ctx may use).
    filters: dict[str, str] = field(default_factory=dict)


# Upstream sort keys -> our columns; keys without a column here do not affect order.
SORT_COLUMNS: dict[str, Any] = {
    "access_ip_v4": Instance.access_ip_v4, "access_ip_v6": Instance.access_ip_v6,
    "availability_zone": Instance.availability_zone, "config_drive": Instance.config_drive,
    "created_at": Instance.created_at, "display_description": Instance.description,
    "display_name": Instance.display_name, "host": Instance.host,
    "hostname": Instance.hostname, "image_ref": Instance.image_ref,
    "key_name": Instance.key_name, "launch_index": Instance.launch_index,
    "launched_at": Instance.launched_at, "locked": Instance.locked, "node": Instance.node,
    "power_state": Instance.power_state, "progress": Instance.progress,
    "project_id": Instance.project_id, "task_state": Instance.task_state,
    "terminated_at": Instance.terminated_at, "updated_at": Instance.updated_at,
    "user_id": Instance.user_id, "uuid": Instance.uuid, "vm_state": Instance.vm_state,
}
# Filters matched as regular expressions (upstream's regex parameters) and exactly.
_REGEX_COLUMNS: dict[str, Any] = {
    "name": Instance.display_name, "display_name": Instance.display_name,
    "description": Instance.description, "display_description": Instance.description,
    "hostname": Instance.hostname, "node": Instance.node, "key_name": Instance.key_name,
    "reservation_id": Instance.reservation_id,
    "availability_zone": Instance.availability_zone,
    "access_ip_v4": Instance.access_ip_v4, "access_ip_v6": Instance.access_ip_v6,
}
_EXACT_COLUMNS: dict[str, Any] = {
    "user_id": Instance.user_id, "image": Instance.image_ref,
    "image_ref": Instance.image_ref, "vm_state": Instance.vm_state,
    "task_state": Instance.task_state, "host": Instance.host, "uuid": Instance.uuid,
}
_INT_COLUMNS: dict[str, Any] = {
    "power_state": Instance.power_state, "progress": Instance.progress,
    "launch_index": Instance.launch_index,
}
_SINCE_COLUMNS: dict[str, Any] = {
    "created_at": Instance.created_at, "launched_at": Instance.launched_at,
    "terminated_at": Instance.terminated_at,
}
# Parameters that match nothing here: no server has these set (no kernel/ramdisk ids,
# no addresses without networking).
_NEVER_SET = {"kernel_id", "ramdisk_id", "locked_by", "root_device_name"}


def _filter_clause(name: str, value: str) -> Any:
    """The WHERE clause of one filter, or None when it cannot match anything."""
    if name in _REGEX_COLUMNS:
        return _REGEX_COLUMNS[name].regexp_match(value)
    if name in _EXACT_COLUMNS:
        column = _EXACT_COLUMNS[name]
        if name == "uuid":
            try:
                return column == uuid.UUID(value)
            except ValueError:
                return None
        if name in ("image", "image_ref"):
            value = value.rstrip("/").rsplit("/", 1)[-1]
        return column == value
    if name in _INT_COLUMNS:
        try:
            return _INT_COLUMNS[name] == int(value)
        except ValueError:
            return None
    if name in _SINCE_COLUMNS:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                             f"'{value}' is not a 'date-time'") from None
        return _SINCE_COLUMNS[name] >= moment
    if name == "flavor":
        return Instance.flavor["flavorid"].as_string() == value
    if name == "config_drive":
        return Instance.config_drive == ("True" if value.lower() in ("true", "1") else "")
    if name == "auto_disk_config":
        auto = value.lower() in ("true", "1")
        return Instance.disk_config == "AUTO" if auto else Instance.disk_config != "AUTO"
    if name in _NEVER_SET:
        return None
    return sa.true()


def _address_filter(session: Session, pattern: str, version: int,
                    project: str | None) -> Any:
    """Servers holding a fixed address of ``version`` that the regular expression finds,
    as upstream's ``ip`` and ``ip6`` filters: the builtin network's ports, or the
    addresses recorded from an external Neutron (``[network] backend = neutron``)."""
    holders = (sa.select(sa.type_coerce(Port.device_id, Instance.uuid.type))
               .join(IpAllocation, IpAllocation.port_id == Port.id)
               .where(IpAllocation.ip_address.regexp_match(pattern),
                      IpAllocation.ip_address.contains(":") if version == 6
                      else ~IpAllocation.ip_address.contains(":")))
    external = _external_holders(session, pattern, version, project)
    if not external:
        return Instance.uuid.in_(holders)
    return sa.or_(Instance.uuid.in_(holders), Instance.uuid.in_(external))


def _external_holders(session: Session, pattern: str, version: int,
                      project: str | None) -> list[uuid.UUID]:
    """Live servers (of ``project``; None: every project's) with ports in an external
    Neutron holding a matching fixed address (none at all with the builtin network: the
    index on ``ports_host`` answers)."""
    try:
        found = re.compile(pattern)
    except re.error:
        return []
    wanted: list[sa.ColumnElement[bool]] = [Instance.ports_host.is_not(None),
                                           Instance.deleted.is_(False)]
    if project is not None:
        wanted.append(Instance.project_id == project)
    out = []
    for instance_uuid, addresses in session.execute(
            sa.select(Instance.uuid, Instance.addresses).where(*wanted)):
        if any(a.get("OS-EXT-IPS:type") == "fixed" and a.get("version") == version
               and found.search(str(a.get("addr", "")))
               for shown in (addresses or {}).values() for a in shown):
            out.append(instance_uuid)
    return out


def list_servers(session: Session, ctx: RequestContext, q: ListQuery,
                 brief: bool = False) -> Sequence[Instance]:
    """Servers ``ctx`` may list, filtered, sorted and paged.

    ``brief`` loads only what the brief view shows (and the paging keys).
    """
    stmt: sa.Select[Instance] = sa.select(Instance)
    if brief:
        stmt = stmt.options(load_only(Instance.id, Instance.uuid, Instance.display_name,
                                      *{SORT_COLUMNS[k] for k, _ in q.sort
                                        if k in SORT_COLUMNS}, raiseload=True))
    if q.deleted is not None:
        stmt = stmt.where(Instance.deleted.is_(q.deleted))
    elif q.changes_since is None and q.changes_before is None:
        stmt = stmt.where(Instance.deleted.is_(False))
    if q.changes_since is not None:
        stmt = stmt.where(Instance.updated_at >= q.changes_since)
    if q.changes_before is not None:
        stmt = stmt.where(Instance.updated_at <= q.changes_before)
    if q.locked is not None:
        stmt = stmt.where(Instance.locked.is_(q.locked))
    stmt = server_items.filter_tags(stmt, q.tags, q.tags_any, q.not_tags, q.not_tags_any)
    project: str | None = None
    if not (q.all_tenants and policy.allowed(ctx, all_tenants_rule())):
        project = ctx.project_id
        stmt = stmt.where(Instance.project_id == ctx.project_id)
    elif q.project_id:
        project = q.project_id
        stmt = stmt.where(Instance.project_id == q.project_id)
    for name, value in q.filters.items():
        clause = (_address_filter(session, value, 6 if name == "ip6" else 4, project)
                  if name in ("ip", "ip6") else _filter_clause(name, value))
        if clause is None:
            return []
        stmt = stmt.where(clause)
    if q.status:
        states = vm_states_for_status(q.status)
        if not states:
            return []
        stmt = stmt.where(Instance.vm_state.in_([s.value for s in states]))
    stmt = _paginate(session, stmt, q)
    return session.scalars(stmt).all()


def _paginate(session: Session, stmt: sa.Select[Instance],
              q: ListQuery) -> sa.Select[Instance]:
    """Keyset pagination over the sort keys and the id; NULL sorts as the smallest value."""
    keys = [(SORT_COLUMNS[key], direction == "desc") for key, direction in q.sort
            if key in SORT_COLUMNS]
    keys.append((Instance.id, keys[-1][1] if keys else True))
    if q.marker is not None:
        try:
            anchor = session.scalar(sa.select(Instance).where(
                Instance.uuid == uuid.UUID(q.marker)))
        except ValueError:
            anchor = None
        if anchor is None:
            raise BadRequest(f"marker [{q.marker}] not found")
        stmt = stmt.where(_after(anchor, keys))
    order = [column.desc().nulls_last() if desc else column.asc().nulls_first()
             for column, desc in keys]
    return stmt.order_by(*order).limit(q.limit)


def _after(anchor: Instance, keys: list[tuple[Any, bool]]) -> Any:
    """Rows strictly after ``anchor`` in the order of ``keys``."""
    alternatives = []
    equal: list[Any] = []
    for column, desc in keys:
        value = getattr(anchor, column.key)
        if value is None:
            beyond = sa.false() if desc else column.is_not(None)
            same = column.is_(None)
        else:
            beyond = sa.or_(column < value, column.is_(None)) if desc else column > value
            same = column == value
        alternatives.append(sa.and_(*equal, beyond))
        equal.append(same)
    return sa.or_(*alternatives)


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


def host_statuses(session: Session, instances: Sequence[Instance], down_time: float
                  ) -> dict[str, str]:
    """Upstream's ``host_status`` (2.16) per host: UP, DOWN, MAINTENANCE or UNKNOWN."""
    hosts = {i.host for i in instances if i.host}
    if not hosts:
        return {}
    rows = {svc.host: svc for svc in session.scalars(sa.select(Service).where(
        Service.host.in_(hosts), Service.binary == COMPUTE_BINARY))}
    out = {}
    for host in hosts:
        svc = rows.get(host)
        if svc is None:
            out[host] = "UNKNOWN"
        elif svc.disabled:
            out[host] = "MAINTENANCE"
        else:
            out[host] = "UP" if queries.is_up(svc, down_time) else "DOWN"
    return out


DELETE_ATTEMPTS = 5


def task_deadline(runtime: Runtime) -> datetime:
    """When a task started now must have ended ([conductor] task_timeout)."""
    return utcnow() + timedelta(seconds=runtime.settings.conductor.task_timeout)


def drop_shelved_image(session: Session, inst: Instance) -> uuid.UUID | None:
    """Delete the record of a shelved server's snapshot; its id, if there was one."""
    if inst.vm_state not in (VmState.SHELVED, VmState.SHELVED_OFFLOADED) or \
            not inst.shelved_image_id:
        return None
    image = session.get(Image, uuid.UUID(inst.shelved_image_id))
    if image is None:
        return None
    session.delete(image)
    session.flush()
    return image.id


def _soft_deletes(runtime: Runtime, inst: Instance) -> bool:
    """Whether a DELETE of ``inst`` only soft-deletes it ([compute]
    reclaim_instance_interval): a launched server with a host and no task running."""
    return (runtime.settings.compute.reclaim_instance_interval > 0
            and inst.host is not None and inst.launched_at is not None
            and allowed(Action.SOFT_DELETE, inst.vm_state, inst.task_state))


@dataclass
class Deleting:
    instance_uuid: uuid.UUID
    # Only soft-deleted ([compute] reclaim_instance_interval): restorable until reclaimed.
    soft: bool
    # The snapshot a shelved server was kept in, its record deleted with the server (as
    # upstream); its data goes after the commit.
    dropped_image: uuid.UUID | None = None


def delete(session: Session, ctx: RequestContext, server_id: str, runtime: Runtime
           ) -> Deleting | None:
    """Start deleting (or soft-deleting) a server; the conductor finishes it (None:
    already deleting).

    A concurrent state change (the conductor moving a build along) makes the
    compare-and-swap miss: re-read and try again a bounded number of times.
    """
    deadline = task_deadline(runtime)
    for _ in range(DELETE_ATTEMPTS):
        inst = find(session, ctx, server_id)
        if inst.task_state == TaskState.DELETING:
            return None
        if not allowed(Action.DELETE, inst.vm_state, inst.task_state):
            raise Conflict(f"Cannot 'delete' instance {inst.uuid} while it is in vm_state "
                           f"{inst.vm_state}")
        soft = _soft_deletes(runtime, inst)
        if transition(session, inst.uuid, Action.SOFT_DELETE if soft else Action.DELETE,
                      seen=seen(inst), deadline=deadline, record=Record(ctx, "delete")):
            return Deleting(inst.uuid, soft, None if soft else drop_shelved_image(session, inst))
        session.expire(inst)
    raise Conflict(f"Instance {server_id} kept changing while it was being deleted; retry")
