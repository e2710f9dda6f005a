"""Build: schedule and claim, record the host, hand the spawn to that host's agent.

A failed spawn releases the claim and goes back to the scheduler, avoiding hosts
already tried, up to ``[scheduler] max_attempts``; then the server is ERROR with a
fault that says why.
"""

from __future__ import annotations

import logging
import time
import uuid

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.models import Instance
from common.compute_db.network_queries import bind_server_ports, holds_ports
from common.compute_db.transition import transition
from common.context import RequestContext
from common.db import read_only, transaction
from common.errors import ControlPlaneError, NotFound, NoValidHost, ServiceUnavailable
from common.lifecycle import INITIAL, Event
from common.messages import HostSelection, InstancePayload, RequestSpec
from common.settings import Settings
from common.states import TaskState
from compute_agent.rpc.client import ComputeClient
from conductor.instances import (
    deadline,
    port_payloads,
    stamp,
    to_payload,
    to_request_spec,
)
from conductor.metadata import with_facts
from conductor.neutron_ports import NeutronPorts
from placement.client import PlacementClient
from scheduler.rpc.client import SchedulerClient

LOG = logging.getLogger(__name__)


class BuildFlow:
    def __init__(self, sessions: sessionmaker[Session], scheduler: SchedulerClient,
                 compute: ComputeClient, placement: PlacementClient,
                 settings: Settings, ports: NeutronPorts | None = None) -> None:
        self._sessions = sessions
        # [network] backend = neutron: the server's ports are made there once it has a
        # host, before its agent is told to spawn it.
        self._ports = ports
        self._reads = read_only(sessions)
        self._scheduler = scheduler
        self._compute = compute
        self._placement = placement
        self._settings = settings

    def build(self, ctx: RequestContext, instance_uuid: uuid.UUID, fresh: bool = False
              ) -> None:
        """Place one server in the scheduling task state and cast its spawn.

        ``fresh``: asked by the API's cast, which any conductor may take up only while
        no conductor drives the build yet. A cast that waited in the queue past
        ``redrive_after`` finds the build taken over and leaves it to that conductor:
        one build is never scheduled by two conductors at once.
        """
        # Read and stamped in one transaction: a write fewer per build.
        with transaction(self._sessions) as session:
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                LOG.info("instance %s vanished before it was scheduled", instance_uuid)
                return
            if (inst.vm_state, inst.task_state) != INITIAL:
                LOG.info("instance %s is %s/%s, not scheduling it", instance_uuid,
                         inst.vm_state, inst.task_state)
                return
            # Never driven before: no scheduler was asked for it yet, so it holds no claim.
            if fresh and inst.work_owner is not None:
                LOG.info("instance %s is driven by %s already", instance_uuid,
                         inst.work_owner)
                return
            spec = to_request_spec(session, inst).model_copy(
                update={"first_claim": inst.work_owner is None})
            if not stamp(session, instance_uuid, self._settings.compute.host,
                         unowned=fresh):
                LOG.info("instance %s was taken over meanwhile", instance_uuid)
                return
        try:
            selection = self._select_destination(ctx, spec)
        except NoValidHost as exc:
            self._fail(instance_uuid, TaskState.SCHEDULING, exc.message)
            return
        except ControlPlaneError as exc:
            self._fail(instance_uuid, TaskState.SCHEDULING, f"Scheduling failed: {exc.message}")
            return
        record = self._record_host(inst, selection)
        if record is not None and self._ports is not None:
            record = self._with_neutron_ports(inst, selection.host, record)
        if record is not None:
            LOG.info("instance %s scheduled to %s", instance_uuid, selection.host)
            self._compute.build_and_run_instance(ctx, selection.host, instance_uuid, record)

    def _with_neutron_ports(self, inst: Instance, host: str, record: InstancePayload
                            ) -> InstancePayload | None:
        """The server's ports made (or taken over) in Neutron and bound to ``host``; the
        record with them. None: Neutron refused, the server is ERROR with a fault and
        holds neither its claim nor bound ports."""
        assert self._ports is not None
        try:
            view = self._ports.converge(inst.uuid, host=host)
        except ControlPlaneError as exc:
            message = f"Network allocation for instance {inst.uuid} failed: {exc.message}"
            self._placement.delete_allocations(inst.uuid)
            with transaction(self._sessions) as session:
                won = transition(session, inst.uuid, Event.BUILD_FAILED,
                                 expect_task={TaskState.SPAWNING}, fault=message,
                                 values={"host": None, "node": None}) is not None
            LOG.warning("build of %s failed: %s", inst.uuid, message)
            if won:
                # Bound nowhere now: ports made for it stay its own until it is deleted.
                self._ports.converge_quietly(inst.uuid)
            return None
        if view is None:
            return record
        return record.model_copy(update={"ports": view.payloads(),
                                         "metadata_facts": view.facts(
            inst.id, inst.reservation_id or "")})

    def _select_destination(self, ctx: RequestContext, spec: RequestSpec) -> HostSelection:
        """Ask the scheduler, asking again when no answer came (a broker outage).

        The scheduler's claim is idempotent (same consumer, same resources), so a claim
        made before its answer was lost is found again, never made twice.
        """
        cfg = self._settings.conductor
        pause = cfg.scheduler_retry_pause
        for attempt in range(1, cfg.scheduler_attempts + 1):
            try:
                return self._scheduler.select_destination(ctx, spec)
            except ServiceUnavailable as exc:
                if attempt == cfg.scheduler_attempts:
                    raise
                LOG.warning("scheduling %s: no answer (%s); asking again in %.1f s",
                            spec.instance_uuid, exc.message, pause)
                time.sleep(pause)
                pause *= 2
                # The lost answer may have been a claim: the scheduler looks for it.
                spec = spec.model_copy(update={"first_claim": False})
        raise AssertionError("unreachable")

    def _record_host(self, inst: Instance, selection: HostSelection
                     ) -> InstancePayload | None:
        """Record the host; the record as the agent needs it, None if the server changed.

        The record is the row read when the build began, moved to its new host and
        states, as a message sent then would have carried it (no second read).
        """
        instance_uuid = inst.uuid
        with transaction(self._sessions) as session:
            moved = transition(
                session, instance_uuid, Event.SCHEDULED, likely=INITIAL,
                values={"host": selection.host, "node": selection.nodename},
                deadline=deadline(self._settings.conductor.build_timeout))
            record = None
            if moved is not None:
                record = to_payload(inst, (selection, moved.after))
                # Most servers of a large cloud hold no port here: one read, no writes.
                if not holds_ports(session, instance_uuid):
                    record = with_facts(session, inst, record, holds_ports=False)
                else:
                    bind_server_ports(session, instance_uuid, selection.host, "BUILD")
                    # Its ports as bound: the config drive's network_data.json.
                    record = with_facts(session, inst, record.model_copy(
                        update={"ports": port_payloads(session, instance_uuid)}))
        won = moved is not None
        if not won and not self._placed(instance_uuid):
            # Deleted (or otherwise changed) while we scheduled: give the claim back.
            # A build driven twice (a takeover) keeps the claim the winner recorded,
            # also once that winner's server is ACTIVE.
            LOG.info("instance %s changed during scheduling; releasing its claim",
                     instance_uuid)
            self._placement.delete_allocations(instance_uuid)
        return record

    def _placed(self, instance_uuid: uuid.UUID) -> bool:
        """Whether the live server is recorded on a host (its claim is in use)."""
        with transaction(self._reads) as session:
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                return False
            return inst.host is not None

    def spawn_failed(self, ctx: RequestContext, host: str, instance_uuid: uuid.UUID,
                     reason: str, retryable: bool) -> None:
        """An agent could not spawn: reschedule elsewhere or end in ERROR."""
        self._placement.delete_allocations(instance_uuid)
        with transaction(self._sessions) as session:
            try:
                inst = queries.get_instance(session, instance_uuid)
            except NotFound:
                return
            attempts = [*inst.attempted_hosts, host]
            if retryable and len(attempts) < self._settings.scheduler.max_attempts:
                rescheduled = transition(
                    session, instance_uuid, Event.RESCHEDULED, host=host,
                    values={"host": None, "node": None, "attempted_hosts": attempts},
                ) is not None
            else:
                rescheduled = False
        if rescheduled:
            LOG.info("rescheduling %s after failure on %s: %s", instance_uuid, host, reason)
            self.build(ctx, instance_uuid)
            return
        detail = f"Build of instance {instance_uuid} failed on {host}: {reason}"
        if len(attempts) > 1:
            detail += f" (tried {', '.join(attempts)})"
        self._fail(instance_uuid, TaskState.SPAWNING, detail)

    def _fail(self, instance_uuid: uuid.UUID, from_task: TaskState, message: str) -> None:
        """Move a build to ERROR with a fault; a no-op if it was deleted meanwhile."""
        with transaction(self._sessions) as session:
            won = transition(session, instance_uuid, Event.BUILD_FAILED,
                             expect_task={from_task}, fault=message) is not None
        LOG.warning("build of %s failed: %s", instance_uuid, message)
        if not won:
            return
        if from_task is TaskState.SCHEDULING:
            # The scheduler may have claimed before its answer was lost (RPC timeout).
            self._placement.delete_allocations(instance_uuid)
