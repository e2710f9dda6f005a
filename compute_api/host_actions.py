"""Server actions done on the server's own host: rebuild, rescue, unrescue, crash dump,
password change, and what the host reports of a guest (diagnostics, topology).

Like ``server_actions``: check the state table, compare-and-swap the task state, record
the instance action, and say what the handler hands to the conductor after the commit.
None of these moves the server or touches its placement allocations.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from common.compute_db.models import Instance
from common.context import RequestContext
from common.errors import BadRequest, InvalidState
from common.states import CRASH_DUMP_FROM, Action, ImageStatus, TaskState
from compute_api import quotas, server_create, server_items, servers
from compute_api.images.source import ImageRecord
from compute_api.runtime import Runtime
from compute_api.server_actions import _check_lock, _load, _need_host, begin, check_state


@dataclass
class RebuildRequest:
    """A rebuild's arguments, validated; ``changes`` holds only what the body named."""

    image_ref: str
    admin_pass: str | None = None
    preserve_ephemeral: bool = False
    personality: list[dict[str, str]] | None = None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Started:
    """What the handler casts to the conductor once the task state is committed."""

    instance_uuid: uuid.UUID
    admin_pass: str | None
    image_ref: str | None = None


def _password(requested: str | None, runtime: Runtime) -> str | None:
    """The password to set and answer (None: passwords are disabled, as upstream's
    ``[api] enable_instance_password = false``)."""
    if not runtime.settings.api.enable_instance_password:
        return None
    return requested if requested is not None else secrets.token_urlsafe(9)


def _image(session: Session, ctx: RequestContext, runtime: Runtime, ref: str,
           not_found: str) -> ImageRecord:
    """An image the caller may boot, as a boot checks it. Raises BadRequest."""
    image = runtime.images.get(session, uuid.UUID(ref), ctx.project_id, ctx.is_admin)
    if image is None:
        raise BadRequest(not_found)
    if image.status != ImageStatus.ACTIVE:
        raise BadRequest(f"Image {ref} is not active.")
    return image


# --- rebuild ----------------------------------------------------------------------


def rebuild(session: Session, ctx: RequestContext, server_id: str, req: RebuildRequest,
            runtime: Runtime) -> Started:
    """Start rebuilding the server on its host from ``req.image_ref`` (new or the same).

    The server keeps its host and placement allocations: the flavor does not change. A
    new image is only checked against the flavor here; its required traits are not
    re-checked against the host (upstream asks the scheduler to validate the same host
    for a new image; an image whose traits the host lacks would fail to spawn there and
    the rebuild ends in ERROR). Raises NotFound, BadRequest, QuotaExceeded, 409s.
    """
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    check_state(inst, Action.REBUILD)
    _need_host(inst)
    image = _image(session, ctx, runtime, req.image_ref, "Cannot find image for rebuild")
    flavor = inst.flavor
    if int(flavor.get("memory_mb", 0)) < image.min_ram:
        raise BadRequest("Flavor's memory is too small for requested image.")
    root_gb = int(flavor.get("root_gb", 0))
    if root_gb and root_gb < image.min_disk:
        raise BadRequest("Flavor's disk is too small for requested image.")
    changes = dict(req.changes)
    servers.check_auto_disk_config(image.id, image.properties, changes.get("disk_config"))
    if "key_name" in changes:
        changes["key_data"] = _key_data(session, ctx, changes["key_name"])
    settings = runtime.settings.quota
    if "metadata_items" in changes:
        quotas.check_metadata(session, settings, inst.project_id, changes["metadata_items"])
    if req.personality:
        quotas.check_count(session, settings, inst.project_id, "injected_files", 0,
                           len(req.personality))
    begin(session, ctx, inst, Action.REBUILD, runtime)
    for key, value in changes.items():
        setattr(inst, key, value)
    inst.image_ref = str(image.id)
    inst.image_meta = servers.image_meta(image)
    inst.progress = 0
    session.flush()
    return Started(inst.uuid, _password(req.admin_pass, runtime), str(image.id))


def _key_data(session: Session, ctx: RequestContext, name: str | None) -> str | None:
    """The public key of the caller's key pair ``name``; None unsets. Raises BadRequest."""
    if name is None:
        return None
    data = server_create._key_data(session, ctx, name)
    if data is None:
        raise BadRequest("Invalid key_name provided.")
    return data


