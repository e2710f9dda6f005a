"""One host's agent: registers the host, spawns and destroys guests, reports back."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict

from common.context import RequestContext, admin_context
from common.errors import ControlPlaneError, DriverError, ServiceUnavailable
from common.messages import GuestState
from compute_agent.virt.driver import Driver
from conductor.rpc.client import ConductorClient
from placement.client import PlacementClient

LOG = logging.getLogger(__name__)

BINARY = "kilonova-compute"


class ComputeManager:
    def __init__(self, host: str, driver: Driver, conductor: ConductorClient,
                 placement: PlacementClient) -> None:
        self.host = host
        self._driver = driver
        self._conductor = conductor
        self._placement = placement
        # Serialises work on one instance (a build and a delete racing on this host).
        self._locks: defaultdict[uuid.UUID, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()

    def _lock(self, instance_uuid: uuid.UUID) -> threading.Lock:
        with self._locks_guard:
            return self._locks[instance_uuid]

    def register(self, attempt_timeout: float = 5.0) -> None:
        """Record the service and node, and publish the node's inventory to placement.

        Waits for the conductor: on a broker, a call sent before the conductor's queue
        exists is dropped, so agents started first keep asking.
        """
        ctx = admin_context()
        node = self._driver.node_report()
        delay = 0.5
        while True:
            try:
                self._conductor.register_compute(ctx, self.host, node,
                                                 timeout=attempt_timeout)
                break
            except ServiceUnavailable as exc:
                LOG.warning("host %s: conductor not answering yet (%s); retrying",
                            self.host, exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._placement.ensure_resource_provider(node.uuid, node.hypervisor_hostname)
        self._placement.set_inventory(node.uuid, node.inventories())
        LOG.info("host %s registered node %s", self.host, node.uuid)

    def heartbeat(self, timeout: float | None = None) -> None:
        try:
            self._conductor.service_heartbeat(admin_context(), self.host, BINARY,
                                              timeout=timeout)
        except ServiceUnavailable as exc:
            LOG.warning("host %s: heartbeat not delivered: %s", self.host, exc)

    def build_and_run_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        with self._lock(instance_uuid):
            inst = self._conductor.get_instance_for_host(ctx, self.host, instance_uuid)
            if inst is None or inst.task_state != "spawning":
                LOG.info("not building %s: no longer spawning on this host", instance_uuid)
                return
            try:
                power_state = self._driver.spawn(inst)
            except DriverError as exc:
                self._driver.destroy(instance_uuid)
                self._conductor.instance_spawn_failed(ctx, self.host, instance_uuid,
                                                      exc.message, retryable=True)
                return
            except Exception as exc:
                LOG.exception("spawn of %s failed unexpectedly", instance_uuid)
                self._driver.destroy(instance_uuid)
                self._conductor.instance_spawn_failed(ctx, self.host, instance_uuid,
                                                      f"unexpected error: {exc}",
                                                      retryable=True)
                return
            if not self._conductor.instance_spawned(ctx, self.host, instance_uuid,
                                                    power_state):
                # Deleted while we spawned: do not leave an orphan guest behind.
                LOG.info("instance %s changed during spawn; destroying guest", instance_uuid)
                self._driver.destroy(instance_uuid)

    def terminate_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        with self._lock(instance_uuid):
            self._driver.destroy(instance_uuid)
            self._conductor.instance_destroyed(ctx, self.host, instance_uuid)
        with self._locks_guard:
            self._locks.pop(instance_uuid, None)

    def sync(self) -> None:
        """Converge the hypervisor with the records: power states, orphans, lost deletes."""
        ctx = admin_context()
        try:
            records = {i.uuid: i for i in self._conductor.instances_on_host(ctx, self.host)}
        except ControlPlaneError as exc:
            LOG.warning("sync skipped: %s", exc)
            return
        guests = self._driver.list_guests()
        for guest_uuid in guests.keys() - records.keys():
            with self._lock(guest_uuid):
                if guest_uuid in self._driver.list_guests() and not self._is_ours(ctx,
                                                                                  guest_uuid):
                    LOG.warning("destroying orphan guest %s", guest_uuid)
                    self._driver.destroy(guest_uuid)
        for inst in records.values():
            if inst.task_state == "deleting":
                # A terminate message was lost (agent restart): finish the delete.
                self.terminate_instance(ctx, inst.uuid)
        known = [GuestState(uuid=u, power_state=p) for u, p in guests.items() if u in records]
        missing = [GuestState(uuid=i.uuid, power_state=0) for i in records.values()
                   if i.uuid not in guests and i.vm_state == "active"]
        if known or missing:
            self._conductor.sync_power_states(ctx, self.host, known + missing)

    def _is_ours(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> bool:
        return self._conductor.get_instance_for_host(ctx, self.host, instance_uuid) is not None
