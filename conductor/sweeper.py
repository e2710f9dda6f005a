"""Nothing waits forever: expire overdue tasks and release what deleted servers held."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.transition import transition
from common.db import transaction, utcnow
from common.lifecycle import MOVE_TASKS, Event
from common.states import TaskState
from conductor.flows.delete import DeleteFlow
from conductor.flows.resize import MoveRecovery

LOG = logging.getLogger(__name__)


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
        """Move every server whose task outlived its deadline where the table says."""
        with transaction(self._sessions) as session:
            overdue = [(i.uuid, TaskState(i.task_state))
                       for i in queries.expired_tasks(session, utcnow())
                       if i.task_state is not None]
        for instance_uuid, task in overdue:
            self.expire(instance_uuid, task)

    def expire(self, instance_uuid: uuid.UUID, task: TaskState,
               reason: str | None = None) -> bool:
        """End ``task`` the way its deadline does (now, whatever the deadline says).

        Also how an abandoned action nobody can drive again ends (``conductor/work.py``);
        ``reason`` then replaces the deadline's words in the fault and the failed step.
        """
        if task in MOVE_TASKS and self._moves is not None:
            if not self._moves.expired(instance_uuid, task):
                return False
            LOG.warning("instance %s: move task %s expired", instance_uuid, task)
            self._fail_events(instance_uuid, task, reason)
            return True
        with transaction(self._sessions) as session:
            moved = transition(session, instance_uuid, Event.EXPIRED, expect_task={task},
                               fault=reason)
        if moved is None:
            return False
        LOG.warning("instance %s: task %s expired", instance_uuid, task)
        if task != TaskState.DELETING:
            self._fail_events(instance_uuid, task, reason)
        if task is TaskState.REBUILDING and self._moves is not None:
            self._moves.evacuation_expired(instance_uuid)
        if moved.after.releases:
            self._deletes.release(instance_uuid)
        return True

    def _fail_events(self, instance_uuid: uuid.UUID, task: TaskState,
                     reason: str | None = None) -> None:
        with transaction(self._sessions) as session:
            queries.fail_open_events(session, instance_uuid,
                                     reason or f"Task {task} did not finish in time")

    def release_leftovers(self) -> None:
        """Retry releasing allocations of deleted servers whose release failed."""
        with transaction(self._sessions) as session:
            pending = [i.uuid for i in queries.uncleaned_deleted(session)]
        for instance_uuid in pending:
            self._deletes.release(instance_uuid)
