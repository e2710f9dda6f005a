"""A simulated hypervisor: guests are entries in a dict, capacity comes from config."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path

from common.errors import DriverError, NotFound
from common.messages import FlavorPayload, GuestAddress, InstancePayload, NodeReport
from common.settings import ComputeSettings
from common.states import PowerState
from compute_agent.virt.driver import PowerEventHandler

FAIL_SPAWN_KEY = "fake:fail_spawn"
# Metadata naming hosts ("host1,host2" or "*") where a live migration into them fails.
FAIL_LIVE_MIGRATION_KEY = "fake:fail_live_migration"
# Metadata: seconds every power operation on the guest takes (to watch transient states).
POWER_SECONDS_KEY = "fake:power_seconds"


def _names(instance: InstancePayload, key: str, hostname: str) -> bool:
    value = instance.metadata.get(key, "")
    return value == "*" or hostname in value.split(",")


# What a simulated guest's console shows after its first line: a short boot log ending
# in a login prompt without a newline, as a real serial console does (clients count
# the lines of a tail).
PROMPT = "login: "
BOOT_LOG = ("starting services ... done\n", "network ... up\n", PROMPT)


class FakeDriver:
    def __init__(self, hostname: str, settings: ComputeSettings) -> None:
        self.hostname = hostname
        self._settings = settings
        self._guests: dict[uuid.UUID, int] = {}
        self._consoles: dict[uuid.UUID, list[str]] = {}
        # Live migrations prepared on this (destination) host, not yet arrived.
        self.incoming: set[uuid.UUID] = set()
        self._power_seconds: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()
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
        return ["COMPUTE_NODE"]

    def spawn(self, instance: InstancePayload) -> int:
        # Lets tests provoke a spawn failure on chosen hosts: "host1,host2" or "*".
        if _names(instance, FAIL_SPAWN_KEY, self.hostname):
            raise DriverError(f"simulated spawn failure on {self.hostname}")
        if self._settings.fake_spawn_seconds:
            time.sleep(self._settings.fake_spawn_seconds)
        with self._lock:
            self._guests[instance.uuid] = PowerState.RUNNING
            self._consoles[instance.uuid] = [f"fake guest {instance.uuid} booted\n",
                                             *BOOT_LOG]
            if POWER_SECONDS_KEY in instance.metadata:
                self._power_seconds[instance.uuid] = float(instance.metadata[POWER_SECONDS_KEY])
            self._save()
        return PowerState.RUNNING

    def destroy(self, instance_uuid: uuid.UUID) -> None:
        with self._lock:
            self._guests.pop(instance_uuid, None)
            self._consoles.pop(instance_uuid, None)
            self._power_seconds.pop(instance_uuid, None)
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
        if instance_uuid not in self.list_guests():
            raise NotFound(f"guest {instance_uuid} not found")
        dest.write_bytes(b"fake snapshot of " + str(instance_uuid).encode())

    def prepare_incoming(self, instance: InstancePayload) -> dict[str, str]:
        if _names(instance, FAIL_LIVE_MIGRATION_KEY, self.hostname):
            raise DriverError(f"simulated live migration failure into {self.hostname}")
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
            del self._guests[instance_uuid]
            self._consoles.pop(instance_uuid, None)
            self._save()

    def post_live_migration_at_destination(self, instance: InstancePayload) -> int:
        return self._arrive(instance.uuid, instance.power_state or PowerState.RUNNING)

    def rollback_live_migration_at_destination(self, instance_uuid: uuid.UUID) -> None:
        with self._lock:
            self.incoming.discard(instance_uuid)

    def _arrive(self, instance_uuid: uuid.UUID, power_state: int) -> int:
        with self._lock:
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
        return self._arrive(instance.uuid,
                            PowerState.RUNNING if power_on else PowerState.SHUTDOWN)

    def finish_revert_migration(self, instance: InstancePayload, power_on: bool) -> int:
        return self._set(instance.uuid, set(PowerState),
                         PowerState.RUNNING if power_on else PowerState.SHUTDOWN)

    def guest_addresses(self, instance_uuid: uuid.UUID) -> list[GuestAddress]:
        return []  # simulated guests have no interfaces

    def set_power_event_handler(self, handler: PowerEventHandler | None) -> None:
        self._handler = handler
