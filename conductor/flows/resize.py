"""Resize and cold migration, then confirm or revert.

Allocations follow upstream: the source host's share moves to the migration record's
uuid (a placement consumer of type MIGRATION) and the instance claims the destination
through the scheduler, so both are held until the move is confirmed (the migration's
share is dropped) or reverted (it goes back to the instance, replacing the destination).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from common.compute_db import queries
from common.compute_db.models import Instance, Migration
from common.context import RequestContext
from common.db import transaction
from common.errors import ControlPlaneError, NotFound, ServiceUnavailable
from common.lifecycle import MOVE_TASKS, Event, confirmed, reverted
from common.messages import FlavorPayload, HostSelection, RequestSpec
from common.settings import Settings
from common.states import MigrationKind, MigrationStatus, TaskState, VmState
from compute_agent.rpc.client import ComputeClient
from conductor.instances import to_request_spec
from conductor.tasks import Tasks
from placement.client import PlacementClient
from scheduler.rpc.client import SchedulerClient

LOG = logging.getLogger(__name__)

class MoveFlow:
    """What resize, cold and live migration share: records, allocations, scheduling.

    The scheduler claims (the destination, and the source's share for the migration);
    the conductor writes to placement only to give back or release what a move held.
    """

    def __init__(self, tasks: Tasks, scheduler: SchedulerClient, compute: ComputeClient,
                 placement: PlacementClient, settings: Settings) -> None:
        self._tasks = tasks
        self._scheduler = scheduler
        self._compute = compute
        self._placement = placement
        self._settings = settings

    def _migration(self, migration_uuid: uuid.UUID) -> Migration | None:
        with transaction(self._tasks.reads) as session:
            try:
                found = queries.get_migration(session, migration_uuid)
            except NotFound:
                return None
            session.expunge(found)
            return found

    def _live(self, instance_uuid: uuid.UUID) -> bool:
        """Whether the server still exists (not deleted)."""
        with transaction(self._tasks.reads) as session:
            try:
                queries.get_instance(session, instance_uuid)
            except NotFound:
                return False
            return True

    def _set_status(self, migration_uuid: uuid.UUID, status: MigrationStatus,
                    **values: Any) -> None:
        with transaction(self._tasks.sessions) as session:
            queries.set_migration_status(session, migration_uuid, status, **values)

    def _back_to_instance(self, inst: Instance, mig: Migration) -> None:
        """The migration's (source) allocations return to the instance, replacing any
        destination claim."""
        moved = self._placement.move_allocations(mig.uuid, inst.uuid, inst.project_id,
                                                 inst.user_id)
        if not moved:
            LOG.warning("migration %s held no allocations to give back to %s", mig.uuid,
                        inst.uuid)

    def _spec(self, inst: Instance, mig: Migration, same_host_ok: bool) -> RequestSpec:
        with transaction(self._tasks.reads) as session:
            fresh = queries.get_instance(session, inst.uuid)
            spec = to_request_spec(session, fresh)
        return spec.model_copy(update={
            "flavor": FlavorPayload.model_validate(mig.new_flavor),
            "ignore_hosts": [] if same_host_ok else [mig.source_compute],
            "requested_host": mig.requested_host, "requested_node": None,
        })

    def _claim(self, ctx: RequestContext, inst: Instance, mig: Migration) -> HostSelection:
        """The destination, chosen and claimed by the scheduler (a forced host: claimed
        there without filters), the source's share moved to the migration. Raises
        NoValidHost."""
        spec = self._spec(inst, mig, self._same_host_ok(mig))
        try:
            return self._scheduler.claim_move(ctx, spec, mig.uuid,
                                              forced=bool(mig.force and mig.requested_host))
        except ServiceUnavailable:
            # No answer: the scheduler may have moved the share; hand it back if so.
            self._back_to_instance(inst, mig)
            raise

    def _same_host_ok(self, mig: Migration) -> bool:
        return (mig.migration_type == MigrationKind.RESIZE
                and self._settings.conductor.allow_resize_to_same_host)

    def _best_effort(self, what: str, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except ControlPlaneError as exc:
            LOG.warning("%s failed while rolling back: %s", what, exc)
            return None


class ResizeFlow(MoveFlow):
    def migrate(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                migration_uuid: uuid.UUID) -> None:
        """Resize or cold-migrate: schedule, move the guest, end in VERIFY_RESIZE."""
        mig = self._migration(migration_uuid)
        inst = self._tasks.load(instance_uuid, TaskState.RESIZE_PREP)
        if mig is None or inst is None:
            if mig is not None:
                self._set_status(mig.uuid, MigrationStatus.ERROR)
            return
        try:
            with self._tasks.event(ctx, instance_uuid, "conductor_migrate_server", None):
                selection = self._claim(ctx, inst, mig)
        except ControlPlaneError as exc:
            self._set_status(mig.uuid, MigrationStatus.ERROR)
            self._tasks.fail(instance_uuid, TaskState.RESIZE_PREP, exc.message)
            return
        if not self._tasks.step(instance_uuid, TaskState.RESIZE_PREP, Event.MOVE_SCHEDULED):
            # Deleted, or ended by the sweeper (its deadline passed), while we scheduled:
            # nothing was moved yet. A live server takes its source share back.
            self._set_status(mig.uuid, MigrationStatus.ERROR)
            if self._live(instance_uuid):
                self._back_to_instance(inst, mig)
                if self._live(instance_uuid):
                    return
            self._placement.delete_allocations(mig.uuid)
            self._placement.delete_allocations(instance_uuid)
            return
        self._set_status(mig.uuid, MigrationStatus.MIGRATING, dest_compute=selection.host,
                         dest_node=selection.nodename)
        self._move(ctx, inst, mig, selection)

    def _move(self, ctx: RequestContext, inst: Instance, mig: Migration,
              selection: HostSelection) -> None:
        source, dest = mig.source_compute or "", selection.host
        flavor = FlavorPayload.model_validate(mig.new_flavor)
        power_on = mig.old_vm_state == VmState.ACTIVE
        task = TaskState.RESIZE_MIGRATING
        try:
            if dest == source:
                with self._tasks.event(ctx, inst.uuid, "compute_resize_instance", source):
                    power = self._resize_in_place(ctx, source, inst.uuid, flavor, power_on)
            else:
                with self._tasks.event(ctx, inst.uuid, "compute_resize_instance", source):
                    disk_info = self._compute.migrate_disk_and_power_off(ctx, source,
                                                                         inst.uuid, dest)
                if not self._tasks.step(inst.uuid, task, Event.MOVE_DISK_MOVED):
                    # Deleted, or expired by the sweeper: do not finish on the destination.
                    self._undo_move(ctx, inst, mig, dest, power_on)
                    return
                task = TaskState.RESIZE_FINISH
                with self._tasks.event(ctx, inst.uuid, "compute_finish_resize", dest):
                    power = self._compute.finish_migration(ctx, dest, inst.uuid, flavor,
                                                           power_on, disk_info)
        except ControlPlaneError as exc:
            self._undo_move(ctx, inst, mig, dest, power_on)
            self._tasks.fail(inst.uuid, task, f"{mig.migration_type} to {dest} failed: "
                             f"{exc.message}")
            return
        if self._tasks.end(inst.uuid, task, Event.MOVE_FINISHED, power=power,
                           migration=(mig.uuid, MigrationStatus.FINISHED), values={
                "host": dest, "node": selection.nodename, "flavor": dict(mig.new_flavor)},
                           ports=(dest, "ACTIVE" if power_on else "DOWN")):
            LOG.info("instance %s moved %s -> %s, awaiting confirmation", inst.uuid,
                     source, dest)

    def _resize_in_place(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                         flavor: FlavorPayload, power_on: bool) -> int:
        power = self._compute.resize_instance(ctx, host, instance_uuid, flavor)
        if not power_on:
            power = self._compute.stop_instance(ctx, host, instance_uuid, timeout=0)
        return power

    def _undo_move(self, ctx: RequestContext, inst: Instance, mig: Migration, dest: str,
                   power_on: bool) -> None:
        """A failed move leaves the guest on the source, as it was, holding the source."""
        source = mig.source_compute or ""
        if dest != source:
            self._best_effort("destroying the destination guest",
                              self._compute.destroy_migrated, ctx, dest, inst.uuid)
            self._best_effort("restarting the source guest",
                              self._compute.finish_revert_migration, ctx, source, inst.uuid,
                              power_on)
        self._back_to_instance(inst, mig)
        self._set_status(mig.uuid, MigrationStatus.ERROR)

    def confirm(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                migration_uuid: uuid.UUID) -> None:
        """Drop the source: its guest (another host) and the migration's allocations."""
        mig = self._migration(migration_uuid)
        inst = self._tasks.load(instance_uuid, TaskState.RESIZE_CONFIRMING)
        if mig is None or inst is None:
            return
        source = mig.source_compute or ""
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_confirm_resize", source):
                if source != mig.dest_compute:
                    self._compute.destroy_migrated(ctx, source, instance_uuid)
                self._placement.delete_allocations(mig.uuid)
        except ControlPlaneError as exc:
            self._set_status(mig.uuid, MigrationStatus.FINISHED)
            self._tasks.fail(instance_uuid, TaskState.RESIZE_CONFIRMING,
                             f"confirming the resize failed: {exc.message}")
            return
        self._set_status(mig.uuid, MigrationStatus.CONFIRMED)
        self._tasks.end(instance_uuid, TaskState.RESIZE_CONFIRMING,
                        confirmed(mig.old_vm_state))

    def revert(self, ctx: RequestContext, instance_uuid: uuid.UUID,
               migration_uuid: uuid.UUID) -> None:
        """Back to the source host and the old flavor, holding the source's resources."""
        mig = self._migration(migration_uuid)
        inst = self._tasks.load(instance_uuid, TaskState.RESIZE_REVERTING)
        if mig is None or inst is None:
            return
        source, dest = mig.source_compute or "", mig.dest_compute or ""
        power_on = mig.old_vm_state == VmState.ACTIVE
        old = FlavorPayload.model_validate(mig.old_flavor)
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_revert_resize", dest):
                if source == dest:
                    power = self._resize_in_place(ctx, source, instance_uuid, old, power_on)
                else:
                    self._compute.destroy_migrated(ctx, dest, instance_uuid)
            if source != dest:
                with self._tasks.event(ctx, instance_uuid, "compute_finish_revert_resize",
                                       source):
                    power = self._compute.finish_revert_migration(ctx, source, instance_uuid,
                                                                  power_on)
            self._back_to_instance(inst, mig)
        except ControlPlaneError as exc:
            self._set_status(mig.uuid, MigrationStatus.FINISHED)
            self._tasks.fail(instance_uuid, TaskState.RESIZE_REVERTING,
                             f"reverting the resize failed: {exc.message}")
            return
        self._set_status(mig.uuid, MigrationStatus.REVERTED)
        self._tasks.end(instance_uuid, TaskState.RESIZE_REVERTING, reverted(mig.old_vm_state),
                        power=power, values={"host": source, "node": mig.source_node,
                                             "flavor": dict(mig.old_flavor)},
                        ports=(source, "ACTIVE" if power_on else "DOWN"))


# Tasks of a move that has not reached the destination yet.
_MOVING = MOVE_TASKS - {TaskState.RESIZE_CONFIRMING, TaskState.RESIZE_REVERTING}


class MoveRecovery(MoveFlow):
    """What the sweeper does with moves that outlived their deadline or their server."""

    def expired(self, instance_uuid: uuid.UUID, task: TaskState) -> bool:
        """End an overdue move task. True if this call ended it."""
        with transaction(self._tasks.reads) as session:
            mig = queries.current_migration(session, instance_uuid)
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                return False  # deleted since it was found overdue
            if mig is not None:
                session.expunge(mig)
            session.expunge(inst)
        # The table says where: VERIFY_RESIZE for confirm / revert (the user may try
        # again), ERROR for a cold move caught halfway, unchanged for a live one.
        won = self._tasks.step(instance_uuid, task, Event.EXPIRED)
        if won and mig is not None:
            if task not in _MOVING:
                self._set_status(mig.uuid, MigrationStatus.FINISHED)
                return won
            # The server is recorded on the source until a move completes: keep that.
            self._best_effort("returning allocations", self._back_to_instance, inst, mig)
            self._set_status(mig.uuid, MigrationStatus.ERROR)
        return won

    def evacuation_expired(self, instance_uuid: uuid.UUID) -> None:
        """An evacuation whose task the sweeper ended: the server is still recorded on its
        (dead) source, so the source's share goes back to it, replacing the destination
        claim, and the migration failed."""
        with transaction(self._tasks.reads) as session:
            mig = queries.current_migration(session, instance_uuid)
            if mig is None or mig.migration_type != MigrationKind.EVACUATION:
                return
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                return
            session.expunge(mig)
            session.expunge(inst)
        self._best_effort("returning allocations", self._back_to_instance, inst, mig)
        self._set_status(mig.uuid, MigrationStatus.ERROR)

    def release_abandoned(self) -> None:
        """Moves of deleted servers: drop what their migration records still hold."""
        with transaction(self._tasks.reads) as session:
            stale = [(m.uuid, m.status) for m in queries.migrations_of_deleted(session)]
        for migration_uuid, status in stale:
            try:
                self._placement.delete_allocations(migration_uuid)
            except ControlPlaneError as exc:
                LOG.warning("releasing migration %s failed: %s", migration_uuid, exc)
                continue
            # Deleting a server awaiting confirmation confirms its resize, as upstream.
            self._set_status(migration_uuid, MigrationStatus.CONFIRMED
                             if status == MigrationStatus.FINISHED else MigrationStatus.ERROR)