# --- rescue -----------------------------------------------------------------------


def rescue(session: Session, ctx: RequestContext, server_id: str, admin_pass: str | None,
           rescue_image_ref: str | None, runtime: Runtime) -> Started:
    """Start booting a rescue image with the server's disk attached (status RESCUE).

    The rescue image is ``rescue_image_ref`` or the server's own image. Raises NotFound,
    BadRequest, 409s.
    """
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    check_state(inst, Action.RESCUE)
    _need_host(inst)
    ref = rescue_image_ref or inst.image_ref
    if ref is None:
        raise BadRequest(f"Instance {inst.uuid} cannot be rescued: it has no image")
    _image(session, ctx, runtime, ref, f"Image {ref} is unacceptable: Cannot find the "
                                       "rescue image")
    begin(session, ctx, inst, Action.RESCUE, runtime)
    return Started(inst.uuid, _password(admin_pass, runtime), ref)


def unrescue(session: Session, ctx: RequestContext, server_id: str,
             runtime: Runtime) -> Started:
    """Start returning a rescued server to its own disk. Raises NotFound, 409s."""
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    check_state(inst, Action.UNRESCUE)
    _need_host(inst)
    begin(session, ctx, inst, Action.UNRESCUE, runtime)
    return Started(inst.uuid, None)


# --- crash dump, password ---------------------------------------------------------


def trigger_crash_dump(session: Session, ctx: RequestContext, server_id: str) -> uuid.UUID:
    """Record the crash dump request (no task state, as upstream). Raises NotFound, 409s."""
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    _check_no_task(inst, "trigger_crash_dump")
    _need_host(inst)
    server_items.record_action(session, ctx, inst.uuid, "trigger_crash_dump")
    return inst.uuid


def _check_no_task(inst: Instance, method: str) -> None:
    if inst.vm_state not in CRASH_DUMP_FROM:
        raise InvalidState(f"Cannot '{method}' instance {inst.uuid} while it is in "
                           f"vm_state {inst.vm_state}")
    if inst.task_state is not None:
        raise InvalidState(f"Cannot '{method}' instance {inst.uuid} while it is in "
                           f"task_state {inst.task_state}")


def change_password(session: Session, ctx: RequestContext, server_id: str,
                    runtime: Runtime) -> uuid.UUID:
    """Start a password change (task updating_password) and commit it, so the host may
    be asked at once: the answer (set, or why not) is the request's. Raises NotFound, 409s.
    """
    inst = _load(session, ctx, server_id)
    _check_lock(ctx, inst)
    check_state(inst, Action.CHANGE_PASSWORD)
    _need_host(inst)
    begin(session, ctx, inst, Action.CHANGE_PASSWORD, runtime)
    instance_uuid = inst.uuid
    # The conductor acts on the committed task; nothing of this request is left to write.
    session.commit()
    return instance_uuid


# --- what the host reports --------------------------------------------------------

# A task during which the guest is coming or going: nothing to report (as upstream).
_NO_DIAGNOSTICS = {TaskState.DELETING, TaskState.MIGRATING}


def diagnostics(session: Session, ctx: RequestContext, server_id: str, runtime: Runtime
                ) -> dict[str, Any]:
    """The guest's diagnostics from its host (standard format). Raises NotFound, 409s."""
    inst = _load(session, ctx, server_id)
    _need_host(inst)
    if inst.task_state in _NO_DIAGNOSTICS:
        raise InvalidState(f"Cannot 'get_diagnostics' instance {inst.uuid} while it is in "
                           f"task_state {inst.task_state}")
    instance_uuid = inst.uuid
    session.rollback()  # no transaction held open across the RPC call
    return runtime.conductor.get_diagnostics(ctx, instance_uuid)


def topology(session: Session, ctx: RequestContext, server_id: str) -> dict[str, Any]:
    """The server's NUMA topology (2.78). Servers here have no NUMA topology (no flavor
    or image asks for one), which upstream shows as no nodes; the host details an admin
    sees belong to nodes. Raises NotFound."""
    _load(session, ctx, server_id)
    return {"nodes": [], "pagesize_kb": None}
