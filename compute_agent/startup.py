"""A restarting agent reconciles its host before it takes new work.

Whatever was in flight when the agent died is finished or rolled back here, from what
the conductor records and what the hypervisor shows: a spawn whose guest runs is
reported, one without a guest is spawned again; a delete is finished; a power, reboot or
snapshot task is ended by the guest's measured power state. The periodic sync that
follows records every server's power state and marks servers whose guest is gone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from common.context import RequestContext, admin_context
from common.errors import ControlPlaneError
from common.messages import InstancePayload
from common.states import TaskState
from compute_agent.virt.driver import Driver
from conductor.rpc.client import ConductorClient

LOG = logging.getLogger(__name__)

# Re-spawns run side by side (a host spawns many guests at once), bounded.
SPAWN_WORKERS = 4

InstanceStep = Callable[[RequestContext, uuid.UUID], None]


class HostStartup:
    def __init__(self, host: str, driver: Driver, conductor: ConductorClient) -> None:
        self._host = host
        self._driver = driver
        self._conductor = conductor

    def run(self, spawn: InstanceStep, terminate: InstanceStep) -> None:
        """Finish or roll back every operation the last run of this agent left open."""
        ctx = admin_context()
        try:
            records = self._conductor.instances_on_host(ctx, self._host)
        except ControlPlaneError as exc:
            # The periodic sync and the conductor's deadlines still converge the host.
            LOG.warning("host %s: reconciliation at start skipped: %s", self._host, exc)
            return
        guests = self._driver.list_guests()
        spawning = [i.uuid for i in records if i.task_state is TaskState.SPAWNING]
        for inst in records:
            self._settle(ctx, inst, guests, terminate)
        if spawning:
            LOG.warning("host %s: finishing %d spawns interrupted by a restart", self._host,
                        len(spawning))
            with ThreadPoolExecutor(SPAWN_WORKERS, thread_name_prefix="respawn") as pool:
                for done in [pool.submit(self._guarded, spawn, ctx, u) for u in spawning]:
                    done.result()

    def _settle(self, ctx: RequestContext, inst: InstancePayload, guests: dict[uuid.UUID, int],
                terminate: InstanceStep) -> None:
        task = inst.task_state
        if task is None or task is TaskState.SPAWNING:
            return
        if task is TaskState.DELETING:
            LOG.warning("host %s: finishing the interrupted delete of %s", self._host,
                        inst.uuid)
            self._guarded(terminate, ctx, inst.uuid)
            return
        try:
            self._conductor.end_interrupted_task(ctx, self._host, inst.uuid,
                                                 guests.get(inst.uuid))
        except ControlPlaneError as exc:
            LOG.warning("host %s: task %s of %s not ended (%s); its deadline will",
                        self._host, task, inst.uuid, exc)

    def _guarded(self, step: InstanceStep, ctx: RequestContext,
                 instance_uuid: uuid.UUID) -> None:
        try:
            step(ctx, instance_uuid)
        except Exception:
            # One server's trouble must not keep the host from starting.
            LOG.exception("host %s: reconciling %s failed", self._host, instance_uuid)
