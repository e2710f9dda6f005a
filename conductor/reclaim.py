"""Deferred work on servers at rest: reclaim soft-deleted servers once
``[compute] reclaim_instance_interval`` passed, offload shelved ones once
``[compute] shelved_offload_time`` passed (upstream's two compute periodic tasks, run
by the conductor here), and give back the host an expired unshelve had claimed."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.transition import Record, transition
from common.context import admin_context
from common.db import transaction, utcnow
from common.errors import ControlPlaneError
from common.lifecycle import Event
from common.settings import Settings
from common.states import Action, VmState
from conductor.flows.delete import DeleteFlow
from conductor.flows.shelve import ShelveFlow
from conductor.instances import deadline
from placement.client import PlacementClient

LOG = logging.getLogger(__name__)


class Reclaimer:
    def __init__(self, sessions: sessionmaker[Session], deletes: DeleteFlow,
                 shelves: ShelveFlow, placement: PlacementClient, settings: Settings) -> None:
        self._sessions = sessions
        self._deletes = deletes
        self._placement = placement
        self._shelves = shelves
        self._settings = settings

    def run(self) -> None:
        self.reclaim_soft_deleted()
        self.offload_shelved()
        self.release_stranded()

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

    def release_stranded(self) -> None:
        """Offloaded servers an expired unshelve left on a host: clear the host, release
        the claim. (Its guest, if the spawn finished late, is an orphan the host's sync
        destroys; the shelved snapshot stays for the next unshelve.)"""
        with transaction(self._sessions) as session:
            stranded = queries.offloaded_on_a_host(session)
        for instance_uuid in stranded:
            with transaction(self._sessions) as session:
                moved = transition(session, instance_uuid, Event.HOST_RELEASED,
                                   expect_task={None}, values={"host": None, "node": None})
            if moved is None:
                continue  # an unshelve began meanwhile: the host is its business now
            # An unshelve would have to begin and be claimed between the swap above and
            # this release to lose its claim: a window of one placement call.
            try:
                self._placement.delete_allocations(instance_uuid)
            except ControlPlaneError as exc:
                LOG.warning("allocations of offloaded %s not released: %s", instance_uuid,
                            exc)
                continue
            LOG.warning("offloaded instance %s gave back the host of an expired unshelve",
                        instance_uuid)
