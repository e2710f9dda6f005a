"""Live migration: claim a destination, prepare it, move the running guest, record it.

On any failure the guest keeps running on the source: the destination's preparation is
undone, the migration's allocations go back to the instance (dropping the destination
claim) and the server stays as it was, its action event marked Error.
"""

from __future__ import annotations

import logging
import uuid

from common.context import RequestContext
from common.errors import ControlPlaneError
from common.messages import HostSelection
from common.states import MigrationStatus, TaskState
from conductor.flows.resize import MoveFlow

LOG = logging.getLogger(__name__)


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
            self._set_status(mig.uuid, MigrationStatus.ERROR)
            self._tasks.fail(instance_uuid, TaskState.MIGRATING, exc.message)
            return
        self._set_status(mig.uuid, MigrationStatus.PREPARING, dest_compute=selection.host,
                         dest_node=selection.nodename)
        source, dest = mig.source_compute or "", selection.host
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_pre_live_migration", dest):
                migrate_data = self._compute.pre_live_migration(ctx, dest, instance_uuid)
            self._set_status(mig.uuid, MigrationStatus.RUNNING)
            with self._tasks.event(ctx, instance_uuid, "compute_live_migration", source):
                # The call lasts as long as the source lets the migration run.
                self._compute.live_migrate_instance(
                    ctx, source, instance_uuid, dest,
                    timeout=self._settings.libvirt.live_migration_completion_timeout,
                    migrate_uri=migrate_data.get("migrate_uri"))
        except ControlPlaneError as exc:
            self._best_effort("cleaning up the destination",
                              self._compute.rollback_live_migration_at_destination, ctx,
                              dest, instance_uuid)
            self._back_to_instance(inst, mig)
            self._set_status(mig.uuid, MigrationStatus.ERROR)
            self._tasks.fail(instance_uuid, TaskState.MIGRATING,
                             f"live migration to {dest} failed: {exc.message}")
            return
        self._finish(ctx, inst.uuid, inst.power_state, mig.uuid, source, selection)

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
                        values={"host": dest, "node": selection.nodename})
        self._placement.delete_allocations(migration_uuid)
        self._set_status(migration_uuid, MigrationStatus.COMPLETED)
        LOG.info("instance %s live-migrated to %s", instance_uuid, dest)
