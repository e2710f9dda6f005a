"""Delete: finishing a server's deletion and releasing what it held in placement."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.db import transaction
from common.errors import ControlPlaneError, NotFound
from common.states import TaskState
from placement.client import PlacementClient

LOG = logging.getLogger(__name__)


class DeleteFlow:
    def __init__(self, sessions: sessionmaker[Session], placement: PlacementClient) -> None:
        self._sessions = sessions
        self._placement = placement

    def destroyed(self, host: str, instance_uuid: uuid.UUID) -> None:
        """The agent on ``host`` destroyed the guest: release its resources, then finish.

        Releasing first means a server that reads as deleted holds nothing any more.
        A failed release leaves it deleting; its deadline retries the delete.
        """
        with transaction(self._sessions) as session:
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                return
            if inst.task_state != TaskState.DELETING or inst.host != host:
                LOG.info("instance %s was not deleting on %s; nothing to finish",
                         instance_uuid, host)
                return
        self._placement.delete_allocations(instance_uuid)
        with transaction(self._sessions) as session:
            queries.swap_state(
                session, instance_uuid, expected_task=[TaskState.DELETING], host=host,
                values={**queries.deleted_values(), "cleaned": True},
            )

    def release(self, instance_uuid: uuid.UUID) -> None:
        """Delete the allocations of a deleted server and remember that they are gone."""
        try:
            self._placement.delete_allocations(instance_uuid)
        except ControlPlaneError as exc:
            # The conductor's sweeper retries servers that are deleted but not cleaned.
            LOG.warning("releasing allocations of %s failed: %s", instance_uuid, exc)
            return
        with transaction(self._sessions) as session:
            inst = queries.get_instance(session, instance_uuid, include_deleted=True)
            queries.mark_cleaned(session, [inst.id])
