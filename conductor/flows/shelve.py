"""Shelve, offload and unshelve.

Shelving powers the guest off and snapshots it into the image the API queued
(``<name>-shelved``): SHELVED, still on its host. Offloading (at once with
``[compute] shelved_offload_time = 0``, later by the reclaimer, or by shelveOffload)
destroys the guest and gives the host's resources back: SHELVED_OFFLOADED, no host, no
placement allocations. Unshelving a SHELVED server powers it on where it is; an
offloaded one is scheduled again (the scheduler claims), spawned from the snapshot, and
the snapshot is deleted once the server runs.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.transition import transition
from common.context import RequestContext
from common.db import read_only, transaction, utcnow
from common.errors import ControlPlaneError, NotFound, NoValidHost
from common.lifecycle import Event
from common.settings import Settings
from common.states import Action, TaskState, VmState
from compute_agent.rpc.client import ComputeClient
from conductor.flows.actions import drop_image
from conductor.images import ImageRecords
from conductor.instances import deadline, to_request_spec
from conductor.tasks import Tasks
from placement.client import PlacementClient
from scheduler.rpc.client import SchedulerClient

LOG = logging.getLogger(__name__)

_FORGET_SHELVE = {"shelved_image_id": None, "shelved_at": None}


class ShelveFlow:
    # Like deletes, offloading releases a host's allocations; every claim is the
    # scheduler's (unshelve asks it like a build does).
    def __init__(self, tasks: Tasks, scheduler: SchedulerClient, compute: ComputeClient,
                 placement: PlacementClient, images: ImageRecords,
                 settings: Settings) -> None:
        self._tasks = tasks
        self._scheduler = scheduler
        self._compute = compute
        self._placement = placement
        self._images = images
        self._settings = settings

    @property
    def _sessions(self) -> sessionmaker[Session]:
        return self._tasks.sessions

    def shelve(self, ctx: RequestContext, instance_uuid: uuid.UUID,
               image_id: uuid.UUID) -> None:
        """Power off and snapshot into ``image_id``; offload at once if configured."""
        task = TaskState.SHELVING
        inst = self._tasks.load(instance_uuid, task)
        if inst is None or inst.host is None:
            drop_image(self._sessions, image_id)
            return
        host = inst.host
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_shelve_instance", host):
                power = self._compute.stop_instance(ctx, host, instance_uuid,
                                                    timeout=self._settings.libvirt
                                                    .shutdown_timeout)
                self._compute.snapshot_to_image(ctx, host, instance_uuid, image_id)
        except ControlPlaneError as exc:
            drop_image(self._sessions, image_id)
            self._tasks.fail(instance_uuid, task, f"shelve failed on {host}: {exc.message}")
            return
        shelved = {"shelved_image_id": str(image_id), "shelved_at": utcnow()}
        if not self._tasks.end(instance_uuid, task, values=shelved, power=power):
            return
        LOG.info("instance %s shelved on %s as image %s", instance_uuid, host, image_id)
        if self._settings.compute.shelved_offload_time == 0 and self.begin_offload(
                instance_uuid):
            self.offload(ctx, instance_uuid)

    def begin_offload(self, instance_uuid: uuid.UUID) -> bool:
        """SHELVED -> task shelving_offloading (no user asked: no action recorded)."""
        with transaction(self._sessions) as session:
            return transition(
                session, instance_uuid, Action.SHELVE_OFFLOAD, expect_task={None},
                deadline=deadline(self._settings.conductor.task_timeout)) is not None

    def offload(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        """Destroy the guest, release the host's allocations: SHELVED_OFFLOADED."""
        task = TaskState.SHELVING_OFFLOADING
        inst = self._tasks.load(instance_uuid, task)
        if inst is None:
            return
        host = inst.host
        if host is not None:
            try:
                with self._tasks.event(ctx, instance_uuid, "compute_shelve_offload_instance",
                                       host):
                    self._compute.shelve_offload_instance(ctx, host, instance_uuid)
            except ControlPlaneError as exc:
                self._tasks.fail(instance_uuid, task,
                                 f"shelve offload failed on {host}: {exc.message}")
                return
        try:
            self._placement.delete_allocations(instance_uuid)
        except ControlPlaneError as exc:
            # The guest is gone: the server must not keep its host. Placement keeps the
            # allocations until the unshelve's claim replaces them or a delete drops them.
            LOG.warning("allocations of offloaded %s not released: %s", instance_uuid, exc)
        # Its ports stay its own, bound nowhere until it is unshelved.
        if self._tasks.end(instance_uuid, task, values={"host": None, "node": None},
                           ports=("", "DOWN")):
            LOG.info("instance %s offloaded from %s", instance_uuid, host)

    def unshelve(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                 host: str | None) -> None:
        """Power a SHELVED server on; schedule and spawn an offloaded one."""
        task = TaskState.UNSHELVING
        inst = self._tasks.load(instance_uuid, task)
        if inst is None:
            return
        if inst.vm_state == VmState.SHELVED and inst.host is not None:
            self._power_on(ctx, instance_uuid, inst.host, inst.shelved_image_id)
            return
        image_id = inst.shelved_image_id
        if image_id is None:
            self._tasks.fail(instance_uuid, task, "unshelve: the server has no shelved image")
            return
        placed = self._place(ctx, instance_uuid, host)
        if placed is None:
            return
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_unshelve_instance", placed):
                power = self._compute.unshelve_instance(ctx, placed, instance_uuid,
                                                        uuid.UUID(image_id))
        except ControlPlaneError as exc:
            self._placement.delete_allocations(instance_uuid)
            self._tasks.step(instance_uuid, task, Event.FAILED,
                             values={"host": None, "node": None}, ports=("", "DOWN"),
                             fault=f"unshelve failed on {placed}: {exc.message}")
            return
        self._finish(instance_uuid, image_id, power, placed, bind=True)

    def _power_on(self, ctx: RequestContext, instance_uuid: uuid.UUID, host: str,
                  image_id: str | None) -> None:
        task = TaskState.UNSHELVING
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_start_instance", host):
                power = self._compute.start_instance(ctx, host, instance_uuid)
        except ControlPlaneError as exc:
            self._tasks.fail(instance_uuid, task, f"unshelve failed on {host}: {exc.message}")
            return
        self._finish(instance_uuid, image_id, power, host)

    def _finish(self, instance_uuid: uuid.UUID, image_id: str | None, power: int,
                host: str, bind: bool = False) -> None:
        """``bind``: the server came back from offloaded, its ports bound here again."""
        if not self._tasks.end(instance_uuid, TaskState.UNSHELVING, values=_FORGET_SHELVE,
                               power=power, ports=(host, "ACTIVE") if bind else None):
            return  # expired or deleted meanwhile: the snapshot may still be needed
        LOG.info("instance %s unshelved on %s", instance_uuid, host)
        if image_id is not None:
            self._images.delete(image_id)

    def _place(self, ctx: RequestContext, instance_uuid: uuid.UUID,
               host: str | None) -> str | None:
        """Schedule an offloaded server (the scheduler claims) and record its host."""
        task = TaskState.UNSHELVING
        with transaction(read_only(self._sessions)) as session:
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                return None
            spec = to_request_spec(session, inst).model_copy(update={
                "ignore_hosts": [], "requested_host": host, "requested_node": None})
        try:
            selection = self._scheduler.select_destination(ctx, spec)
        except NoValidHost as exc:
            self._tasks.fail(instance_uuid, task, exc.message)
            return None
        except ControlPlaneError as exc:
            # The scheduler may have claimed before its answer was lost.
            self._placement.delete_allocations(instance_uuid)
            self._tasks.fail(instance_uuid, task, f"Scheduling failed: {exc.message}")
            return None
        if not self._tasks.step(instance_uuid, task, Event.UNSHELVE_PLACED,
                                values={"host": selection.host,
                                        "node": selection.nodename},
                                ports=(selection.host, "BUILD")):
            LOG.info("instance %s changed while it was scheduled; releasing its claim",
                     instance_uuid)
            self._placement.delete_allocations(instance_uuid)
            return None
        return selection.host
