"""Server actions (POST /servers/{id}/action): check state, start the task, say what follows.

Each action checks the state table (``common.states``), compare-and-swaps the task state,
records an instance action and returns what the handler hands to the conductor after the
commit. The conductor drives the compute agents and ends the task.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from common.compute_db import queries
from common.compute_db.models import Image, Instance, Migration
from common.compute_db.transition import Record, seen, transition
from common.context import RequestContext
from common.db import utcnow
from common.errors import BadRequest, Conflict, InvalidState, NotFound
from common.lifecycle import Event
from common.states import (
    ACTIONS,
    Action,
    ImageStatus,
    MigrationKind,
    MigrationStatus,
    allowed,
)
from compute_api import host_services, quotas, server_items, servers
from compute_api.runtime import Runtime

# The name upstream's 409 messages give each action ("Cannot 'stop' instance ...").
METHOD_NAMES: dict[Action, str] = {
    Action.REBOOT_SOFT: "reboot", Action.REBOOT_HARD: "reboot",
    Action.LIVE_MIGRATE: "os-migrateLive",
}
# The instance action recorded for each (os-instance-actions), as upstream names them.
RECORDED_NAMES: dict[Action, str] = {
    Action.REBOOT_SOFT: "reboot", Action.REBOOT_HARD: "reboot",
    Action.SOFT_DELETE: "delete",
}


def _method(action: Action) -> str:
    return METHOD_NAMES.get(action, action.value)


def _load(session: Session, ctx: RequestContext, server_id: str) -> Instance:
    inst = servers.find(session, ctx, server_id)
    return inst


def _check_lock(ctx: RequestContext, inst: Instance) -> None:
    if inst.locked and not ctx.is_admin:
        raise Conflict(f"Instance {inst.uuid} is locked")


def check_state(inst: Instance, action: Action) -> None:
    """Raise InvalidState (409) with upstream's message unless ``action`` may start."""
    if allowed(action, inst.vm_state, inst.task_state):
        return
    rule = ACTIONS[action]
    attr, state = (("vm_state", inst.vm_state) if inst.vm_state not in rule.from_vm
                   else ("task_state", inst.task_state))
    raise InvalidState(f"Cannot '{_method(action)}' instance {inst.uuid} while it is in "
                       f"{attr} {state}")


def begin(session: Session, ctx: RequestContext, inst: Instance, action: Action,
          runtime: Runtime) -> None:
    """Start ``action``: set its task state (compare-and-swap) and record the action.

    Raises InvalidState, Conflict (the server changed concurrently).
    """
    _check_lock(ctx, inst)
    check_state(inst, action)
    seconds = float(runtime.settings.conductor.task_timeout)
    if action is Action.LIVE_MIGRATE:
        # The source aborts a live migration only after this long: never expire it sooner.
        seconds += runtime.settings.libvirt.live_migration_completion_timeout
    deadline = utcnow() + timedelta(seconds=seconds)
    record = Record(ctx, RECORDED_NAMES.get(action, action.value))
    if not transition(session, inst.uuid, action, seen=seen(inst), deadline=deadline,
                      record=record):
        raise Conflict(f"Instance {inst.uuid} changed while '{_method(action)}' was "
                       "requested; retry")
    session.expire(inst)


def _need_host(inst: Instance) -> str:
    if inst.host is None:
        raise Conflict(f"Instance {inst.uuid} is not ready: it has no host")
    return inst.host


# The same checks for the actions in ``image_actions``.
load, check_lock, need_host = _load, _check_lock, _need_host


# --- power ------------------------------------------------------------------------


def power(session: Session, ctx: RequestContext, server_id: str, action: Action,
          runtime: Runtime) -> uuid.UUID:
    """Start a power action (start, stop, reboot, pause, ...). Raises NotFound, 409s."""
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    check_state(inst, action)
    _need_host(inst)
    begin(session, ctx, inst, action, runtime)
    return inst.uuid


