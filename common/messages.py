"""RPC payloads: pydantic models sent as JSON (``model_dump(mode="json")``).

Adding an optional field is compatible; anything else bumps the version of the
service's RPC client.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.states import TaskState, VmState


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FlavorPayload(Payload):
    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = Field(default_factory=dict)

    def resources(self) -> dict[str, int]:
        """The placement resources one server of this flavor consumes."""
        wanted = {
            "VCPU": self.vcpus,
            "MEMORY_MB": self.memory_mb,
            "DISK_GB": self.root_gb + self.ephemeral_gb + (self.swap + 1023) // 1024,
        }
        return {rc: amount for rc, amount in wanted.items() if amount > 0}


class GroupPayload(Payload):
    """The server group a server belongs to, and the other members' ids."""

    id: uuid.UUID
    policy: str  # affinity | anti-affinity | soft-affinity | soft-anti-affinity
    members: list[uuid.UUID] = Field(default_factory=list)
    max_server_per_host: int | None = None


class RequestSpec(Payload):
    """What the scheduler needs to place one server."""

    instance_uuid: uuid.UUID
    project_id: str
    user_id: str
    flavor: FlavorPayload
    image_id: str | None = None
    # The boot image's properties as the server keeps them (hw_*, img_*, trait:*).
    image_properties: dict[str, str] = Field(default_factory=dict)
    availability_zone: str | None = None
    ignore_hosts: list[str] = Field(default_factory=list)
    scheduler_hints: dict[str, Any] = Field(default_factory=dict)
    group: GroupPayload | None = None
    same_host: list[uuid.UUID] = Field(default_factory=list)
    different_host: list[uuid.UUID] = Field(default_factory=list)
    # An admin's requested destination (compute API 2.74): only this host / node.
    requested_host: str | None = None
    requested_node: str | None = None
    # The build was never scheduled before, so it holds no claim: the scheduler need
    # not look for one first (a placement round trip per decision).
    first_claim: bool = False
    # Filled in by the scheduler, from placement's allocations at decision time:
    # host -> how many group members / hinted servers are there now.
    group_hosts: dict[str, int] = Field(default_factory=dict)
    same_hosts: list[str] = Field(default_factory=list)
    different_hosts: list[str] = Field(default_factory=list)


class HostSelection(Payload):
    host: str
    nodename: str
    compute_node_uuid: uuid.UUID
    allocations: dict[str, dict[str, int]]


class InstancePayload(Payload):
    """What a compute agent may know of an instance on its host."""

    uuid: uuid.UUID
    display_name: str
    project_id: str
    user_id: str
    flavor: FlavorPayload
    image_ref: str | None
    # Enums with the same string values: the JSON on the wire is unchanged.
    vm_state: VmState
    task_state: TaskState | None
    power_state: int
    host: str | None
    node: str | None
    user_data: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    key_name: str | None = None
    key_data: str | None = None
    hostname: str | None = None
    availability_zone: str | None = None
    launch_index: int = 0
    # Set by an unshelve: the root disk is made from this image (the shelved snapshot)
    # rather than from ``image_ref``, which stays the server's image.
    root_image: str | None = None


class NodeReport(Payload):
    """A hypervisor's capacity, as its agent reports it on start."""

    uuid: uuid.UUID
    hypervisor_hostname: str
    hypervisor_type: str
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    reserved_vcpus: int = 0
    reserved_memory_mb: int = 0
    reserved_disk_gb: int = 0

    def inventories(self) -> dict[str, dict[str, int | float]]:
        """The placement inventory of this node."""
        rows = (
            ("VCPU", self.vcpus, self.reserved_vcpus, self.cpu_allocation_ratio),
            ("MEMORY_MB", self.memory_mb, self.reserved_memory_mb, self.ram_allocation_ratio),
            ("DISK_GB", self.local_gb, self.reserved_disk_gb, self.disk_allocation_ratio),
        )
        return {
            rc: {"total": total, "reserved": reserved, "min_unit": 1, "max_unit": total,
                 "step_size": 1, "allocation_ratio": ratio}
            for rc, total, reserved, ratio in rows if total > 0
        }


class GuestState(Payload):
    uuid: uuid.UUID
    power_state: int


class GuestAddress(Payload):
    """An address a guest's interface got, as the hypervisor learned it (a DHCP lease)."""

    network: str  # the libvirt network (or bridge) the interface is plugged into
    mac: str
    addr: str
    version: int = 4


class CpuDiagnostics(Payload):
    id: int
    time: int | None = None  # nanoseconds of CPU time
    utilisation: int | None = None


class NicDiagnostics(Payload):
    mac_address: str | None = None
    rx_octets: int | None = None
    rx_errors: int | None = None
    rx_drop: int | None = None
    rx_packets: int | None = None
    rx_rate: int | None = None
    tx_octets: int | None = None
    tx_errors: int | None = None
    tx_drop: int | None = None
    tx_packets: int | None = None
    tx_rate: int | None = None


class DiskDiagnostics(Payload):
    read_bytes: int | None = None
    read_requests: int | None = None
    write_bytes: int | None = None
    write_requests: int | None = None
    errors_count: int | None = None


class MemoryDiagnostics(Payload):
    maximum: int | None = None  # MiB
    used: int | None = None  # MiB


# A power state as the diagnostics' ``state`` names it (upstream's names).
DIAGNOSTICS_STATES = {0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed",
                      7: "suspended"}


class GuestDiagnostics(Payload):
    """A guest's diagnostics in the compute API's standard format (2.48)."""

    state: str
    driver: str
    hypervisor: str | None = None
    hypervisor_os: str | None = None
    uptime: int | None = None  # seconds
    config_drive: bool = False
    memory_details: MemoryDiagnostics = Field(default_factory=MemoryDiagnostics)
    cpu_details: list[CpuDiagnostics] = Field(default_factory=list)
    nic_details: list[NicDiagnostics] = Field(default_factory=list)
    disk_details: list[DiskDiagnostics] = Field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """The API's body: the details and their counts."""
        return {**dump(self), "num_cpus": len(self.cpu_details),
                "num_nics": len(self.nic_details), "num_disks": len(self.disk_details)}


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
