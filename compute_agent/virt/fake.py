"""A simulated hypervisor: guests are entries in a dict, capacity comes from config."""

from __future__ import annotations

import json
import os
import platform
import threading
import time
import uuid
from pathlib import Path

from common.errors import DriverError, NotFound
from common.messages import (
    DIAGNOSTICS_STATES,
    CpuDiagnostics,
    DiskDiagnostics,
    FlavorPayload,
    GuestAddress,
    GuestDiagnostics,
    InstancePayload,
    MemoryDiagnostics,
    NodeReport,
    PortPayload,
)
from common.settings import ComputeSettings
from common.states import PowerState
from compute_agent.virt.driver import PowerEventHandler
from compute_agent.virt.steering import ABORT, FORCE, Steering

FAIL_SPAWN_KEY = "fake:fail_spawn"
# Metadata naming hosts ("host1,host2" or "*") where a live migration into them fails.
FAIL_LIVE_MIGRATION_KEY = "fake:fail_live_migration"
# Metadata: seconds every power operation, snapshot, rebuild, rescue and password change
# of the guest takes (to watch transient states).
POWER_SECONDS_KEY = "fake:power_seconds"
# Metadata naming hosts ("host1,host2" or "*") where rebuilding the guest fails.
FAIL_REBUILD_KEY = "fake:fail_rebuild"
# Live migrations from the named hosts ("*": any) wait, running, until they are aborted
# or forced to complete (or their completion timeout passes).
HOLD_LIVE_MIGRATION_KEY = "fake:hold_live_migration"
HOLD_SECONDS = 60.0
# Seconds a destination takes to prepare for a live migration (the migration stays
# "preparing" meanwhile).
PREPARE_SECONDS_KEY = "fake:prepare_seconds"
# Metadata naming hosts ("host1,host2" or "*") where hot-plugging an interface fails.
FAIL_ATTACH_INTERFACE_KEY = "fake:fail_attach_interface"
# Metadata naming hosts ("host1,host2" or "*") where wiring the server's ports fails
# (its first port is reported not wired).
FAIL_PLUG_KEY = "fake:fail_plug"


def _names(instance: InstancePayload, key: str, hostname: str) -> bool:
    value = instance.metadata.get(key, "")
    return value == "*" or hostname in value.split(",")


class FakeWiring:
    """A simulated host's port wiring: nothing to program, done at once (``PortWiring``)."""

    # Never waits: the manager calls ``wire`` directly, without a thread to time it out.
    immediate = True

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname

    def wire(self, instance: InstancePayload) -> None:
        if instance.ports and _names(instance, FAIL_PLUG_KEY, self.hostname):
            raise DriverError(f"port {instance.ports[0].id} was not wired on "
                              f"{self.hostname} (simulated failure)")


# What a simulated guest's console shows after its first line: a short boot log ending
# in a login prompt without a newline, as a real serial console does (clients count
# the lines of a tail).
PROMPT = "login: "
BOOT_LOG = ("starting services ... done\n", "network ... up\n", PROMPT)
RESCUE_LINE = "fake guest {uuid} rescued with image {image}\n"
NMI_LINE = "Uhhuh. NMI received for unknown reason 3d on CPU 0.\n"


