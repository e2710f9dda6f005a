"""Deferred work on servers at rest: reclaim soft-deleted servers once
``[compute] reclaim_instance_interval`` passed, offload shelved ones once
``[compute] shelved_offload_time`` passed (upstream's two compute periodic tasks, run
by the conductor here)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.transition import Record, transition
from common.context import admin_context
from common.db import transaction, utcnow
from common.settings import Settings
from common.states import Action, VmState
from conductor.flows.delete import DeleteFlow
from conductor.flows.shelve import ShelveFlow
from conductor.instances import deadline

LOG = logging.getLogger(__name__)


class Reclaimer:
    def __init__(self, sessions: sessionmaker[Session], deletes: DeleteFlow,
                 shelves: ShelveFlow, settings: Settings) -> None:
        self._sessions = sessions
        self._deletes = deletes
        self._shelves = shelves
        self._settings = settings

    def run(self) -> None:
        self.reclaim_soft_deleted()
        self.offload_shelved()

    def reclaim_soft_deleted(self) -> None:
        """Delete SOFT_DELETED servers older than the interval (allocations released)."""
        interval = self._settings.compute.reclaim_instance_interval
        if interval <= 0:
            return
        cutoff = utcnow() - timedelta(seconds=interval)
        with transaction(self._sessions) as session:
            due = queries.resting_since(session, VmState.SOFT_DELETED, cutoff, "deleted_at")
        for instance_uuid in due:
            ctx = admin_context()
            with transaction(self._sessions) as session:
                moved = transition(
                    session, instance_uuid, Action.DELETE, expect_task={None},
                    deadline=deadline(self._settings.conductor.task_timeout),
                    record=Record(ctx, "delete"))
            if moved is not None:
                LOG.info("reclaiming soft-deleted instance %s", instance_uuid)
                self._deletes.delete(ctx, instance_uuid)

    def offload_shelved(self) -> None:
        """Offload SHELVED servers shelved longer than ``shelved_offload_time``."""
        wait = self._settings.compute.shelved_offload_time
        if wait <= 0:
            return  # 0: offloaded right after the shelve; -1: never
        cutoff = utcnow() - timedelta(seconds=wait)
        with transaction(self._sessions) as session:
            due = queries.resting_since(session, VmState.SHELVED, cutoff, "shelved_at")
        for instance_uuid in due:
            if self._shelves.begin_offload(instance_uuid):
                LOG.info("offloading instance %s, shelved for over %ss", instance_uuid, wait)
                self._shelves.offload(admin_context(), instance_uuid)
