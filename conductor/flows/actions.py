"""Power actions (with soft delete and restore), snapshots and backups: one call to the
server's agent, then end the task.

The API set the task state (powering-off, rebooting, image_snapshot, ...) and recorded
the instance action; this flow records the agent's step as an action event, then moves
the server on by the lifecycle table (``common.lifecycle``), or clears the task and records a fault.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.models import Image
from common.context import RequestContext
from common.db import transaction
from common.errors import Conflict, ControlPlaneError
from common.states import ACTIONS, Action, ImageStatus, TaskState
from compute_agent.rpc.client import ComputeClient
from conductor.images import ImageRecords
from conductor.tasks import Tasks

LOG = logging.getLogger(__name__)

# (agent, ctx, host, instance, seconds a graceful shutdown may take) -> power state
AgentCall = Callable[[ComputeClient, RequestContext, str, uuid.UUID, float], int]

# action -> (upstream's event name, the agent call answering the new power state)
POWER_CALLS: dict[Action, tuple[str, AgentCall]] = {
    Action.START: ("compute_start_instance",
                   lambda c, x, h, u, g: c.start_instance(x, h, u)),
    Action.STOP: ("compute_stop_instance",
                  lambda c, x, h, u, g: c.stop_instance(x, h, u, timeout=g)),
    Action.REBOOT_SOFT: ("compute_reboot_instance",
                         lambda c, x, h, u, g: c.reboot_instance(x, h, u, hard=False)),
    Action.REBOOT_HARD: ("compute_reboot_instance",
                         lambda c, x, h, u, g: c.reboot_instance(x, h, u, hard=True)),
    Action.PAUSE: ("compute_pause_instance",
                   lambda c, x, h, u, g: c.pause_instance(x, h, u)),
    Action.UNPAUSE: ("compute_unpause_instance",
                     lambda c, x, h, u, g: c.unpause_instance(x, h, u)),
    Action.SUSPEND: ("compute_suspend_instance",
                     lambda c, x, h, u, g: c.suspend_instance(x, h, u)),
    Action.RESUME: ("compute_resume_instance",
                    lambda c, x, h, u, g: c.resume_instance(x, h, u)),
    # Deferred delete: the guest is only powered off, and on again by a restore.
    Action.SOFT_DELETE: ("compute_soft_delete_instance",
                         lambda c, x, h, u, g: c.stop_instance(x, h, u, timeout=g)),
    Action.RESTORE: ("compute_restore_instance",
                     lambda c, x, h, u, g: c.start_instance(x, h, u)),
}


class ActionFlow:
    def __init__(self, tasks: Tasks, compute: ComputeClient, images: ImageRecords,
                 shutdown_timeout: float = 60.0) -> None:
        self._tasks = tasks
        self._compute = compute
        self._images = images
        self._shutdown_timeout = shutdown_timeout

    def power(self, ctx: RequestContext, instance_uuid: uuid.UUID, action: Action) -> None:
        """Run a power action on the server's host and record the outcome."""
        task = ACTIONS[action].sets_task
        inst = self._tasks.load(instance_uuid, task)
        if inst is None:
            return
        host = inst.host
        if host is None:
            self._tasks.fail(instance_uuid, task, f"{action.value}: the server has no host")
            return
        event, call = POWER_CALLS[action]
        try:
            with self._tasks.event(ctx, instance_uuid, event, host):
                power_state = call(self._compute, ctx, host, instance_uuid,
                                   self._shutdown_timeout)
        except ControlPlaneError as exc:
            self._tasks.fail(instance_uuid, task,
                             f"{action.value} failed on {host}: {exc.message}")
            return
        if self._tasks.end(instance_uuid, task, power=power_state):
            LOG.info("instance %s: %s done on %s", instance_uuid, action.value, host)

    def console_output(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                       length: int | None) -> str:
        """The guest's console from its host. Raises NotFound, Conflict (no host)."""
        with transaction(self._tasks.reads) as session:
            host = queries.get_instance(session, instance_uuid).host
        if host is None:
            raise Conflict(f"Instance {instance_uuid} is not ready: it has no host")
        return self._compute.get_console_output(ctx, host, instance_uuid, length)

    def snapshot(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                 image_id: uuid.UUID, task: TaskState = TaskState.IMAGE_SNAPSHOT,
                 event: str = "compute_snapshot_instance",
                 then: Callable[[], None] | None = None) -> None:
        """Have the host snapshot the root disk into ``image_id`` (queued→saving→active).

        ``then`` runs once the image is uploaded, before the task ends.
        """
        inst = self._tasks.load(instance_uuid, task)
        if inst is None or inst.host is None:
            drop_image(self._tasks.sessions, image_id)
            return
        host = inst.host
        try:
            with self._tasks.event(ctx, instance_uuid, event, host):
                self._compute.snapshot_to_image(ctx, host, instance_uuid, image_id)
        except ControlPlaneError as exc:
            drop_image(self._tasks.sessions, image_id)
            self._tasks.fail(instance_uuid, task,
                             f"snapshot failed on {host}: {exc.message}")
            return
        if then is not None:
            then()
        self._tasks.end(instance_uuid, task)

    def backup(self, ctx: RequestContext, instance_uuid: uuid.UUID, image_id: uuid.UUID,
               backup_type: str, rotation: int) -> None:
        """A snapshot as a backup, then keep only the newest ``rotation`` backups of the
        server and ``backup_type`` (0: none, not even this one), as upstream; the task
        ends after the rotation, so a client that sees the server idle sees it done."""
        self.snapshot(ctx, instance_uuid, image_id, TaskState.IMAGE_BACKUP,
                      "compute_backup_instance",
                      then=lambda: self._images.rotate_backups(instance_uuid, backup_type,
                                                               rotation))


def drop_image(sessions: sessionmaker[Session], image_id: uuid.UUID) -> None:
    """A snapshot that did not finish leaves no image behind (as upstream)."""
    with transaction(sessions) as session:
        session.execute(sa.delete(Image).where(Image.id == image_id,
                                               Image.status != ImageStatus.ACTIVE))
