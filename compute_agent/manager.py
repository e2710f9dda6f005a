"""One host's agent: registers the host, spawns and destroys guests, reports back."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from common.context import RequestContext, admin_context
from common.errors import (
    Conflict,
    ControlPlaneError,
    DriverError,
    NotFound,
    ServiceUnavailable,
)
from common.lifecycle import GUEST_VMS
from common.messages import (
    FlavorPayload,
    GuestAddress,
    GuestDiagnostics,
    GuestState,
    InstancePayload,
    PortPayload,
)
from common.states import PowerState, TaskState, VmState
from compute_agent.images import ImageUploader
from compute_agent.network.wiring import PortWiring
from compute_agent.startup import HostStartup
from compute_agent.virt.driver import Driver
from conductor.rpc.client import ConductorClient
from placement.client import PlacementClient

LOG = logging.getLogger(__name__)

BINARY = "kilonova-compute"


# Hosts one heartbeat message speaks for (a process may serve a thousand simulated ones).
HEARTBEAT_BATCH = 500


def heartbeat_hosts(conductor: ConductorClient, hosts: Sequence[str],
                    timeout: float | None = None) -> None:
    """Mark every host this process serves alive, a few messages for all of them, so
    that many simulated hosts cost the conductor one statement per beat, not one each."""
    for start in range(0, len(hosts), HEARTBEAT_BATCH):
        batch = list(hosts[start:start + HEARTBEAT_BATCH])
        try:
            conductor.service_heartbeats(admin_context(), batch, BINARY, timeout=timeout)
        except ServiceUnavailable as exc:
            LOG.warning("hosts %s..%s: heartbeat not delivered: %s", batch[0], batch[-1],
                        exc)


def sync_hosts(conductor: ConductorClient, managers: Sequence[ComputeManager]) -> None:
    """The periodic sync of every host this process serves, one read of the records for
    up to ``HEARTBEAT_BATCH`` hosts (a thousand simulated hosts: two calls, not 1,000)."""
    for start in range(0, len(managers), HEARTBEAT_BATCH):
        batch = managers[start:start + HEARTBEAT_BATCH]
        try:
            records = conductor.instances_on_hosts(admin_context(), [m.host for m in batch])
        except ControlPlaneError as exc:
            LOG.warning("sync of %d hosts skipped: %s", len(batch), exc)
            continue
        for manager in batch:
            try:
                manager.sync(records.get(manager.host, []))
            except Exception:
                # One host's trouble must not keep the others from converging.
                LOG.exception("host %s: sync failed", manager.host)


class ComputeManager:
    def __init__(self, host: str, driver: Driver, conductor: ConductorClient,
                 placement: PlacementClient, images: ImageUploader | None = None,
                 rpc_server: str | None = None, wiring: PortWiring | None = None,
                 vif_plugging_timeout: float = 300.0, vif_plugging_is_fatal: bool = True,
                 vtep_ip: str | None = None, reports_wiring: bool = True) -> None:
        self.host = host
        # Whether this host tells the conductor a server's ports are wired (the builtin
        # network); with an external Neutron, its own agents report them there.
        self._reports_wiring = reports_wiring
        # How this host wires a server's ports before its guest starts (None: nothing
        # to wire, reported wired at once); a wiring that fails or outlasts the timeout
        # fails the spawn when fatal, else the ports stay DOWN (upstream's options).
        self._wiring = wiring
        self._vif_timeout = vif_plugging_timeout
        self._vif_fatal = vif_plugging_is_fatal
        self._vtep_ip = vtep_ip
        # The queue of the agent process when it serves many hosts (None: the host's).
        self._rpc_server = rpc_server
        self._driver = driver
        self._conductor = conductor
        self._placement = placement
        self._images = images
        # Serialises work on one instance (a build and a delete racing on this host).
        self._locks: defaultdict[uuid.UUID, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        # The addresses last recorded per guest: only changes are sent to the conductor.
        self._addresses: dict[uuid.UUID, list[GuestAddress]] = {}
        driver.set_power_event_handler(self._power_changed)

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
                                                 timeout=attempt_timeout,
                                                 rpc_server=self._rpc_server,
                                                 vtep_ip=self._vtep_ip)
                break
            except ServiceUnavailable as exc:
                LOG.warning("host %s: conductor not answering yet (%s); retrying",
                            self.host, exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._placement.ensure_resource_provider(node.uuid, node.hypervisor_hostname)
        self._placement.set_inventory(node.uuid, node.inventories())
        self._placement.set_traits(node.uuid, self._driver.node_traits())
        LOG.debug("host %s registered node %s", self.host, node.uuid)

    def heartbeat(self, timeout: float | None = None) -> None:
        heartbeat_hosts(self._conductor, [self.host], timeout)

    def init_host(self) -> None:
        """Before consuming work: settle what a previous run left in flight on this host,
        then record every server's power state from the hypervisor."""
        HostStartup(self.host, self._driver, self._conductor).run(
            spawn=self.build_and_run_instance, terminate=self.terminate_instance)
        self.sync()

    def build_and_run_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                               given: InstancePayload | None = None) -> None:
        """Spawn the guest. ``given``: the record the build message carried (one round
        trip fewer); a server deleted since is found out by ``instance_spawned``."""
        with self._lock(instance_uuid):
            inst = given if given is not None and given.host == self.host else \
                self._conductor.get_instance_for_host(ctx, self.host, instance_uuid)
            if inst is None or inst.task_state is not TaskState.SPAWNING:
                LOG.info("not building %s: no longer spawning on this host", instance_uuid)
                return
            failure = self._wire(ctx, inst)
            if failure is not None and self._vif_fatal:
                self._conductor.instance_spawn_failed(ctx, self.host, instance_uuid,
                                                      failure, retryable=True)
                return
            try:
                # A spawn cast again (a restart, a conductor taking over) adopts its guest.
                existing = self._driver.list_guests().get(instance_uuid)
                power_state = self._driver.spawn(inst) if existing is None else existing
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
                                                    power_state, reports_wiring=True) \
                    and not self._is_ours(ctx, instance_uuid):
                # Deleted (or sent elsewhere) while we spawned: leave no orphan guest.
                # A record still on this host keeps its guest: this message was a late
                # duplicate (a broker outage delivers a build cast after its re-cast),
                # its copy of the record stale, and the server already ACTIVE here.
                LOG.info("instance %s changed during spawn; destroying guest", instance_uuid)
                self._driver.destroy(instance_uuid)

    def _wire(self, ctx: RequestContext, inst: InstancePayload) -> str | None:
        """Wire the server's ports and report them wired; why not, or None when done."""
        if not inst.ports:
            return None
        try:
            if self._wiring is not None:
                self._run_wiring(self._wiring, inst)
            if self._reports_wiring:
                self._conductor.ports_wired(ctx, self.host, inst.uuid,
                                            [p.id for p in inst.ports])
        except ControlPlaneError as exc:
            LOG.warning("ports of %s not wired: %s", inst.uuid, exc.message)
            return exc.message
        return None

    def _run_wiring(self, wiring: PortWiring, inst: InstancePayload) -> None:
        """``wiring.wire(inst)`` within the plugging timeout. Raises DriverError.

        A wiring that is done at once (``immediate``: a simulated host's, which programs
        nothing) runs in this thread; one that waits on a data plane runs in a thread of
        its own, so that the timeout bounds it. A timeout of 0 sets no bound (upstream's
        0: the spawn does not time out waiting for its ports).
        """
        failure: BaseException | None = None
        if getattr(wiring, "immediate", False) or self._vif_timeout <= 0:
            try:
                wiring.wire(inst)
            except Exception as exc:
                failure = exc
        else:
            done: list[BaseException | None] = []

            def run() -> None:
                try:
                    wiring.wire(inst)
                    done.append(None)
                except BaseException as exc:
                    done.append(exc)

            worker = threading.Thread(target=run, name=f"wire-{inst.uuid}", daemon=True)
            worker.start()
            worker.join(self._vif_timeout)
            if not done:
                raise DriverError(f"port {inst.ports[0].id} was not wired on {self.host} "
                                  f"within {self._vif_timeout:g}s")
            failure = done[0]
        if failure is not None:
            if isinstance(failure, ControlPlaneError):
                raise failure
            raise DriverError(f"port {inst.ports[0].id} was not wired on {self.host}: "
                              f"{failure}") from failure

    def terminate_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        with self._lock(instance_uuid):
            self._driver.destroy(instance_uuid)
            self._conductor.instance_destroyed(ctx, self.host, instance_uuid)
        with self._locks_guard:
            self._locks.pop(instance_uuid, None)

    def sync(self, given: Sequence[InstancePayload] | None = None) -> None:
        """Converge the hypervisor with the records: power states, orphans, lost deletes.

        ``given``: this host's servers as a batched read found them (``sync_hosts``).
        """
        ctx = admin_context()
        try:
            found = given if given is not None else \
                self._conductor.instances_on_host(ctx, self.host)
        except ControlPlaneError as exc:
            LOG.warning("sync skipped: %s", exc)
            return
        records = {i.uuid: i for i in found}
        guests = self._driver.list_guests()
        for guest_uuid in guests.keys() - records.keys():
            with self._lock(guest_uuid):
                if guest_uuid in self._driver.list_guests() and not self._is_ours(ctx,
                                                                                  guest_uuid):
                    LOG.warning("destroying orphan guest %s", guest_uuid)
                    self._driver.destroy(guest_uuid)
        for inst in records.values():
            if inst.task_state is TaskState.DELETING:
                # A terminate message was lost (agent restart): finish the delete.
                self.terminate_instance(ctx, inst.uuid)
        known = [GuestState(uuid=u, power_state=p) for u, p in guests.items() if u in records]
        if known:
            self._conductor.sync_power_states(ctx, self.host, known)
        lost = [i.uuid for i in records.values() if i.uuid not in guests
                and i.task_state is None and i.vm_state in GUEST_VMS]
        if lost:
            # Never ACTIVE without a guest: ERROR with a fault that says it is gone.
            self._conductor.guests_lost(ctx, self.host, lost)
        self._sync_addresses(ctx, [u for u, p in guests.items()
                                   if u in records and p == PowerState.RUNNING])

    def _sync_addresses(self, ctx: RequestContext, running: list[uuid.UUID]) -> None:
        """Record the addresses running guests hold (leases arrive after the boot)."""
        for gone in self._addresses.keys() - set(running):
            del self._addresses[gone]
        for guest_uuid in running:
            try:
                found = self._driver.guest_addresses(guest_uuid)
                if found != self._addresses.get(guest_uuid, []):
                    self._conductor.set_instance_addresses(ctx, self.host, guest_uuid, found)
                    self._addresses[guest_uuid] = found
            except ControlPlaneError as exc:
                LOG.warning("addresses of %s not recorded (%s); the next sync retries",
                            guest_uuid, exc)

    def _is_ours(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> bool:
        return self._conductor.get_instance_for_host(ctx, self.host, instance_uuid) is not None

    # -- hypervisor events -------------------------------------------------------------

    def _power_changed(self, instance_uuid: uuid.UUID, power_state: int) -> None:
        """A lifecycle event from the driver: record the new power state at once."""
        try:
            self._conductor.sync_power_states(
                admin_context(), self.host,
                [GuestState(uuid=instance_uuid, power_state=power_state)])
        except ControlPlaneError as exc:
            LOG.warning("power state of %s not recorded (%s); the next sync will",
                        instance_uuid, exc)

    # -- operations on one guest ---------------------------------------------------

    def _on_guest(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                  operation: Callable[[uuid.UUID], int]) -> int:
        """Run a power operation on a guest of this host and record its new power state.

        Raises NotFound if the instance is not on this host, DriverError if it fails.
        """
        with self._lock(instance_uuid):
            inst = self._conductor.get_instance_for_host(ctx, self.host, instance_uuid)
            if inst is None:
                raise NotFound(f"instance {instance_uuid} is not on host {self.host}")
            if inst.task_state is None:
                # Its task ended meanwhile (this agent's restart settled it): a request
                # queued before the restart must not act on the guest any more.
                raise Conflict(f"instance {instance_uuid} has no task in progress")
            try:
                power_state = operation(instance_uuid)
            finally:
                self._report_power(ctx, instance_uuid)
            return power_state

    def _report_power(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        state = self._driver.list_guests().get(instance_uuid, 0)
        self._conductor.sync_power_states(ctx, self.host,
                                          [GuestState(uuid=instance_uuid, power_state=state)])

    def start_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> int:
        return self._on_guest(ctx, instance_uuid, self._driver.power_on)

    def stop_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                      timeout: float | None = None) -> int:
        return self._on_guest(ctx, instance_uuid,
                              lambda u: self._driver.power_off(u, timeout))

    def reboot_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                        hard: bool = False) -> int:
        return self._on_guest(ctx, instance_uuid, lambda u: self._driver.reboot(u, hard))

    def pause_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> int:
        return self._on_guest(ctx, instance_uuid, self._driver.pause)

    def unpause_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> int:
        return self._on_guest(ctx, instance_uuid, self._driver.unpause)

    def suspend_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> int:
        return self._on_guest(ctx, instance_uuid, self._driver.suspend)

    def resume_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> int:
        return self._on_guest(ctx, instance_uuid, self._driver.resume)

    def resize_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                        flavor: FlavorPayload) -> int:
        inst = self._conductor.get_instance_for_host(ctx, self.host, instance_uuid)
        if inst is None:
            raise NotFound(f"instance {instance_uuid} is not on host {self.host}")
        return self._on_guest(ctx, instance_uuid, lambda u: self._driver.resize(inst, flavor))

    def get_console_output(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                           lines: int | None = None) -> str:
        if self._conductor.get_instance_for_host(ctx, self.host, instance_uuid) is None:
            raise NotFound(f"instance {instance_uuid} is not on host {self.host}")
        return self._driver.console_output(instance_uuid, lines)

    def snapshot_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                          dest: Path) -> None:
        with self._lock(instance_uuid):
            if self._conductor.get_instance_for_host(ctx, self.host, instance_uuid) is None:
                raise NotFound(f"instance {instance_uuid} is not on host {self.host}")
            self._driver.snapshot(instance_uuid, dest)

    def pre_live_migration(self, ctx: RequestContext, instance_uuid: uuid.UUID
                           ) -> dict[str, str]:
        """On the destination host, before the source starts moving the guest; answers
        what the source needs to reach this host (``migrate_uri``)."""
        inst = self._conductor.get_instance_for_host(ctx, self.host, instance_uuid)
        if inst is None:
            raise NotFound(f"instance {instance_uuid} is not known to host {self.host}")
        return self._driver.prepare_incoming(inst)

    def live_migrate_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                              dest_host: str, timeout: float | None = None,
                              migrate_uri: str | None = None) -> None:
        """Move the guest; on failure it keeps running here (DriverError)."""
        with self._lock(instance_uuid):
            if self._conductor.get_instance_for_host(ctx, self.host, instance_uuid) is None:
                raise NotFound(f"instance {instance_uuid} is not on host {self.host}")
            self._driver.live_migrate(instance_uuid, dest_host, timeout, migrate_uri)

    # Not under the instance's lock: the migration they steer holds it.
    def abort_live_migration(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        """Stop this host's live migration of the guest; it keeps running here."""
        self._driver.abort_live_migration(instance_uuid)

    def force_complete_live_migration(self, ctx: RequestContext,
                                      instance_uuid: uuid.UUID) -> None:
        """Make this host's live migration of the guest converge now."""
        self._driver.force_complete_live_migration(instance_uuid)

    # -- 1.2: snapshots to images, the steps of migrations -----------------------------

    def _instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> InstancePayload:
        """The instance, if this host may act on it (its host, or a migration's end)."""
        inst = self._conductor.get_instance_for_host(ctx, self.host, instance_uuid)
        if inst is None:
            raise NotFound(f"instance {instance_uuid} is not known to host {self.host}")
        return inst

    def snapshot_to_image(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                          image_id: uuid.UUID) -> None:
        """Snapshot the root disk and upload it as the data of the queued ``image_id``."""
        if self._images is None:
            raise DriverError(f"host {self.host} has no image API to upload snapshots to")
        with tempfile.TemporaryDirectory(prefix="kilonova-snapshot-") as tmp:
            dest = Path(tmp) / "snapshot.qcow2"
            self.snapshot_instance(ctx, instance_uuid, dest)
            self._images.upload(str(image_id), dest)

    def post_live_migration_at_destination(self, ctx: RequestContext,
                                           instance_uuid: uuid.UUID) -> int:
        with self._lock(instance_uuid):
            inst = self._instance(ctx, instance_uuid)
            return self._driver.post_live_migration_at_destination(inst)

    def rollback_live_migration_at_destination(self, ctx: RequestContext,
                                               instance_uuid: uuid.UUID) -> None:
        with self._lock(instance_uuid):
            self._driver.rollback_live_migration_at_destination(instance_uuid)

    def migrate_disk_and_power_off(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                                   dest_host: str) -> dict[str, str]:
        with self._lock(instance_uuid):
            inst = self._instance(ctx, instance_uuid)
            return self._driver.migrate_disk_and_power_off(inst, dest_host)

    def finish_migration(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                         flavor: FlavorPayload, power_on: bool,
                         disk_info: dict[str, str]) -> int:
        with self._lock(instance_uuid):
            inst = self._instance(ctx, instance_uuid)
            return self._driver.finish_migration(inst, flavor, power_on, disk_info)

    def destroy_migrated(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        """The end of a move the guest left (confirmed: source; reverted: destination)."""
        with self._lock(instance_uuid):
            self._instance(ctx, instance_uuid)
            self._driver.destroy(instance_uuid)

    def finish_revert_migration(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                                power_on: bool) -> int:
        with self._lock(instance_uuid):
            inst = self._instance(ctx, instance_uuid)
            return self._driver.finish_revert_migration(inst, power_on)

    # -- 1.4: evacuate --------------------------------------------------------------

    def evacuate_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                          power_on: bool) -> int:
        """On the destination of an evacuation: build the guest anew from its image (the
        source host is down; its disks are not reachable). Stopped afterwards unless
        ``power_on``. Raises DriverError (nothing left behind) or NotFound."""
        with self._lock(instance_uuid):
            inst = self._instance(ctx, instance_uuid)
            try:
                power_state = self._driver.spawn(inst)
                if not power_on:
                    power_state = self._driver.power_off(instance_uuid, 0)
            except Exception:
                self._driver.destroy(instance_uuid)
                raise
            return power_state

    # -- 1.4: actions on a guest that stays on this host -------------------------------

    def _here(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> InstancePayload:
        """The instance, if it is recorded on this host. Raises NotFound."""
        inst = self._conductor.get_instance_for_host(ctx, self.host, instance_uuid)
        if inst is None or inst.host != self.host:
            raise NotFound(f"instance {instance_uuid} is not on host {self.host}")
        return inst

    def rebuild_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                         admin_pass: str | None, preserve_ephemeral: bool) -> int:
        """Spawn the guest again from the recorded image; a stopped server stays stopped."""
        with self._lock(instance_uuid):
            inst = self._here(ctx, instance_uuid)
            power = self._driver.rebuild(inst, admin_pass, preserve_ephemeral)
            if inst.vm_state is VmState.STOPPED:
                power = self._driver.power_off(instance_uuid, 0)
            return power

    def rescue_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                        rescue_image_ref: str | None, admin_pass: str | None) -> int:
        with self._lock(instance_uuid):
            inst = self._here(ctx, instance_uuid)
            image_ref = rescue_image_ref or inst.image_ref
            if image_ref is None:
                raise DriverError(f"instance {instance_uuid} has no image to rescue with")
            return self._driver.rescue(inst, image_ref, admin_pass)

    def unrescue_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> int:
        with self._lock(instance_uuid):
            return self._driver.unrescue(self._here(ctx, instance_uuid))

    def trigger_crash_dump(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        with self._lock(instance_uuid):
            self._here(ctx, instance_uuid)
            self._driver.inject_nmi(instance_uuid)

    def set_admin_password(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                           password: str) -> None:
        with self._lock(instance_uuid):
            self._driver.set_admin_password(self._here(ctx, instance_uuid), password)

    def get_diagnostics(self, ctx: RequestContext, instance_uuid: uuid.UUID
                        ) -> GuestDiagnostics:
        # No lock: a read, and it must not wait behind a long rebuild.
        return self._driver.diagnostics(self._here(ctx, instance_uuid))

    # -- 1.4: shelving -------------------------------------------------------------------

    def shelve_offload_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID) -> None:
        """Destroy a shelved guest: its snapshot in the image API is all that remains."""
        with self._lock(instance_uuid):
            self._instance(ctx, instance_uuid)
            self._driver.destroy(instance_uuid)

    def unshelve_instance(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                          image_id: uuid.UUID) -> int:
        """Spawn an offloaded server here from its shelved snapshot ``image_id``.

        A failed spawn leaves nothing behind (DriverError).
        """
        with self._lock(instance_uuid):
            inst = self._instance(ctx, instance_uuid)
            try:
                return self._driver.spawn(inst.model_copy(update={"root_image": str(image_id)}))
            except Exception:
                self._driver.destroy(instance_uuid)
                raise

    # -- 1.7: hot-plugged interfaces -----------------------------------------------------

    def attach_interface(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                         port: PortPayload) -> None:
        """Plug the port into the guest (running: live and persistent). Raises NotFound,
        DriverError (nothing plugged)."""
        with self._lock(instance_uuid):
            inst = self._here(ctx, instance_uuid)
            if self._wiring is not None:
                # Filtered and served (DHCP) before the guest sees the interface.
                self._run_wiring(self._wiring, inst.model_copy(update={"ports": [port]}))
            self._driver.attach_interface(inst, port)

    def refresh_network(self) -> None:
        """What this host's data plane holds changed: converge it soon, in the
        background (a host without a data plane has nothing to do)."""
        converge_soon = getattr(self._wiring, "converge_soon", None)
        if converge_soon is not None:
            converge_soon()

    def detach_interface(self, ctx: RequestContext, instance_uuid: uuid.UUID,
                         port: PortPayload) -> None:
        """Unplug the port from the guest; one it does not have is fine. Raises NotFound,
        DriverError."""
        with self._lock(instance_uuid):
            inst = self._here(ctx, instance_uuid)
            if not any(p.id == port.id for p in inst.ports):
                # Released meanwhile: the record no longer names it, the message does.
                inst = inst.model_copy(update={"ports": [*inst.ports, port]})
            self._driver.detach_interface(inst, port.id)