def set_lock(session: Session, ctx: RequestContext, server_id: str, locked: bool,
             reason: str | None = None) -> None:
    """Lock or unlock a server; locked servers refuse actions by non-admins. An unlock
    forgets the reason of the lock."""
    inst = _load(session, ctx, server_id)
    inst.locked = locked
    inst.locked_reason = reason if locked else None
    inst.updated_at = utcnow()
    server_items.record_action(session, ctx, inst.uuid, "lock" if locked else "unlock")
    session.flush()


def reset_state(session: Session, ctx: RequestContext, server_id: str, state: str) -> None:
    """os-resetState (admin): force a server to ``active`` or ``error`` and end its task,
    whatever it was doing (the lifecycle's reset triggers). Raises NotFound, Conflict."""
    inst = _load(session, ctx, server_id)
    trigger = Event.RESET_ACTIVE if state == "active" else Event.RESET_ERROR
    if transition(session, inst.uuid, trigger) is None:
        raise Conflict(f"Instance {inst.uuid} changed while its state was reset; retry")
    session.flush()


def parse_length(body: Any) -> int | None:
    """``length`` of os-getConsoleOutput: an int or int string, -1 or absent for all."""
    value = body.get("length") if isinstance(body, dict) else None
    if isinstance(body, dict) and set(body) - {"length"}:
        extra = sorted(set(body) - {"length"})[0]
        raise BadRequest(f"Additional properties are not allowed ('{extra}' was unexpected)")
    if body is not None and not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute os-getConsoleOutput. Value: "
                         f"{body}. {body!r} is not of type 'object'")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"Invalid input for field/attribute length. Value: {value}. "
                         f"{value!r} is not of type 'integer', 'string'")
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute length. Value: {value}. "
                         f"'{value}' does not match '^-?[0-9]+$'") from None
    if number < -1:
        raise BadRequest(f"Invalid input for field/attribute length. Value: {value}. "
                         f"{value} is less than the minimum of -1")
    return None if number == -1 else number


def console_output(session: Session, ctx: RequestContext, server_id: str,
                   length: int | None, runtime: Runtime) -> str:
    """The tail of the guest's console, asked of its host. Raises NotFound, Conflict."""
    inst = _load(session, ctx, server_id)
    _need_host(inst)
    instance_uuid = inst.uuid
    session.rollback()  # no transaction held open across the RPC call
    try:
        return runtime.conductor.get_console_output(ctx, instance_uuid, length)
    except NotFound:
        raise NotFound("Guest does not have a console available.") from None


# --- snapshot ---------------------------------------------------------------------


@dataclass
class Snapshot:
    instance_uuid: uuid.UUID
    image_id: uuid.UUID


def create_image(session: Session, ctx: RequestContext, server_id: str, name: Any,
                 metadata: Any, runtime: Runtime) -> Snapshot:
    """Queue an image record and start the snapshot task. Raises BadRequest, 409s."""
    check_image_args(runtime, name, metadata)
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    check_state(inst, Action.SNAPSHOT)
    _need_host(inst)
    quotas.check_metadata(session, runtime.settings.quota, inst.project_id, metadata or {})
    begin(session, ctx, inst, Action.SNAPSHOT, runtime)
    image = queue_image(session, ctx, inst, name, "snapshot", metadata or {})
    return Snapshot(inst.uuid, image.id)


