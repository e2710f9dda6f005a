"""Evacuate: rebuild a server of a dead host on another one, chosen by the scheduler.

The source host is down (or forced down), so nothing is asked of it. The scheduler
claims the destination for the server while the source's share moves to the migration
record (as for every move); the destination's agent builds the guest anew from the
server's image. On success the migration's share (the dead host's resources) is
released and the server is recorded on the destination; on failure the destination's
claim is dropped, the source's share goes back to the server, and the server is ERROR
with a fault, as upstream leaves a failed evacuation. When the dead host's agent comes
back, its reconciliation finds the guest recorded elsewhere and removes it.
"""

from __future__ import annotations

import logging
import uuid

from common.context import RequestContext
from common.errors import ControlPlaneError
from common.lifecycle import Event
from common.states import MigrationStatus, TaskState
from conductor.flows.resize import MoveFlow

LOG = logging.getLogger(__name__)


class EvacuateFlow(MoveFlow):
    def evacuate(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                 migration_uuid: uuid.UUID, power_on: bool) -> None:
        mig = self._migration(migration_uuid)
        inst = self._tasks.load(instance_uuid, TaskState.REBUILDING)
        if mig is None or inst is None:
            if mig is not None:
                self._set_status(mig.uuid, MigrationStatus.ERROR)
            return
        try:
            with self._tasks.event(ctx, instance_uuid, "conductor_rebuild_server", None):
                selection = self._claim(ctx, inst, mig)
        except ControlPlaneError as exc:
            self._set_status(mig.uuid, MigrationStatus.ERROR)
            self._tasks.step(instance_uuid, TaskState.REBUILDING, Event.REBUILD_FAILED,
                             fault=f"Evacuation failed: {exc.message}")
            return
        dest = selection.host
        self._set_status(mig.uuid, MigrationStatus.PRE_MIGRATING, dest_compute=dest,
                         dest_node=selection.nodename)
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_rebuild_instance", dest):
                power = self._compute.evacuate_instance(
                    ctx, dest, instance_uuid, power_on,
                    timeout=self._settings.conductor.build_timeout)
        except ControlPlaneError as exc:
            self._best_effort("cleaning up the destination", self._compute.destroy_migrated,
                              ctx, dest, instance_uuid)
            self._back_to_instance(inst, mig)
            self._set_status(mig.uuid, MigrationStatus.ERROR)
            self._tasks.step(instance_uuid, TaskState.REBUILDING, Event.REBUILD_FAILED,
                             fault=f"Evacuation to {dest} failed: {exc.message}")
            return
        outcome = Event.DONE if power_on else Event.EVACUATED_STOPPED
        if not self._tasks.step(instance_uuid, TaskState.REBUILDING, outcome, power=power,
                                values={"host": dest, "node": selection.nodename},
                                migration=(mig.uuid, MigrationStatus.DONE),
                                ports=(dest, "ACTIVE" if power_on else "DOWN")):
            # Deleted meanwhile (the delete releases what the server and its migration
            # held) or overdue (the sweeper gave the source's share back): the guest built
            # here belongs to nobody; the destination's sync removes what this leaves.
            self._best_effort("removing the guest of a lost evacuation",
                              self._compute.destroy_migrated, ctx, dest, instance_uuid)
            self._set_status(mig.uuid, MigrationStatus.ERROR)
            # A claim that landed after the sweeper gave the share back moved it to the
            # migration again: back to the live server (a no-op if the migration holds
            # nothing), or dropped with a deleted one.
            if self._live(instance_uuid):
                self._back_to_instance(inst, mig)
            if not self._live(instance_uuid):
                self._placement.delete_allocations(mig.uuid)
                self._placement.delete_allocations(instance_uuid)
            return
        # The dead host's share of the server, held by the migration record.
        self._placement.delete_allocations(mig.uuid)
        LOG.info("instance %s evacuated from %s to %s", instance_uuid, mig.source_compute,
                 dest)
