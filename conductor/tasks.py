"""What every action flow does with its task: record its steps, end it, or fail it."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.models import Instance
from common.compute_db.network_queries import bind_server_ports, unbind_server_ports
from common.compute_db.transition import transition
from common.context import RequestContext
from common.db import read_only, transaction, utcnow
from common.errors import ControlPlaneError, NotFound
from common.lifecycle import Event, Trigger
from common.states import MigrationStatus, TaskState
from conductor.neutron_ports import NeutronPorts

LOG = logging.getLogger(__name__)

MigrationUpdate = tuple[uuid.UUID, MigrationStatus]
# Where the server's ports are bound after a step that moves it, and their status
# (``bind_server_ports``); host "": bound nowhere (an offloaded server).
PortBinding = tuple[str, str]


class Tasks:
    """Instance records as the action flows see them."""

    def __init__(self, sessions: sessionmaker[Session], owner: str | None = None) -> None:
        self.sessions = sessions
        self.reads = read_only(sessions)
        self._owner = owner
        # [network] backend = neutron: a step that binds the server's ports elsewhere
        # makes Neutron follow once it has committed (conductor/neutron_ports.py).
        self.neutron_ports: NeutronPorts | None = None

    def load(self, instance_uuid: uuid.UUID, task: TaskState) -> Instance | None:
        """The instance if it is still in ``task`` (None: deleted or changed meanwhile).

        With an ``owner``, the row is stamped as driven by this conductor from now on,
        so another conductor takes the task over if this one dies (``conductor/work.py``).
        """
        with transaction(self.sessions if self._owner else self.reads) as session:
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                return None
            if inst.task_state != task:
                LOG.info("instance %s is in task %s, not %s: nothing to do", instance_uuid,
                         inst.task_state, task)
                return None
            session.expunge(inst)
            if self._owner is not None and not self._stamp(session, instance_uuid, task):
                return None
            return inst

    def _stamp(self, session: Session, instance_uuid: uuid.UUID, task: TaskState) -> bool:
        result = session.execute(
            sa.update(Instance)
            .where(Instance.uuid == instance_uuid, Instance.task_state == task)
            .values(work_owner=self._owner, work_claimed_at=utcnow())
            .execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def event(self, ctx: RequestContext, instance_uuid: uuid.UUID, name: str,
              host: str | None) -> Iterator[None]:
        """Record one step of the request's instance action: Success, or Error and raise."""
        with transaction(self.sessions) as session:
            queries.start_event(session, instance_uuid, ctx.request_id, name, host)
        try:
            yield
        except ControlPlaneError as exc:
            self._finish(ctx, instance_uuid, name, exc.message or type(exc).__name__)
            raise
        except Exception as exc:
            self._finish(ctx, instance_uuid, name, f"unexpected error: {exc!r}")
            raise
        self._finish(ctx, instance_uuid, name, None)

    def _finish(self, ctx: RequestContext, instance_uuid: uuid.UUID, name: str,
                error: str | None) -> None:
        with transaction(self.sessions) as session:
            queries.finish_event(session, instance_uuid, ctx.request_id, name, error)

    def step(self, instance_uuid: uuid.UUID, task: TaskState, trigger: Trigger, *,
             values: Mapping[str, Any] | None = None, power: int | None = None,
             fault: str | None = None, migration: MigrationUpdate | None = None,
             ports: PortBinding | None = None) -> bool:
        """Take ``trigger`` while the server is still in ``task``. False if it changed.

        ``migration``: the move's record changes status in the same transaction, so a
        client that sees the server's new status finds the migration there too; so do
        its ports their binding (``ports``).
        """
        with transaction(self.sessions) as session:
            moved = transition(session, instance_uuid, trigger, expect_task={task},
                               values=values, power=power, fault=fault)
            if moved is not None and migration is not None:
                queries.set_migration_status(session, *migration)
            if moved is not None and ports is not None:
                host, status = ports
                if host:
                    bind_server_ports(session, instance_uuid, host, status)
                else:
                    unbind_server_ports(session, instance_uuid)
        if moved is not None and ports is not None and self.neutron_ports is not None:
            self.neutron_ports.converge_quietly(instance_uuid, host=ports[0])
        return moved is not None

    def end(self, instance_uuid: uuid.UUID, task: TaskState, event: Event = Event.DONE, *,
            values: Mapping[str, Any] | None = None, power: int | None = None,
            migration: MigrationUpdate | None = None, ports: PortBinding | None = None
            ) -> bool:
        """Leave ``task`` by its successful outcome. False if the server changed."""
        won = self.step(instance_uuid, task, event, values=values, power=power,
                        migration=migration, ports=ports)
        if not won:
            LOG.info("instance %s left task %s meanwhile (deleted?)", instance_uuid, task)
        return won

    def fail(self, instance_uuid: uuid.UUID, task: TaskState, message: str) -> bool:
        """Leave ``task`` as failed (the table says where) and record a fault saying why."""
        won = self.step(instance_uuid, task, Event.FAILED, fault=message)
        LOG.warning("instance %s: %s failed: %s", instance_uuid, task, message)
        return won
