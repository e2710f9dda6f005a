"""Nothing waits forever: expire overdue tasks and release what deleted servers held."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.db import transaction, utcnow
from common.states import TaskState, VmState
from conductor.flows.delete import DeleteFlow

LOG = logging.getLogger(__name__)

_BUILD_TASKS = {TaskState.SCHEDULING, TaskState.SPAWNING}


class Sweeper:
    def __init__(self, sessions: sessionmaker[Session], deletes: DeleteFlow) -> None:
        self._sessions = sessions
        self._deletes = deletes

    def run(self) -> None:
        self.expire_tasks()
        self.release_leftovers()

    def expire_tasks(self) -> None:
        """Move every server whose task outlived its deadline to a terminal state."""
        with transaction(self._sessions) as session:
            overdue = [(i.uuid, i.task_state, i.vm_state)
                       for i in queries.expired_tasks(session, utcnow())]
        for instance_uuid, task, vm in overdue:
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
            if won and (task == TaskState.DELETING or task in _BUILD_TASKS):
                self._deletes.release(instance_uuid)

    def release_leftovers(self) -> None:
        """Retry releasing allocations of deleted servers whose release failed."""
        with transaction(self._sessions) as session:
            pending = [i.uuid for i in queries.uncleaned_deleted(session)]
        for instance_uuid in pending:
            self._deletes.release(instance_uuid)