def check_image_args(runtime: Runtime, name: Any, metadata: Any) -> None:
    """The name and metadata of an image a server action makes. Raises BadRequest."""
    if runtime.settings.images.backend != "builtin":
        # The snapshot's record and upload would have to go to Glance with the caller's
        # token; only the built-in image API is written to so far.
        raise BadRequest("Snapshots need the built-in image API ([images] backend = "
                         "builtin); snapshots to an external Glance are not supported yet")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}. "
                         "It must be a non-empty string of at most 255 characters")
    if metadata is not None and (not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise BadRequest("Invalid input for field/attribute metadata. It must be an object "
                         "of strings")


def queue_image(session: Session, ctx: RequestContext, inst: Instance, name: str,
                image_type: str, metadata: dict[str, str]) -> Image:
    """A queued image record for a snapshot of ``inst`` (the agent uploads its data)."""
    base = session.get(Image, uuid.UUID(inst.image_ref)) if inst.image_ref else None
    props = {"image_type": image_type, "instance_uuid": str(inst.uuid),
             "user_id": ctx.user_id or "", "base_image_ref": inst.image_ref or "",
             **{k: v for k, v in (base.properties if base else {}).items()
                if k in ("kernel_id", "ramdisk_id", "os_command_line", "hw_disk_bus",
                         "os_type")},
             **metadata}
    image = Image(name=name, status=ImageStatus.QUEUED, disk_format="qcow2",
                  container_format="bare", visibility="private", owner=inst.project_id,
                  properties=props,
                  min_ram=base.min_ram if base else 0,
                  min_disk=max(int(inst.flavor.get("root_gb", 0)),
                               base.min_disk if base else 0),
                  tags={"tags": []})
    session.add(image)
    session.flush()
    return image


# --- resize and migrations -------------------------------------------------------


@dataclass
class Move:
    instance_uuid: uuid.UUID
    migration_uuid: uuid.UUID


_FIRST_STATUS = {MigrationKind.LIVE_MIGRATION: MigrationStatus.QUEUED,
                 MigrationKind.EVACUATION: MigrationStatus.ACCEPTED}


def _start_move(session: Session, ctx: RequestContext, inst: Instance, action: Action,
                runtime: Runtime, migration_type: MigrationKind, new_flavor: dict[str, Any],
                requested_host: str | None = None, **extra: Any) -> Move:
    host = _need_host(inst)
    begin(session, ctx, inst, action, runtime)
    migration = Migration(
        instance_uuid=inst.uuid, migration_type=migration_type,
        status=_FIRST_STATUS.get(migration_type, MigrationStatus.PRE_MIGRATING),
        source_compute=host, source_node=inst.node, requested_host=requested_host,
        old_flavor=dict(inst.flavor), new_flavor=new_flavor,
        old_vm_state=inst.vm_state, project_id=inst.project_id, user_id=inst.user_id,
        **extra)
    session.add(migration)
    session.flush()
    return Move(inst.uuid, migration.uuid)


def resize(session: Session, ctx: RequestContext, server_id: str, flavor_ref: str,
           runtime: Runtime, disk_config: str | None = None) -> Move:
    """Start a resize to another flavor (``disk_config``: the server's
    OS-DCF:diskConfig from now on, if given). Raises BadRequest, QuotaExceeded, 409s."""
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    check_state(inst, Action.RESIZE)
    try:
        flavor = queries.get_flavor(session, flavor_ref,
                                    None if ctx.is_admin else ctx.project_id)
    except NotFound:
        raise BadRequest("Unable to locate requested flavor.") from None
    if flavor.disabled:
        raise BadRequest("Unable to locate requested flavor.")
    old = inst.flavor
    if flavor.flavorid == old.get("flavorid"):
        raise BadRequest("When resizing, instances must change flavor!")
    if flavor.root_gb and flavor.root_gb < int(old.get("root_gb", 0)):
        raise BadRequest("Resizing to a smaller disk flavor is not allowed.")
    _check_resize_quota(session, runtime, inst, flavor.vcpus, flavor.memory_mb)
    if disk_config is not None:
        servers.check_auto_disk_config(inst.image_ref, inst.image_meta, disk_config)
        inst.disk_config = disk_config
        session.flush()
    return _start_move(session, ctx, inst, Action.RESIZE, runtime, MigrationKind.RESIZE,
                       servers.flavor_snapshot(flavor))


def _check_resize_quota(session: Session, runtime: Runtime, inst: Instance, vcpus: int,
                        ram: int) -> None:
    """A resize up needs room for the difference in cores and RAM."""
    quotas.lock_project(session, inst.project_id)
    limit = quotas.limits(session, runtime.settings.quota, inst.project_id)
    used = quotas.instance_usage(session, inst.project_id)
    for resource, delta in (("cores", vcpus - int(inst.flavor["vcpus"])),
                            ("ram", ram - int(inst.flavor["memory_mb"]))):
        if delta > 0 and 0 <= limit[resource] < used[resource] + delta:
            raise quotas.exceeded(resource, delta, used[resource], limit[resource])


def _known_host(session: Session, host: str) -> None:
    if queries.get_service(session, host, servers.COMPUTE_BINARY) is None:
        raise BadRequest(f"Compute host {host} could not be found.")


def migrate(session: Session, ctx: RequestContext, server_id: str, host: str | None,
            runtime: Runtime) -> Move:
    """Start a cold migration (admin). Raises BadRequest, 409s."""
    inst = _load(session, ctx, server_id)
    check_state(inst, Action.MIGRATE)
    if host is not None:
        _known_host(session, host)
        if host == inst.host:
            raise BadRequest(f"The target host can't be the same one: {host}.")
    return _start_move(session, ctx, inst, Action.MIGRATE, runtime, MigrationKind.MIGRATION,
                       dict(inst.flavor), requested_host=host)


def live_migrate(session: Session, ctx: RequestContext, server_id: str, host: str | None,
                 block_migration: bool, force: bool, runtime: Runtime) -> Move:
    """Start a live migration (admin). Raises BadRequest, 409s."""
    inst = _load(session, ctx, server_id)
    check_state(inst, Action.LIVE_MIGRATE)
    if host is not None:
        _known_host(session, host)
        if host == inst.host:
            raise BadRequest(f"The target host can't be the same one: {host}.")
    return _start_move(session, ctx, inst, Action.LIVE_MIGRATE, runtime,
                       MigrationKind.LIVE_MIGRATION,
                       dict(inst.flavor), requested_host=host,
                       force=bool(force and host is not None),
                       block_migration=block_migration)


def evacuate(session: Session, ctx: RequestContext, server_id: str, host: str | None,
             force: bool, runtime: Runtime) -> Move:
    """Start evacuating a server of a down host (admin). Raises BadRequest, NotFound, 409s.

    The server's compute service must be down (missed heartbeats) or forced down: a
    host that still runs could keep the guest running twice.
    """
    inst = _load(session, ctx, server_id)
    check_state(inst, Action.EVACUATE)
    source = _need_host(inst)
    if host is not None:
        host_services.find_compute(session, host)
        if host == source:
            raise BadRequest(f"The target host can't be the same one: {host}.")
    svc = queries.get_service(session, source, servers.COMPUTE_BINARY)
    if queries.is_up(svc, runtime.settings.service.service_down_time):
        raise Conflict(f"Compute service of {source} is still in use.")
    return _start_move(session, ctx, inst, Action.EVACUATE, runtime,
                       MigrationKind.EVACUATION, dict(inst.flavor), requested_host=host,
                       force=bool(force and host is not None))


def finish_resize(session: Session, ctx: RequestContext, server_id: str, action: Action,
                  runtime: Runtime) -> Move:
    """Start confirming or reverting a resize (VERIFY_RESIZE). Raises BadRequest, 409s."""
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    check_state(inst, action)
    migration = queries.current_migration(session, inst.uuid, (MigrationStatus.FINISHED,))
    if migration is None:
        raise BadRequest(f"Instance {inst.uuid} has not been resized.")
    begin(session, ctx, inst, action, runtime)
    queries.set_migration_status(
        session, migration.uuid,
        MigrationStatus.CONFIRMING if action is Action.CONFIRM_RESIZE
        else MigrationStatus.REVERTING)
    return Move(inst.uuid, migration.uuid)
