"""Actions done on the server's own host: rebuild, rescue, unrescue, crash dump, password.

The API set the task state and recorded the instance action; each flow asks the host's
agent for one step (recorded as an action event), then ends the task by the lifecycle
table or fails it with a fault. The server keeps its host and placement allocations.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from common.compute_db import queries
from common.context import RequestContext
from common.db import transaction
from common.errors import Conflict, ControlPlaneError, DriverError
from common.lifecycle import Event
from common.states import TaskState
from compute_agent.rpc.client import ComputeClient
from conductor.tasks import Tasks

LOG = logging.getLogger(__name__)


class HostActionFlow:
    def __init__(self, tasks: Tasks, compute: ComputeClient) -> None:
        self._tasks = tasks
        self._compute = compute

    def _run(self, ctx: RequestContext, instance_uuid: uuid.UUID, task: TaskState,
             event: str, step: Callable[[str], int | None], *,
             failed: Event = Event.FAILED) -> bool:
        """Run ``step(host)`` while the server is in ``task``; end or fail the task."""
        inst = self._tasks.load(instance_uuid, task)
        if inst is None:
            return False
        host = inst.host
        if host is None:
            self._tasks.fail(instance_uuid, task, f"{event}: the server has no host")
            return False
        try:
            with self._tasks.event(ctx, instance_uuid, event, host):
                power = step(host)
        except ControlPlaneError as exc:
            message = f"{task.value} failed on {host}: {exc.message}"
            self._tasks.step(instance_uuid, task, failed, fault=message)
            LOG.warning("instance %s: %s", instance_uuid, message)
            raise
        return self._tasks.end(instance_uuid, task, power=power)

    def _quietly(self, run: Callable[[], bool]) -> None:
        """A cast's flow: the failure is recorded as the server's fault, nobody waits."""
        with contextlib.suppress(ControlPlaneError):
            run()

    def rebuild(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                admin_pass: str | None, preserve_ephemeral: bool) -> None:
        """The host replaces the guest's disk by the recorded image and boots it; a failure
        leaves the server in ERROR (its old disk is gone), as upstream."""
        self._quietly(lambda: self._run(
            ctx, instance_uuid, TaskState.REBUILDING, "compute_rebuild_instance",
            lambda host: self._compute.rebuild_instance(ctx, host, instance_uuid, admin_pass,
                                                        preserve_ephemeral),
            failed=Event.REBUILD_FAILED))

    def rescue(self, ctx: RequestContext, instance_uuid: uuid.UUID,
               rescue_image_ref: str | None, admin_pass: str | None) -> None:
        self._quietly(lambda: self._run(
            ctx, instance_uuid, TaskState.RESCUING, "compute_rescue_instance",
            lambda host: self._compute.rescue_instance(ctx, host, instance_uuid,
                                                       rescue_image_ref, admin_pass)))

    def unrescue(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        self._quietly(lambda: self._run(
            ctx, instance_uuid, TaskState.UNRESCUING, "compute_unrescue_instance",
            lambda host: self._compute.unrescue_instance(ctx, host, instance_uuid)))

    def set_admin_password(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                           password: str) -> None:
        """Set the guest's password; the agent's refusal (Conflict) goes to the caller."""
        def step(host: str) -> None:
            self._compute.set_admin_password(ctx, host, instance_uuid, password)

        try:
            done = self._run(ctx, instance_uuid, TaskState.UPDATING_PASSWORD,
                             "compute_set_admin_password", step)
        except DriverError as exc:
            raise Conflict(f"Failed to set admin password on {instance_uuid}: "
                           f"{exc.message}") from None
        if not done:
            raise Conflict(f"Instance {instance_uuid} changed while its password was set")

    def trigger_crash_dump(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        """Send the guest an NMI (no task state: the server stays as it is)."""
        host = self._host(instance_uuid)
        try:
            with self._tasks.event(ctx, instance_uuid, "compute_trigger_crash_dump", host):
                self._compute.trigger_crash_dump(ctx, host, instance_uuid)
        except ControlPlaneError as exc:
            LOG.warning("instance %s: crash dump failed on %s: %s", instance_uuid, host,
                        exc.message)

    def diagnostics(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> dict[str, Any]:
        """The guest's diagnostics from its host. Raises NotFound, Conflict (no host)."""
        return self._compute.get_diagnostics(ctx, self._host(instance_uuid), instance_uuid)

    def _host(self, instance_uuid: uuid.UUID) -> str:
        with transaction(self._tasks.reads) as session:
            host = queries.get_instance(session, instance_uuid).host
        if host is None:
            raise Conflict(f"Instance {instance_uuid} is not ready: it has no host")
        return host
