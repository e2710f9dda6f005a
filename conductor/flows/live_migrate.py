"""Live migration: claim a destination, prepare it, move the running guest, record it.

On any failure the guest keeps running on the source: the destination's preparation is
undone, the migration's allocations go back to the instance (dropping the destination
claim) and the server stays as it was, its action event marked Error.

An abort (the API's DELETE of the migration) ends the same way, without a fault and with
the migration ``cancelled``: one still queued or preparing is cancelled here before the
guest moves (each step advances the status by compare and swap, so the flow notices);
a running one is marked ``cancelling`` and the source's agent aborts it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from common.compute_db import queries
from common.compute_db.models import Instance, Migration
from common.context import RequestContext
from common.db import transaction
from common.errors import ControlPlaneError
from common.messages import HostSelection
from common.states import MigrationStatus, TaskState
from conductor.flows.resize import MoveFlow

LOG = logging.getLogger(__name__)


class _Cancelled(Exception):
    """The migration was cancelled before the guest started to move."""


class LiveMigrateFlow(MoveFlow):
    def live_migrate(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                     migration_uuid: uuid.UUID) -> None:
        mig = self._migration(migration_uuid)
        inst = self._tasks.load(instance_uuid, TaskState.MIGRATING)
        if mig is None or inst is None:
            if mig is not None:
                self._set_status(mig.uuid, MigrationStatus.ERROR)
            return
        try:
            with self._tasks.event(ctx, instance_uuid, "conductor_live_migrate_instance",
                                   None):
                selection = self._claim(ctx, inst, mig)
        except ControlPlaneError as exc:
            if not self._advance(mig.uuid, (MigrationStatus.QUEUED,), MigrationStatus.ERROR):
                self._cancelled(inst, mig)
                return
            self._tasks.fail(instance_uuid, TaskState.MIGRATING, exc.message)
            return
        if not self._advance(mig.uuid, (MigrationStatus.QUEUED,), MigrationStatus.PREPARING,
                             dest_compute=selection.host, dest_node=selection.nodename):
            self._back_to_instance(inst, mig)
            self._cancelled(inst, mig)
            return
        source, dest = mig.source_compute or "", selection.host
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_pre_live_migration", dest):
                migrate_data = self._compute.pre_live_migration(ctx, dest, instance_uuid)
            if not self._advance(mig.uuid, (MigrationStatus.PREPARING,),
                                 MigrationStatus.RUNNING):
                raise _Cancelled
            with self._tasks.event(ctx, instance_uuid, "compute_live_migration", source):
                # The call lasts as long as the source lets the migration run.
                self._compute.live_migrate_instance(
                    ctx, source, instance_uuid, dest,
                    timeout=self._settings.libvirt.live_migration_completion_timeout,
                    migrate_uri=migrate_data.get("migrate_uri"))
        except _Cancelled:
            self._undo(ctx, inst, mig, dest)
            self._cancelled(inst, mig)
            return
        except ControlPlaneError as exc:
            self._undo(ctx, inst, mig, dest)
            if self._advance(mig.uuid, (MigrationStatus.CANCELLING,),
                             MigrationStatus.CANCELLED) or self._was_cancelled(mig.uuid):
                # The abort came first: the destination may have refused a preparation
                # for a migration already cancelled. A cancel, not a failure.
                self._cancelled(inst, mig)
                return
            self._set_status(mig.uuid, MigrationStatus.ERROR)
            self._tasks.fail(instance_uuid, TaskState.MIGRATING,
                             f"live migration to {dest} failed: {exc.message}")
            return
        self._finish(ctx, inst.uuid, inst.power_state, mig.uuid, source, selection)

    def abort(self, ctx: RequestContext, instance_uuid: uuid.UUID,
              migration_uuid: uuid.UUID) -> None:
        """Cancel a queued or preparing migration (the flow stops at its next step) or
        have the source abort a running one; nothing once it has ended."""
        queued = (MigrationStatus.QUEUED, MigrationStatus.PREPARING)
        if self._advance(migration_uuid, queued, MigrationStatus.CANCELLED):
            LOG.info("live migration %s of %s cancelled before it ran", migration_uuid,
                     instance_uuid)
            return
        if not self._advance(migration_uuid, (MigrationStatus.RUNNING,),
                             MigrationStatus.CANCELLING):
            LOG.info("live migration %s of %s is no longer running; nothing to abort",
                     migration_uuid, instance_uuid)
            return
        mig = self._migration(migration_uuid)
        if mig is not None and mig.source_compute:
            self._compute.abort_live_migration(ctx, mig.source_compute, instance_uuid)

    def force_complete(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                       migration_uuid: uuid.UUID) -> None:
        """Have the source make a running migration converge now."""
        mig = self._migration(migration_uuid)
        if mig is None or mig.status != MigrationStatus.RUNNING or not mig.source_compute:
            LOG.info("live migration %s of %s is not running; nothing to complete",
                     migration_uuid, instance_uuid)
            return
        self._compute.force_complete_live_migration(ctx, mig.source_compute, instance_uuid)

    def _advance(self, migration_uuid: uuid.UUID, seen: tuple[MigrationStatus, ...],
                 status: MigrationStatus, **values: Any) -> bool:
        with transaction(self._tasks.sessions) as session:
            return queries.advance_migration(session, migration_uuid, seen, status,
                                             **values)

    def _was_cancelled(self, migration_uuid: uuid.UUID) -> bool:
        mig = self._migration(migration_uuid)
        return mig is not None and mig.status == MigrationStatus.CANCELLED

    def _undo(self, ctx: RequestContext, inst: Instance, mig: Migration, dest: str) -> None:
        """The guest did not leave: drop the destination's preparation and claim."""
        self._best_effort("cleaning up the destination",
                          self._compute.rollback_live_migration_at_destination, ctx, dest,
                          inst.uuid)
        self._back_to_instance(inst, mig)

    def _cancelled(self, inst: Instance, mig: Migration) -> None:
        """The guest stays on the source, running as it was; no fault."""
        self._set_status(mig.uuid, MigrationStatus.CANCELLED)
        self._tasks.end(inst.uuid, TaskState.MIGRATING)
        LOG.info("live migration %s of %s cancelled; the guest stays on %s", mig.uuid,
                 inst.uuid, mig.source_compute)

    def _finish(self, ctx: RequestContext, instance_uuid: uuid.UUID, old_power: int,
                migration_uuid: uuid.UUID, source: str, selection: HostSelection) -> None:
        """The guest runs on the destination now: record it there, free the source."""
        dest = selection.host
        power = old_power
        try:
            with self._tasks.event(ctx, instance_uuid,
                                   "compute_post_live_migration_at_destination", dest):
                power = self._compute.post_live_migration_at_destination(ctx, dest,
                                                                         instance_uuid)
        except ControlPlaneError as exc:
            # The guest moved regardless; the destination's sync records its power state.
            LOG.warning("post live migration of %s on %s failed: %s", instance_uuid, dest,
                        exc)
        # The source's copy of the disks and its console log; while the migration is in
        # progress the source may still act on the instance. Left files waste space only.
        self._best_effort("cleaning up the source", self._compute.destroy_migrated, ctx,
                          source, instance_uuid)
        self._tasks.end(instance_uuid, TaskState.MIGRATING, power=power,
                        values={"host": dest, "node": selection.nodename},
                        ports=(dest, "ACTIVE"))
        self._placement.delete_allocations(migration_uuid)
        self._set_status(migration_uuid, MigrationStatus.COMPLETED)
        LOG.info("instance %s live-migrated to %s", instance_uuid, dest)
