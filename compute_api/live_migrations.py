"""Steering a live migration in progress (admin): force it to complete (2.22) or abort
it (2.24; still queued or preparing ones too from 2.65). The conductor does the work;
here the server and the migration are checked and the request recorded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import Instance, Migration
from common.context import RequestContext
from common.errors import BadRequest, InvalidState, NotFound
from common.states import MigrationKind, MigrationStatus, TaskState, VmState
from compute_api import server_items, servers

ABORTABLE_QUEUED = (MigrationStatus.QUEUED, MigrationStatus.PREPARING)


@dataclass(frozen=True)
class Steered:
    instance_uuid: uuid.UUID
    migration_uuid: uuid.UUID


def _state_error(method: str, inst: Instance, attr: str, state: str | None) -> InvalidState:
    return InvalidState(f"Cannot '{method}' instance {inst.uuid} while it is in {attr} "
                        f"{state}")


def _migration(session: Session, inst: Instance, migration_id: str) -> Migration:
    mig = session.scalar(sa.select(Migration).where(
        Migration.id == (int(migration_id) if migration_id.isdigit() else -1),
        Migration.instance_uuid == inst.uuid,
        Migration.migration_type == MigrationKind.LIVE_MIGRATION))
    if mig is None:
        raise NotFound(f"Migration {migration_id} not found for instance {inst.uuid}")
    return mig


def _invalid(mig: Migration, inst: Instance, what: str) -> BadRequest:
    return BadRequest(f"Migration {mig.id} state of instance {inst.uuid} is {mig.status}. "
                      f"Cannot {what} while the migration is in this state.")


def force_complete(session: Session, ctx: RequestContext, server_id: str,
                   migration_id: str) -> Steered:
    """Raises NotFound, InvalidState (the server is not an active one migrating),
    BadRequest (the migration is not running)."""
    inst = servers.find(session, ctx, server_id)
    method = "live_migrate_force_complete"
    if inst.vm_state != VmState.ACTIVE:
        raise _state_error(method, inst, "vm_state", inst.vm_state)
    if inst.task_state != TaskState.MIGRATING:
        raise _state_error(method, inst, "task_state", inst.task_state)
    mig = _migration(session, inst, migration_id)
    if mig.status != MigrationStatus.RUNNING:
        raise _invalid(mig, inst, "force complete")
    server_items.record_action(session, ctx, inst.uuid, "live_migration_force_complete")
    return Steered(inst.uuid, mig.uuid)


def abort(session: Session, ctx: RequestContext, server_id: str, migration_id: str,
          queued_too: bool) -> Steered:
    """Raises NotFound, InvalidState (the server is not migrating), BadRequest (the
    migration is past the point of an abort, or queued before 2.65)."""
    inst = servers.find(session, ctx, server_id)
    if inst.task_state != TaskState.MIGRATING:
        raise _state_error("live_migrate_abort", inst, "task_state", inst.task_state)
    mig = _migration(session, inst, migration_id)
    allowed = (MigrationStatus.RUNNING, *(ABORTABLE_QUEUED if queued_too else ()))
    if mig.status not in allowed:
        raise _invalid(mig, inst, "abort live migration")
    server_items.record_action(session, ctx, inst.uuid, "live_migration_cancel")
    return Steered(inst.uuid, mig.uuid)
