"""Nothing waits forever: expire overdue tasks and release what deleted servers held."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.db import transaction, utcnow
from common.states import TaskState, VmState
from conductor.flows.delete import DeleteFlow
from conductor.flows.resize import MOVE_TASKS, MoveRecovery

LOG = logging.getLogger(__name__)

_BUILD_TASKS = {TaskState.SCHEDULING, TaskState.SPAWNING}


class Sweeper:
    def __init__(self, sessions: sessionmaker[Session], deletes: DeleteFlow,
                 moves: MoveRecovery | None = None) -> None:
        self._sessions = sessions
        self._deletes = deletes
        self._moves = moves

    def run(self) -> None:
        self.expire_tasks()
        self.release_leftovers()
        if self._moves is not None:
            self._moves.release_abandoned()

    def expire_tasks(self) -> None:
        """Move every server whose task outlived its deadline to a terminal state."""
        with transaction(self._sessions) as session:
            overdue = [(i.uuid, i.task_state, i.vm_state)
                       for i in queries.expired_tasks(session, utcnow())]
        for instance_uuid, task, vm in overdue:
            if task in MOVE_TASKS and self._moves is not None:
                if self._moves.expired(instance_uuid, str(task)):
                    LOG.warning("instance %s: move task %s expired", instance_uuid, task)
                    self._fail_events(instance_uuid, str(task))
                continue
            if task == TaskState.DELETING:
                values = queries.deleted_values()
                message = None
            elif task in _BUILD_TASKS:
                values = {"vm_state": VmState.ERROR, "task_state": None,
                          "task_deadline": None}
                message = f"Build did not finish in time (stuck in {task})"
            else:
                values = {"task_state": None, "task_deadline": None}
                message = f"Task {task} did not finish in time; server left {vm}"
            with transaction(self._sessions) as session:
                won = queries.swap_state(session, instance_uuid, expected_task=[task],
                                         values=values)
                if won and message:
                    inst = queries.get_instance(session, instance_uuid,
                                                include_deleted=True)
                    queries.add_fault(session, inst, 500, message)
            if won:
                LOG.warning("instance %s: task %s expired", instance_uuid, task)
                if task != TaskState.DELETING:
                    self._fail_events(instance_uuid, str(task))
            if won and (task == TaskState.DELETING or task in _BUILD_TASKS):
                self._deletes.release(instance_uuid)

    def _fail_events(self, instance_uuid: uuid.UUID, task: str) -> None:
        with transaction(self._sessions) as session:
            queries.fail_open_events(session, instance_uuid,
                                     f"Task {task} did not finish in time")

    def release_leftovers(self) -> None:
        """Retry releasing allocations of deleted servers whose release failed."""
        with transaction(self._sessions) as session:
            pending = [i.uuid for i in queries.uncleaned_deleted(session)]
        for instance_uuid in pending:
            self._deletes.release(instance_uuid)
