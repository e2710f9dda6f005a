"""Durable work: every build in flight can be driven again from its record.

A build is a row: the instance in (building, scheduling|spawning), stamped with the
conductor driving it (``work_owner``, its service host) and since when. RPC casts can be
lost (a broker restart drops its queues, a killed process drops what it was handling), so
each conductor's ``Takeover`` looks periodically for builds nobody is driving and drives
them again from the row:

- scheduling, stamped by a conductor whose heartbeat stopped, by this conductor before it
  restarted, or by nobody for ``[conductor] redrive_after`` (the API's cast was lost):
  schedule again (the scheduler's claim is idempotent, so a claim made before the crash is
  found, not doubled);
- spawning on a host whose agent is down: rescheduled elsewhere, or ERROR with a fault
  naming the host and step once the attempts are used up;
- spawning with no answer for ``redrive_after``, or whose driver died: the spawn is cast
  again (an agent adopts a guest it already has);
- scheduling stamped by a live conductor that let it drop (an error past its retries),
  once every scheduler call it may still wait for has timed out: schedule again.

Every other action a conductor drives (power actions, deletes, snapshots, shelving,
rebuild, rescue, password) is stamped the same way when its flow picks it up
(``Tasks.load``); a new task clears the stamp. An action whose stamp says its conductor
died (or restarted), or that nobody picked up for ``redrive_after`` (its cast was lost),
is taken over at once instead of waiting for its deadline:

- driven again when the row holds all it needs and the step is safe to repeat: a power
  action (a second stop of a stopped guest answers its power state), a delete, a shelve
  offload, an unrescue;
- otherwise (its arguments were only in the lost message: a snapshot's upload, a
  rebuild's password, a rescue's image, ...) ended the way its deadline ends it, with a
  fault saying the conductor driving it stopped, so the user can ask again.

Moves (resize, migrations) are driven by the agents of two hosts as much as by a
conductor; they are left to their deadlines and ``MoveRecovery``.

Two conductors taking the same row over race on a compare-and-swap of the stamp; the
loser leaves it alone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.models import Instance, InstanceAction, Service
from common.compute_db.transition import transition
from common.context import RequestContext, admin_context
from common.db import read_only, transaction, utcnow
from common.errors import ControlPlaneError, NotFound
from common.lifecycle import Event
from common.settings import Settings
from common.states import TaskState, VmState
from compute_agent.rpc.client import ComputeClient
from conductor.flows.build import BuildFlow
from placement.client import PlacementClient

LOG = logging.getLogger(__name__)

CONDUCTOR_BINARY = "kilonova-conductor"
COMPUTE_BINARY = "kilonova-compute"
BUILD_TASKS = (TaskState.SCHEDULING, TaskState.SPAWNING)
# Abandoned actions driven again at once, each waiting on its host.
ACTION_WORKERS = 8

# Actions that cannot be driven again from their row: ended when abandoned.
ABANDONED_EXPIRE = frozenset({
    TaskState.IMAGE_SNAPSHOT, TaskState.IMAGE_BACKUP, TaskState.REBUILDING,
    TaskState.RESCUING, TaskState.SHELVING, TaskState.UNSHELVING,
    TaskState.UPDATING_PASSWORD})

# Drive an action again from its row: (context of its request, instance).
Redrive = Callable[[RequestContext, uuid.UUID], None]
# End an action now as its deadline would: (instance, task, why) -> ended by this call.
Expire = Callable[[uuid.UUID, TaskState, str], bool]


@dataclass(frozen=True)
class ActionRecovery:
    """What a conductor does with an action nobody drives any more."""

    redrive: Mapping[TaskState, Redrive]
    expire_tasks: Collection[TaskState]
    expire: Expire

    @property
    def tasks(self) -> list[str]:
        return [t.value for t in (*self.redrive, *self.expire_tasks)]


@dataclass(frozen=True)
class Build:
    """A build in flight as its row shows it."""

    uuid: uuid.UUID
    task: TaskState
    host: str | None
    owner: str | None
    claimed_at: datetime | None
    updated_at: datetime


def _in_tasks(session: Session, vm: sa.ColumnElement[bool], tasks: list[str]) -> list[Build]:
    """The live servers in one of ``tasks`` (and ``vm``), as their rows show them."""
    rows = session.execute(
        sa.select(Instance.uuid, Instance.task_state, Instance.host, Instance.work_owner,
                  Instance.work_claimed_at, Instance.updated_at)
        .where(Instance.deleted.is_(False), vm, Instance.task_state.in_(tasks))
        .order_by(Instance.id).limit(500)).all()
    return [Build(u, TaskState(t), h, o, c, up) for u, t, h, o, c, up in rows
            if t is not None]


class Takeover:
    def __init__(self, sessions: sessionmaker[Session], builds: BuildFlow,
                 compute: ComputeClient, placement: PlacementClient,
                 settings: Settings, actions: ActionRecovery | None = None) -> None:
        self._sessions = sessions
        self._actions = actions
        self._reads = read_only(sessions)
        self._builds = builds
        self._compute = compute
        self._placement = placement
        self._settings = settings
        self._me = settings.compute.host
        # Rows this conductor stamped before this start were abandoned by its last run.
        self._started = utcnow()
        self._computes_up = True

    def run(self) -> None:
        """One round: drive again every build and action nobody is driving."""
        builds, down = self._in_flight()
        for build in builds:
            try:
                self._recover(build, down)
            except ControlPlaneError as exc:
                LOG.warning("instance %s: taking its build over failed (%s); next round",
                            build.uuid, exc)
        if self._actions is None:
            return
        taken = [a for a in self._actions_in_flight()
                 if self._abandoned(a, down) and self._take(a)]
        if taken:
            # Each one waits on its host (a graceful stop may take a minute): side by side.
            with ThreadPoolExecutor(min(len(taken), ACTION_WORKERS),
                                    thread_name_prefix="takeover") as pool:
                for action in taken:
                    pool.submit(self._guarded_action, self._actions, action)

    def _guarded_action(self, recovery: ActionRecovery, action: Build) -> None:
        try:
            self._recover_action(recovery, action)
        except ControlPlaneError as exc:
            LOG.warning("instance %s: taking its %s over failed (%s); its deadline will end "
                        "it", action.uuid, action.task.value, exc)
        except Exception:
            LOG.exception("instance %s: taking its %s over failed", action.uuid,
                          action.task.value)

    def _actions_in_flight(self) -> list[Build]:
        assert self._actions is not None
        with transaction(self._reads) as session:
            return _in_tasks(session, Instance.vm_state != VmState.BUILDING,
                             self._actions.tasks)

    def _recover_action(self, recovery: ActionRecovery, action: Build) -> None:
        who = action.owner or "a lost message"
        redrive = recovery.redrive.get(action.task)
        if redrive is None:
            LOG.warning("instance %s: ending %s, abandoned by %s", action.uuid,
                        action.task.value, who)
            recovery.expire(action.uuid, action.task,
                            f"Task {action.task.value} was interrupted: the conductor "
                            "driving it stopped; try again")
            return
        LOG.warning("instance %s: driving %s again (abandoned by %s)", action.uuid,
                    action.task.value, who)
        with transaction(self._reads) as session:
            request_id = session.scalar(
                sa.select(InstanceAction.request_id)
                .where(InstanceAction.instance_uuid == action.uuid)
                .order_by(InstanceAction.id.desc()).limit(1))
        # The steps land in the action the user asked for, as if it had not stopped.
        redrive(admin_context(request_id), action.uuid)

    def _in_flight(self) -> tuple[list[Build], set[tuple[str, str]]]:
        """The builds in flight, and the (binary, host) of every service seen down."""
        down_time = timedelta(seconds=self._settings.service.service_down_time)
        now = utcnow()
        with transaction(self._reads) as session:
            builds = _in_tasks(session, Instance.vm_state == VmState.BUILDING,
                               [t.value for t in BUILD_TASKS])
            services = session.execute(
                sa.select(Service.binary, Service.host, Service.last_seen_up,
                          Service.forced_down)
                .where(Service.binary.in_([CONDUCTOR_BINARY, COMPUTE_BINARY]))).all()
        down = {(b, h) for b, h, seen, forced in services
                if forced or seen is None or now - seen > down_time}
        # Every agent silent at once is the message bus or this side failing, not the
        # hosts: their spawns are left to finish (or to their deadline), not rescheduled.
        self._computes_up = any(b == COMPUTE_BINARY and (b, h) not in down
                                for b, h, _, _ in services)
        return builds, down

    def _abandoned(self, build: Build, down: set[tuple[str, str]]) -> bool:
        """Nobody drives this build: its owner died, or never took it up."""
        stale = utcnow() - timedelta(seconds=self._settings.conductor.redrive_after)
        if build.owner is None:
            return build.updated_at < stale
        if build.owner == self._me:
            return build.claimed_at is None or build.claimed_at < self._started
        return (CONDUCTOR_BINARY, build.owner) in down

    def _stalled(self, build: Build) -> bool:
        """Driven, but nothing came of it: a spawn whose agent never answered, or a
        scheduling its conductor gave up on half-way (an error past its retries)."""
        cfg = self._settings.conductor
        wait = cfg.redrive_after
        if build.task is TaskState.SCHEDULING:
            # Past the scheduler call its conductor may be waiting for; if it is still
            # asking again meanwhile, the idempotent claim makes the second drive harmless.
            wait += self._settings.messaging.rpc_timeout
        stale = utcnow() - timedelta(seconds=wait)
        return build.updated_at < stale and (build.claimed_at is None
                                             or build.claimed_at < stale)

    def _recover(self, build: Build, down: set[tuple[str, str]]) -> None:
        if build.task is TaskState.SPAWNING and build.host is not None \
                and (COMPUTE_BINARY, build.host) in down and self._computes_up:
            self._host_lost(build)
            return
        if not (self._abandoned(build, down) or self._stalled(build)) \
                or not self._take(build):
            return
        ctx = admin_context()
        if build.task is TaskState.SCHEDULING:
            LOG.warning("instance %s: scheduling again (its build was abandoned by %s)",
                        build.uuid, build.owner or "a lost message")
            self._builds.build(ctx, build.uuid)
        elif build.host is not None:
            LOG.warning("instance %s: casting its spawn on %s again", build.uuid, build.host)
            self._compute.build_and_run_instance(ctx, build.host, build.uuid)

    def _take(self, build: Build) -> bool:
        """Compare-and-swap the stamp to this conductor; False if another took it."""
        with transaction(self._sessions) as session:
            owner = (Instance.work_owner.is_(None) if build.owner is None
                     else Instance.work_owner == build.owner)
            claimed = (Instance.work_claimed_at.is_(None) if build.claimed_at is None
                       else Instance.work_claimed_at == build.claimed_at)
            result = session.execute(
                sa.update(Instance)
                .where(Instance.uuid == build.uuid, Instance.deleted.is_(False),
                       Instance.task_state == build.task.value, owner, claimed)
                .values(work_owner=self._me, work_claimed_at=utcnow())
                .execution_options(synchronize_session=False))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _host_lost(self, build: Build) -> None:
        """The spawn's host is down: reschedule elsewhere, or ERROR naming the step."""
        host = build.host
        assert host is not None
        with transaction(self._sessions) as session:
            try:
                inst = queries.get_instance(session, build.uuid)
            except NotFound:
                return
            attempts = [*inst.attempted_hosts, host]
            if len(attempts) < self._settings.scheduler.max_attempts:
                moved = transition(
                    session, build.uuid, Event.RESCHEDULED, host=host,
                    expect_task={TaskState.SPAWNING},
                    values={"host": None, "node": None, "attempted_hosts": attempts})
            else:
                moved = transition(
                    session, build.uuid, Event.BUILD_FAILED, host=host,
                    expect_task={TaskState.SPAWNING},
                    fault=(f"Build of instance {build.uuid} failed while spawning: host "
                           f"{host} stopped answering (tried {', '.join(attempts)})"))
        if moved is None:
            return
        # Only once the record says so: a late spawn report then finds the host changed.
        self._placement.delete_allocations(build.uuid)
        if moved.after.vm is VmState.BUILDING:
            LOG.warning("instance %s: host %s is down while spawning; rescheduling",
                        build.uuid, host)
            self._builds.build(admin_context(), build.uuid)
        else:
            LOG.warning("instance %s: host %s is down while spawning; build failed",
                        build.uuid, host)
