"""A simulated hypervisor: guests are entries in a dict, capacity comes from config."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from common.errors import DriverError, NotFound
from common.messages import FlavorPayload, InstancePayload, NodeReport
from common.settings import ComputeSettings
from common.states import PowerState
from compute_agent.virt.driver import PowerEventHandler

FAIL_SPAWN_KEY = "fake:fail_spawn"


class FakeDriver:
    def __init__(self, hostname: str, settings: ComputeSettings) -> None:
        self.hostname = hostname
        self._settings = settings
        self._guests: dict[uuid.UUID, int] = {}
        self._consoles: dict[uuid.UUID, list[str]] = {}
        self._lock = threading.Lock()
        self._handler: PowerEventHandler | None = None
        # A stable node uuid per simulated host, so restarts reuse the same provider.
        self.node_uuid = uuid.uuid5(uuid.NAMESPACE_DNS, f"kilonova-fake-node.{hostname}")

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
        return ["COMPUTE_NODE"]

    def spawn(self, instance: InstancePayload) -> int:
        # Lets tests provoke a spawn failure on chosen hosts: "host1,host2" or "*".
        failing = instance.metadata.get(FAIL_SPAWN_KEY, "")
        if failing == "*" or self.hostname in failing.split(","):
            raise DriverError(f"simulated spawn failure on {self.hostname}")
        if self._settings.fake_spawn_seconds:
            time.sleep(self._settings.fake_spawn_seconds)
        with self._lock:
            self._guests[instance.uuid] = PowerState.RUNNING
            self._consoles[instance.uuid] = [f"fake guest {instance.uuid} booted\n"]
        return PowerState.RUNNING

    def destroy(self, instance_uuid: uuid.UUID) -> None:
        with self._lock:
            self._guests.pop(instance_uuid, None)
            self._consoles.pop(instance_uuid, None)

    def list_guests(self) -> dict[uuid.UUID, int]:
        with self._lock:
            return dict(self._guests)

    # -- power -----------------------------------------------------------------------

    def _set(self, instance_uuid: uuid.UUID, allowed: set[PowerState], new: int) -> int:
        with self._lock:
            current = self._guests.get(instance_uuid)
            if current is None:
                raise NotFound(f"guest {instance_uuid} not found")
            if current not in allowed:
                raise DriverError(f"guest {instance_uuid} is in power state {current}")
            self._guests[instance_uuid] = new
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
        if instance_uuid not in self.list_guests():
            raise NotFound(f"guest {instance_uuid} not found")
        dest.write_bytes(b"fake snapshot of " + str(instance_uuid).encode())

    def prepare_incoming(self, instance: InstancePayload) -> None:
        return None

    def live_migrate(self, instance_uuid: uuid.UUID, dest_host: str,
                     timeout: float | None = None) -> None:
        raise DriverError("the fake driver cannot migrate guests between processes")

    def resize(self, instance: InstancePayload, flavor: FlavorPayload) -> int:
        return self._set(instance.uuid, set(PowerState), PowerState.RUNNING)

    def set_power_event_handler(self, handler: PowerEventHandler | None) -> None:
        self._handler = handler
