"""Delete: decide how a server goes away, finish it, release what it held in placement.

The API starts every delete the same way (task ``deleting``, with a deadline) and hands
it here. A server whose host is up is destroyed by that host's agent, which reports
back (``destroyed``); one never placed, or whose host is down, is deleted here at once.
"""

from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.models import Instance, Service
from common.compute_db.transition import transition
from common.context import RequestContext
from common.db import read_only, transaction, utcnow
from common.errors import ControlPlaneError
from common.lifecycle import Event
from common.settings import Settings
from common.states import TaskState, VmState
from compute_agent.rpc.client import ComputeClient
from conductor.hosts import COMPUTE_BINARY
from conductor.neutron_ports import NeutronPorts
from placement.client import PlacementClient

LOG = logging.getLogger(__name__)


class DeleteFlow:
    # Releasing allocations is a write to placement outside the scheduler: it frees what
    # a deleted consumer held and can never over-commit a host, so it stays here.
    def __init__(self, sessions: sessionmaker[Session], placement: PlacementClient,
                 compute: ComputeClient, settings: Settings) -> None:
        self._sessions = sessions
        self._reads = read_only(sessions)
        self._placement = placement
        self._compute = compute
        self._settings = settings
        # [network] backend = neutron: a deleted server's ports are released there.
        self.neutron_ports: NeutronPorts | None = None

    def delete(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        """Finish a delete the API started: through the host's agent, or right here."""
        with transaction(self._sessions) as session:
            # Driven by this conductor from now on (another takes it over if it dies),
            # if it is still being deleted: one statement stamps and reads the host.
            found = session.execute(
                sa.update(Instance)
                .where(Instance.uuid == instance_uuid, Instance.deleted.is_(False),
                       Instance.task_state == TaskState.DELETING.value)
                .values(work_owner=self._settings.compute.host, work_claimed_at=utcnow())
                .returning(Instance.host)
                .execution_options(synchronize_session=False)).one_or_none()
            if found is None:
                LOG.info("instance %s is no longer deleting; nothing to do", instance_uuid)
                return
            host = found.host if found.host and self._host_up(session, found.host) else None
        if host is None:
            self._delete_locally(instance_uuid)
        else:
            self._compute.terminate_instance(ctx, host, instance_uuid)

    def _host_up(self, session: Session, host: str) -> bool:
        # Two columns, not the service's row: one of every delete's statements.
        row = session.execute(sa.select(Service.forced_down, Service.last_seen_up).where(
            Service.host == host, Service.binary == COMPUTE_BINARY)).one_or_none()
        return row is not None and queries.seen_up(
            row.forced_down, row.last_seen_up, self._settings.service.service_down_time)

    def _delete_locally(self, instance_uuid: uuid.UUID) -> None:
        with transaction(self._sessions) as session:
            moved = transition(session, instance_uuid, Event.DELETED_LOCALLY,
                               expect_task={TaskState.DELETING})
        if moved is not None:
            LOG.info("instance %s deleted without its host", instance_uuid)
            self.release(instance_uuid)
            if self.neutron_ports is not None:
                self.neutron_ports.converge_quietly(instance_uuid)

    def destroyed(self, host: str, instance_uuid: uuid.UUID) -> None:
        """The agent on ``host`` destroyed the guest: release its resources, then finish.

        Releasing first means a server that reads as deleted holds nothing any more.
        A failed release leaves it deleting; its deadline retries the delete.
        """
        with transaction(self._reads) as session:
            row = session.execute(
                sa.select(Instance.vm_state, Instance.task_state, Instance.host)
                .where(Instance.uuid == instance_uuid, Instance.deleted.is_(False))
            ).one_or_none()
        if row is None or row.task_state != TaskState.DELETING or row.host != host:
            LOG.info("instance %s was not deleting on %s; nothing to finish",
                     instance_uuid, host)
            return
        states = (VmState(row.vm_state), TaskState.DELETING)
        self._placement.delete_allocations(instance_uuid)
        with transaction(self._sessions) as session:
            done = transition(session, instance_uuid, Event.DESTROYED, host=host,
                              likely=states, values={"cleaned": True}) is not None
        if done and self.neutron_ports is not None:
            self.neutron_ports.converge_quietly(instance_uuid)

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