class FakeDriver:
    def __init__(self, hostname: str, settings: ComputeSettings) -> None:
        self.hostname = hostname
        self._settings = settings
        self._guests: dict[uuid.UUID, int] = {}
        self._consoles: dict[uuid.UUID, list[str]] = {}
        # Live migrations prepared on this (destination) host, not yet arrived.
        self.incoming: set[uuid.UUID] = set()
        self._power_seconds: dict[uuid.UUID, float] = {}
        # What tests look at: each guest's image, rescue image, NMIs and password.
        self.images: dict[uuid.UUID, str | None] = {}
        self.rescued: dict[uuid.UUID, str] = {}
        self.nmis: dict[uuid.UUID, int] = {}
        self.passwords: dict[uuid.UUID, str] = {}
        # Each guest's interfaces, as spawned and hot-plugged.
        self.interfaces: dict[uuid.UUID, list[PortPayload]] = {}
        self._started: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()
        # Guests whose live migrations from here are held until steered.
        self._held: set[uuid.UUID] = set()
        self._steering = Steering()
        self._handler: PowerEventHandler | None = None
        # A stable node uuid per simulated host, so restarts reuse the same provider.
        self.node_uuid = uuid.uuid5(uuid.NAMESPACE_DNS, f"kilonova-fake-node.{hostname}")
        self._state_file = (settings.fake_state_dir / f"{hostname}.json"
                            if settings.fake_state_dir is not None else None)
        self._load()

    # -- guests outlive the agent when a state directory is set -----------------------

    def _load(self) -> None:
        if self._state_file is None or not self._state_file.exists():
            return
        saved: dict[str, int] = json.loads(self._state_file.read_text())
        for key, power in saved.items():
            self._guests[uuid.UUID(key)] = power
            self._consoles[uuid.UUID(key)] = [f"fake guest {key} booted\n", *BOOT_LOG]

    def _save(self) -> None:
        """Write the guests atomically (called with the lock held)."""
        if self._state_file is None:
            return
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({str(k): int(v) for k, v in self._guests.items()}))
        os.replace(tmp, self._state_file)

    def node_report(self) -> NodeReport:
        s = self._settings
        return NodeReport(
            uuid=self.node_uuid, hypervisor_hostname=self.hostname, hypervisor_type="fake",
            vcpus=s.fake_vcpus, memory_mb=s.fake_memory_mb, local_gb=s.fake_disk_gb,
            cpu_allocation_ratio=s.cpu_allocation_ratio,
            ram_allocation_ratio=s.ram_allocation_ratio,
            disk_allocation_ratio=s.disk_allocation_ratio,
            reserved_vcpus=s.reserved_host_cpus,
            reserved_memory_mb=s.reserved_host_memory_mb,
            reserved_disk_gb=s.reserved_host_disk_gb,
        )

    def node_traits(self) -> list[str]:
        # The architecture as a standard trait, for the scheduler's image checks.
        return ["COMPUTE_NODE", f"HW_ARCH_{platform.machine().upper() or 'X86_64'}"]

    def spawn(self, instance: InstancePayload) -> int:
        # Lets tests provoke a spawn failure on chosen hosts: "host1,host2" or "*".
        if _names(instance, FAIL_SPAWN_KEY, self.hostname):
            raise DriverError(f"simulated spawn failure on {self.hostname}")
        if self._settings.fake_spawn_seconds:
            time.sleep(self._settings.fake_spawn_seconds)
        self._boot(instance, f"fake guest {instance.uuid} booted\n")
        return PowerState.RUNNING

    def _boot(self, instance: InstancePayload, first_line: str) -> None:
        with self._lock:
            self._guests[instance.uuid] = PowerState.RUNNING
            self._consoles[instance.uuid] = [first_line, *BOOT_LOG]
            self.images[instance.uuid] = instance.image_ref
            self.interfaces[instance.uuid] = list(instance.ports)
            self._started[instance.uuid] = time.monotonic()
            if POWER_SECONDS_KEY in instance.metadata:
                self._power_seconds[instance.uuid] = float(instance.metadata[POWER_SECONDS_KEY])
            if _names(instance, HOLD_LIVE_MIGRATION_KEY, self.hostname):
                self._held.add(instance.uuid)
            self._save()

    def destroy(self, instance_uuid: uuid.UUID) -> None:
        with self._lock:
            self._guests.pop(instance_uuid, None)
            self._consoles.pop(instance_uuid, None)
            self._power_seconds.pop(instance_uuid, None)
            for kept in (self.images, self.rescued, self.nmis, self.passwords, self._started,
                         self.interfaces):
                kept.pop(instance_uuid, None)
            self._save()

    def list_guests(self) -> dict[uuid.UUID, int]:
        with self._lock:
            return dict(self._guests)

    # -- power -----------------------------------------------------------------------

    def _set(self, instance_uuid: uuid.UUID, allowed: set[PowerState], new: int) -> int:
        delay = self._power_seconds.get(instance_uuid)
        if delay:
            time.sleep(delay)
        with self._lock:
            current = self._guests.get(instance_uuid)
            if current is None:
                raise NotFound(f"guest {instance_uuid} not found")
            if current not in allowed:
                raise DriverError(f"guest {instance_uuid} is in power state {current}")
            self._guests[instance_uuid] = new
            self._save()
        if self._handler is not None and current != new:
            self._handler(instance_uuid, new)
        return new

    def power_on(self, instance_uuid: uuid.UUID) -> int:
        return self._set(instance_uuid, {PowerState.SHUTDOWN, PowerState.RUNNING,
                                         PowerState.SUSPENDED}, PowerState.RUNNING)

    def power_off(self, instance_uuid: uuid.UUID, timeout: float | None = None) -> int:
        return self._set(instance_uuid, set(PowerState), PowerState.SHUTDOWN)

    def reboot(self, instance_uuid: uuid.UUID, hard: bool = False) -> int:
        allowed = set(PowerState) if hard else {PowerState.RUNNING}
        return self._set(instance_uuid, allowed, PowerState.RUNNING)

    def pause(self, instance_uuid: uuid.UUID) -> int:
        return self._set(instance_uuid, {PowerState.RUNNING}, PowerState.PAUSED)

    def unpause(self, instance_uuid: uuid.UUID) -> int:
        return self._set(instance_uuid, {PowerState.PAUSED}, PowerState.RUNNING)

    def suspend(self, instance_uuid: uuid.UUID) -> int:
        return self._set(instance_uuid, {PowerState.RUNNING, PowerState.PAUSED},
                         PowerState.SUSPENDED)

    def resume(self, instance_uuid: uuid.UUID) -> int:
        return self._set(instance_uuid, {PowerState.SUSPENDED}, PowerState.RUNNING)

    # -- console, snapshot, migration ----------------------------------------------

    def console_output(self, instance_uuid: uuid.UUID, lines: int | None = None) -> str:
        with self._lock:
            if instance_uuid not in self._consoles:
                raise NotFound(f"guest {instance_uuid} not found")
            out = self._consoles[instance_uuid]
            return "".join(out if lines is None else out[-lines:] if lines else [])

    def snapshot(self, instance_uuid: uuid.UUID, dest: Path) -> None:
        delay = self._power_seconds.get(instance_uuid)
        if delay:
            time.sleep(delay)
        if instance_uuid not in self.list_guests():
            raise NotFound(f"guest {instance_uuid} not found")
        dest.write_bytes(b"fake snapshot of " + str(instance_uuid).encode())

    def prepare_incoming(self, instance: InstancePayload) -> dict[str, str]:
        if _names(instance, FAIL_LIVE_MIGRATION_KEY, self.hostname):
            raise DriverError(f"simulated live migration failure into {self.hostname}")
        if PREPARE_SECONDS_KEY in instance.metadata:
            time.sleep(float(instance.metadata[PREPARE_SECONDS_KEY]))
        with self._lock:
            self.incoming.add(instance.uuid)
        return {}

    def live_migrate(self, instance_uuid: uuid.UUID, dest_host: str,
                     timeout: float | None = None, migrate_uri: str | None = None) -> None:
        """The guest leaves this host; the destination adopts it afterwards."""
        delay = self._power_seconds.get(instance_uuid)
        if delay:
            time.sleep(delay)
        with self._lock:
            if instance_uuid not in self._guests:
                raise NotFound(f"guest {instance_uuid} not found")
            held = instance_uuid in self._held
        if held:
            self._hold(instance_uuid, timeout or HOLD_SECONDS)
        with self._lock:
            self._guests.pop(instance_uuid, None)
            self._consoles.pop(instance_uuid, None)
            self._held.discard(instance_uuid)
            self._save()

    def _hold(self, instance_uuid: uuid.UUID, timeout: float) -> None:
        """Keep the migration running until it is aborted or forced to complete."""
        self._steering.start(instance_uuid)
        try:
            how = self._steering.wait(instance_uuid, timeout)
        finally:
            self._steering.stop(instance_uuid)
        if how is None:
            raise DriverError(f"live migration of {instance_uuid} did not complete within "
                              f"{timeout}s and was aborted; the guest stays here")
        if how == ABORT:
            raise DriverError(f"live migration of {instance_uuid} was aborted; the guest "
                              "stays here")

    def abort_live_migration(self, instance_uuid: uuid.UUID) -> None:
        self._steering.ask(instance_uuid, ABORT)

    def force_complete_live_migration(self, instance_uuid: uuid.UUID) -> None:
        self._steering.ask(instance_uuid, FORCE)

    def post_live_migration_at_destination(self, instance: InstancePayload) -> int:
        return self._arrive(instance, instance.power_state or PowerState.RUNNING)

    def rollback_live_migration_at_destination(self, instance_uuid: uuid.UUID) -> None:
        with self._lock:
            self.incoming.discard(instance_uuid)

    def _arrive(self, instance: InstancePayload, power_state: int) -> int:
        instance_uuid = instance.uuid
        with self._lock:
            self.interfaces[instance_uuid] = list(instance.ports)
            self.incoming.discard(instance_uuid)
            self._guests[instance_uuid] = power_state
            self._consoles[instance_uuid] = [f"fake guest {instance_uuid} arrived\n",
                                             PROMPT]
            self._save()
        return power_state

    def resize(self, instance: InstancePayload, flavor: FlavorPayload) -> int:
        return self._set(instance.uuid, set(PowerState), PowerState.RUNNING)

    def migrate_disk_and_power_off(self, instance: InstancePayload, dest_host: str
                                   ) -> dict[str, str]:
        self._set(instance.uuid, set(PowerState), PowerState.SHUTDOWN)
        return {"from": self.hostname}

    def finish_migration(self, instance: InstancePayload, flavor: FlavorPayload,
                         power_on: bool, disk_info: dict[str, str]) -> int:
        return self._arrive(instance,
                            PowerState.RUNNING if power_on else PowerState.SHUTDOWN)

    def finish_revert_migration(self, instance: InstancePayload, power_on: bool) -> int:
        return self._set(instance.uuid, set(PowerState),
                         PowerState.RUNNING if power_on else PowerState.SHUTDOWN)

    def guest_addresses(self, instance_uuid: uuid.UUID) -> list[GuestAddress]:
        return []  # simulated guests have no interfaces

    def set_power_event_handler(self, handler: PowerEventHandler | None) -> None:
        self._handler = handler

    # -- hot-plugged interfaces -----------------------------------------------------------

    def attach_interface(self, instance: InstancePayload, port_info: PortPayload) -> None:
        self._guest(instance.uuid)
        if _names(instance, FAIL_ATTACH_INTERFACE_KEY, self.hostname):
            raise DriverError(f"simulated interface attach failure on {self.hostname}")
        with self._lock:
            held = self.interfaces.setdefault(instance.uuid, [])
            held[:] = [p for p in held if p.id != port_info.id] + [port_info]

    def detach_interface(self, instance: InstancePayload, port_id: uuid.UUID) -> None:
        self._guest(instance.uuid)
        with self._lock:
            held = self.interfaces.get(instance.uuid, [])
            held[:] = [p for p in held if p.id != port_id]

    # -- actions on a guest that stays on this host -----------------------------------

    def _guest(self, instance_uuid: uuid.UUID) -> int:
        with self._lock:
            if instance_uuid not in self._guests:
                raise NotFound(f"guest {instance_uuid} not found")
            return self._guests[instance_uuid]

    def _delay(self, instance_uuid: uuid.UUID) -> None:
        delay = self._power_seconds.get(instance_uuid)
        if delay:
            time.sleep(delay)

    def rebuild(self, instance: InstancePayload, admin_pass: str | None,
                preserve_ephemeral: bool) -> int:
        # No guest is fine: a server in ERROR may have lost it; the rebuild makes one.
        self._delay(instance.uuid)
        if _names(instance, FAIL_REBUILD_KEY, self.hostname):
            self.destroy(instance.uuid)
            raise DriverError(f"simulated rebuild failure on {self.hostname}")
        self._boot(instance, f"fake guest {instance.uuid} rebuilt from image "
                             f"{instance.image_ref}\n")
        if admin_pass is not None:
            self.passwords[instance.uuid] = admin_pass
        return PowerState.RUNNING

    def rescue(self, instance: InstancePayload, rescue_image_ref: str,
               admin_pass: str | None) -> int:
        self._guest(instance.uuid)
        self._delay(instance.uuid)
        with self._lock:
            self.rescued[instance.uuid] = rescue_image_ref
            self._guests[instance.uuid] = PowerState.RUNNING
            self._consoles[instance.uuid].append(
                RESCUE_LINE.format(uuid=instance.uuid, image=rescue_image_ref))
            if admin_pass is not None:
                self.passwords[instance.uuid] = admin_pass
        return PowerState.RUNNING

    def unrescue(self, instance: InstancePayload) -> int:
        self._guest(instance.uuid)
        self._delay(instance.uuid)
        with self._lock:
            self.rescued.pop(instance.uuid, None)
            self._guests[instance.uuid] = PowerState.RUNNING
            self._consoles[instance.uuid].append(f"fake guest {instance.uuid} booted\n")
        return PowerState.RUNNING

    def inject_nmi(self, instance_uuid: uuid.UUID) -> None:
        if self._guest(instance_uuid) != PowerState.RUNNING:
            raise DriverError(f"guest {instance_uuid} is not running")
        with self._lock:
            self.nmis[instance_uuid] = self.nmis.get(instance_uuid, 0) + 1
            self._consoles[instance_uuid].append(NMI_LINE)

    def set_admin_password(self, instance: InstancePayload, password: str) -> None:
        self._guest(instance.uuid)
        self._delay(instance.uuid)
        with self._lock:
            self.passwords[instance.uuid] = password

    def diagnostics(self, instance: InstancePayload) -> GuestDiagnostics:
        power = self._guest(instance.uuid)
        flavor = instance.flavor
        started = self._started.get(instance.uuid, time.monotonic())
        disks = [DiskDiagnostics(read_bytes=0, read_requests=0, write_bytes=0,
                                 write_requests=0, errors_count=0)
                 for size in (flavor.root_gb, flavor.ephemeral_gb) if size]
        return GuestDiagnostics(
            # ``driver`` is an enum of upstream's drivers in the API; simulated guests
            # present themselves as libvirt's (upstream's fake driver does the same).
            state=DIAGNOSTICS_STATES.get(power, "pending"), driver="libvirt",
            hypervisor="fake", hypervisor_os="fake", config_drive=False,
            uptime=int(time.monotonic() - started),
            memory_details=MemoryDiagnostics(maximum=flavor.memory_mb,
                                             used=flavor.memory_mb),
            cpu_details=[CpuDiagnostics(id=i, time=0, utilisation=0)
                         for i in range(flavor.vcpus)],
            disk_details=disks)
