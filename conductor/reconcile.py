"""What a restarting agent asks of the conductor: end interrupted tasks, mark lost guests.

An agent that died in the middle of an operation finds its servers in a task nobody is
working on any more. At start (``init_host``) it measures each guest and reports here;
the outcome is the lifecycle table's: the task is done if the guest already shows its
result, failed (with a fault naming the interrupted step) otherwise.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import Instance
from common.compute_db.transition import transition
from common.db import transaction
from common.lifecycle import GUEST_VMS, Event
from common.states import ACTIONS, POWER_RESULTS, Action, PowerState, TaskState, VmState

LOG = logging.getLogger(__name__)

# The power state each power task's action leaves a guest in when it succeeded.
_RESULT_POWER = {
    VmState.ACTIVE: PowerState.RUNNING, VmState.STOPPED: PowerState.SHUTDOWN,
    VmState.PAUSED: PowerState.PAUSED, VmState.SUSPENDED: PowerState.SUSPENDED,
}
POWER_TASKS: dict[TaskState, PowerState] = {
    ACTIONS[action].sets_task: _RESULT_POWER[vm] for action, vm in POWER_RESULTS.items()
    # Reboots end where they began: done only if the agent saw them through.
    if action not in (Action.REBOOT_SOFT, Action.REBOOT_HARD)
}
# Tasks an agent runs alone on its host (no other host, no migration record involved).
AGENT_TASKS = frozenset({*POWER_TASKS, TaskState.REBOOTING, TaskState.REBOOTING_HARD,
                         TaskState.IMAGE_SNAPSHOT})


class AgentReconcile:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def end_interrupted_task(self, host: str, instance_uuid: uuid.UUID,
                             power_state: int | None) -> bool:
        """End the agent task a restart interrupted; False if there was none to end.

        ``power_state``: what the hypervisor shows now, None if the guest is gone.
        """
        with transaction(self._sessions) as session:
            row = session.execute(
                sa.select(Instance.vm_state, Instance.task_state)
                .where(Instance.uuid == instance_uuid, Instance.host == host,
                       Instance.deleted.is_(False))).one_or_none()
            if row is None or row[1] is None or TaskState(row[1]) not in AGENT_TASKS:
                return False
            task = TaskState(row[1])
            measured = PowerState.NOSTATE if power_state is None else PowerState(power_state)
            done = POWER_TASKS.get(task) == measured
            moved = transition(
                session, instance_uuid, Event.DONE if done else Event.FAILED,
                expect_task={task}, host=host, power=measured,
                fault=None if done else (
                    f"Task {task.value} was interrupted by a restart of host {host}; "
                    "try again"))
        if moved is not None:
            LOG.warning("instance %s: task %s on %s %s after the agent restarted",
                        instance_uuid, task.value, host, "done" if done else "failed")
        return moved is not None

    def guests_lost(self, host: str, instance_uuids: Sequence[uuid.UUID]) -> None:
        """Servers on ``host`` whose guest is gone go to ERROR with a fault saying so."""
        with transaction(self._sessions) as session:
            rows = session.execute(
                sa.select(Instance.uuid, Instance.vm_state)
                .where(Instance.uuid.in_(list(instance_uuids)), Instance.host == host,
                       Instance.deleted.is_(False), Instance.task_state.is_(None))).all()
            for instance_uuid, vm in rows:
                if VmState(vm) not in GUEST_VMS:
                    continue
                # A task that began since the agent looked wins: the swap then misses.
                if transition(session, instance_uuid, Event.GUEST_LOST,
                              seen=(VmState(vm), None), host=host) is not None:
                    LOG.warning("instance %s: its guest is gone from %s", instance_uuid,
                                host)
