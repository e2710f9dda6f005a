"""A simulated hypervisor: guests are entries in a dict, capacity comes from config."""

from __future__ import annotations

import threading
import time
import uuid

from common.errors import DriverError
from common.messages import InstancePayload, NodeReport
from common.settings import ComputeSettings
from common.states import PowerState

FAIL_SPAWN_KEY = "fake:fail_spawn"


class FakeDriver:
    def __init__(self, hostname: str, settings: ComputeSettings) -> None:
        self.hostname = hostname
        self._settings = settings
        self._guests: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()
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

    def spawn(self, instance: InstancePayload) -> int:
        # Lets tests provoke a spawn failure on chosen hosts: "host1,host2" or "*".
        failing = instance.metadata.get(FAIL_SPAWN_KEY, "")
        if failing == "*" or self.hostname in failing.split(","):
            raise DriverError(f"simulated spawn failure on {self.hostname}")
        if self._settings.fake_spawn_seconds:
            time.sleep(self._settings.fake_spawn_seconds)
        with self._lock:
            self._guests[instance.uuid] = PowerState.RUNNING
        return PowerState.RUNNING

    def destroy(self, instance_uuid: uuid.UUID) -> None:
        with self._lock:
            self._guests.pop(instance_uuid, None)

    def list_guests(self) -> dict[uuid.UUID, int]:
        with self._lock:
            return dict(self._guests)
