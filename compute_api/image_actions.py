"""Server actions that keep a server in images: createBackup, shelve, shelveOffload,
unshelve; and the deferred delete's restore and forceDelete.

As in ``server_actions``: check the state table, start the task (compare-and-swap),
record the instance action, and say what the handler casts to the conductor after the
commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from common import policy
from common.compute_db import queries
from common.compute_db.models import Instance
from common.compute_db.transition import Record, seen, transition
from common.context import RequestContext
from common.errors import BadRequest, Conflict, Forbidden
from common.states import Action, VmState
from compute_api import aggregates, quotas, servers, zones
from compute_api.runtime import Runtime
from compute_api.server_actions import (
    Snapshot,
    begin,
    check_image_args,
    check_lock,
    check_state,
    load,
    need_host,
    queue_image,
)

UNSHELVE_TO_HOST_RULE = "os_compute_api:os-shelve:unshelve_to_host"

# --- createBackup -------------------------------------------------------------------


@dataclass
class Backup:
    snapshot: Snapshot
    backup_type: str
    rotation: int


def parse_rotation(value: Any) -> int:
    """``rotation``: a non-negative integer, or a string of one. Raises BadRequest."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"Invalid input for field/attribute rotation. Value: {value}. "
                         f"{value!r} is not of type 'integer', 'string'")
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute rotation. Value: {value}. "
                         f"'{value}' does not match '^[0-9]+$'") from None
    if number < 0:
        raise BadRequest(f"Invalid input for field/attribute rotation. Value: {value}. "
                         f"{value} is less than the minimum of 0")
    return number


def backup(session: Session, ctx: RequestContext, server_id: str, name: Any,
           backup_type: Any, rotation: int, metadata: Any, runtime: Runtime) -> Backup:
    """Queue a backup image (``image_type`` backup) and start the backup task.

    Raises BadRequest, NotFound, 409s.
    """
    check_image_args(runtime, name, metadata)
    if not isinstance(backup_type, str):
        raise BadRequest(f"Invalid input for field/attribute backup_type. Value: "
                         f"{backup_type}. {backup_type!r} is not of type 'string'")
    inst = load(session, ctx, server_id)
    check_lock(ctx, inst)
    check_state(inst, Action.BACKUP)
    need_host(inst)
    quotas.check_metadata(session, runtime.settings.quota, inst.project_id, metadata or {})
    begin(session, ctx, inst, Action.BACKUP, runtime)
    image = queue_image(session, ctx, inst, name, "backup",
                        {**(metadata or {}), "backup_type": backup_type})
    return Backup(Snapshot(inst.uuid, image.id), backup_type, rotation)


# --- shelve ---------------------------------------------------------------------------


def shelve(session: Session, ctx: RequestContext, server_id: str, runtime: Runtime
           ) -> Snapshot:
    """Start shelving: queue the image ``<name>-shelved`` the server will be kept in.

    Raises BadRequest (images elsewhere), NotFound, 409s.
    """
    inst = load(session, ctx, server_id)
    name = f"{inst.display_name}-shelved"[:255]
    check_image_args(runtime, name, None)
    check_lock(ctx, inst)
    check_state(inst, Action.SHELVE)
    need_host(inst)
    begin(session, ctx, inst, Action.SHELVE, runtime)
    image = queue_image(session, ctx, inst, name, "snapshot", {})
    return Snapshot(inst.uuid, image.id)


def shelve_offload(session: Session, ctx: RequestContext, server_id: str,
                   runtime: Runtime) -> uuid.UUID:
    """Start offloading a SHELVED server from its host. Raises NotFound, 409s."""
    inst = load(session, ctx, server_id)
    check_lock(ctx, inst)
    check_state(inst, Action.SHELVE_OFFLOAD)
    begin(session, ctx, inst, Action.SHELVE_OFFLOAD, runtime)
    return inst.uuid


@dataclass
class Unshelve:
    instance_uuid: uuid.UUID
    host: str | None


_UNSET: Any = object()


def unshelve(session: Session, ctx: RequestContext, server_id: str, runtime: Runtime,
             zone: Any = _UNSET, host: str | None = None) -> Unshelve:
    """Start unshelving. ``zone``: 2.77's new availability zone (2.91: None unpins);
    ``host``: 2.91's destination (admins). Both only for an offloaded server.

    Raises BadRequest, Forbidden, NotFound, 409s.
    """
    inst = load(session, ctx, server_id)
    check_lock(ctx, inst)
    check_state(inst, Action.UNSHELVE)
    zone_given = zone is not _UNSET
    if (zone_given or host is not None) and inst.vm_state != VmState.SHELVED_OFFLOADED:
        raise Conflict(f"The unshelve action failed because the server {inst.uuid} is "
                       f"not in SHELVED_OFFLOADED state (vm_state {inst.vm_state}); a "
                       "zone or host may be given only then.")
    if zone_given and zone and zone not in zones.available(session):
        raise BadRequest("The requested availability zone is not available")
    if host is not None:
        _check_unshelve_host(session, ctx, inst, host,
                             zone if zone_given else inst.availability_zone)
    if zone_given:
        inst.availability_zone = zone
    begin(session, ctx, inst, Action.UNSHELVE, runtime)
    return Unshelve(inst.uuid, host)


def _check_unshelve_host(session: Session, ctx: RequestContext, inst: Instance, host: str,
                         zone: str | None) -> None:
    if not policy.allowed(ctx, UNSHELVE_TO_HOST_RULE):
        raise Forbidden(f"Policy doesn't allow {UNSHELVE_TO_HOST_RULE} to be performed.")
    if queries.get_service(session, host, servers.COMPUTE_BINARY) is None:
        raise BadRequest(f"Compute host {host} could not be found.")
    if zone and aggregates.zone_of(session, host) != zone:
        raise Conflict(f'Host "{host}" is not in the availability zone "{zone}".')


# --- deferred delete ------------------------------------------------------------------


def restore(session: Session, ctx: RequestContext, server_id: str, runtime: Runtime
            ) -> uuid.UUID:
    """Start restoring a SOFT_DELETED server (its guest is powered on again).

    A soft-deleted server still counts against quota, so there is none to check.
    Raises NotFound, 409s.
    """
    inst = load(session, ctx, server_id)
    check_lock(ctx, inst)
    check_state(inst, Action.RESTORE)
    need_host(inst)
    begin(session, ctx, inst, Action.RESTORE, runtime)
    return inst.uuid


def force_delete(session: Session, ctx: RequestContext, server_id: str, runtime: Runtime
                 ) -> servers.Deleting:
    """Delete a server at once, whatever the reclaim interval (no task may be running).

    Raises NotFound, 409s.
    """
    inst = load(session, ctx, server_id)
    check_lock(ctx, inst)
    if inst.task_state is not None:
        raise Conflict(f"Cannot 'forceDelete' instance {inst.uuid} while it is in "
                       f"task_state {inst.task_state}")
    deadline = servers.task_deadline(runtime)
    if not transition(session, inst.uuid, Action.DELETE, seen=seen(inst),
                      expect_task={None}, deadline=deadline, record=Record(ctx, "delete")):
        raise Conflict(f"Instance {inst.uuid} changed while 'forceDelete' was requested; "
                       "retry")
    return servers.Deleting(inst.uuid, False, servers.drop_shelved_image(session, inst))

