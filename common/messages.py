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


class MetadataSubnet(Payload):
    """A subnet as a guest's ``network_data.json`` describes it."""

    id: uuid.UUID
    ip_version: int
    cidr: str
    gateway_ip: str | None = None
    dns_nameservers: list[str] = Field(default_factory=list)
    # Neutron's shape: [{"destination": cidr, "nexthop": address}]
    host_routes: list[dict[str, str]] = Field(default_factory=list)
    ipv6_address_mode: str | None = None


class MetadataFixedIp(Payload):
    ip_address: str
    subnet: MetadataSubnet


class MetadataPort(Payload):
    """One of a server's ports, for its ``network_data.json`` and EC2 addresses."""

    id: uuid.UUID
    network_id: uuid.UUID
    mac_address: str
    mtu: int | None = None
    vif_type: str = "ovs"
    fixed_ips: list[MetadataFixedIp] = Field(default_factory=list)
    floating_ips: list[str] = Field(default_factory=list)


class MetadataFacts(Payload):
    """What a guest's metadata documents need beyond its instance record
    (``common/metadata.py`` renders them)."""

    instance_id: int  # the integer id, for the EC2 ``i-%08x``
    reservation_id: str = ""
    security_groups: list[str] = Field(default_factory=list)
    ports: list[MetadataPort] = Field(default_factory=list)


class PortAddress(Payload):
    subnet_id: uuid.UUID
    ip_address: str
    version: int = 4


class PortPayload(Payload):
    """One of a server's ports, as its host wires a guest interface to it (the host names
    the bridge and the device: ``compute_agent.network.names``)."""

    id: uuid.UUID
    network_id: uuid.UUID
    mac_address: str
    mtu: int | None = None
    fixed_ips: list[PortAddress] = Field(default_factory=list)
    # With an external Neutron: how its agents wire the port on the host (the binding's
    # ``binding:vif_type`` — "bridge" or "ovs" — and ``binding:vif_details``); None: the
    # builtin network, the agent's own data plane.
    vif_type: str | None = None
    vif_details: dict[str, Any] | None = None


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
    # The server's ports, in the order its guest has its interfaces (a build's record and
    # one read by its host; a batched read for a sync leaves them out).
    ports: list[PortPayload] = Field(default_factory=list)
    # Filled by the build (and the metadata lookup): the server's ports and the rest its
    # metadata documents and config drive need. None: no such facts sent.
    metadata_facts: MetadataFacts | None = None


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


# The desired network state of one host (the conductor computes it, the agent's data
# plane programs it). Version 1; adding optional fields keeps it compatible.
HOST_NETWORK_STATE_VERSION = 1


class NetSubnet(Payload):
    id: uuid.UUID
    cidr: str
    gateway_ip: str | None = None
    dhcp: bool = True
    dns_nameservers: list[str] = Field(default_factory=list)
    # The address the network's DHCP server holds in this subnet (a `network:dhcp`
    # port's); None: no DHCP server on this subnet.
    dhcp_server_ip: str | None = None


class HostNetwork(Payload):
    id: uuid.UUID
    type: str  # flat | vlan | vxlan
    segmentation_id: int | None = None
    physical_network: str | None = None
    mtu: int = 1500
    subnets: list[NetSubnet] = Field(default_factory=list)


class FixedIp(Payload):
    subnet_id: uuid.UUID
    ip_address: str


class SecurityRule(Payload):
    """A security group rule with its remote group already expanded into prefixes."""

    direction: str  # ingress | egress (seen from the guest)
    ethertype: str = "IPv4"  # IPv4 | IPv6
    protocol: str | None = None  # tcp | udp | icmp | icmpv6 | a number; None: any
    port_range_min: int | None = None
    port_range_max: int | None = None
    # None: any remote; else only these prefixes (an empty list matches nothing).
    remote_prefixes: list[str] | None = None


class AddressPair(Payload):
    ip_address: str  # an address or a prefix
    mac_address: str | None = None


class HostPort(Payload):
    id: uuid.UUID
    network_id: uuid.UUID
    mac: str
    fixed_ips: list[FixedIp] = Field(default_factory=list)
    security_group_rules: list[SecurityRule] = Field(default_factory=list)
    port_security_enabled: bool = True
    allowed_address_pairs: list[AddressPair] = Field(default_factory=list)


class RemotePort(Payload):
    """A port on another host of a vxlan network: its MAC is reached through its VTEP."""

    network_id: uuid.UUID
    mac: str
    vtep: str


class RouterInterface(Payload):
    port_id: uuid.UUID
    network_id: uuid.UUID
    ip_address: str  # with its prefix length: "10.0.0.1/24"


class RouterGateway(Payload):
    port_id: uuid.UUID
    network_id: uuid.UUID
    ip_address: str  # with its prefix length
    next_hop: str | None = None  # the external subnet's gateway


class FloatingMapping(Payload):
    floating_ip: str
    fixed_ip: str


class HostRouter(Payload):
    id: uuid.UUID
    gateway: RouterGateway | None = None
    interfaces: list[RouterInterface] = Field(default_factory=list)
    snat: bool = True
    floating: list[FloatingMapping] = Field(default_factory=list)


class HostNetworkState(Payload):
    """Everything one host's data plane should hold; what it does not name is removed."""

    version: int = HOST_NETWORK_STATE_VERSION
    networks: list[HostNetwork] = Field(default_factory=list)
    ports: list[HostPort] = Field(default_factory=list)
    # network id -> the VTEP addresses of the other hosts with ports on that network
    vteps: dict[uuid.UUID, list[str]] = Field(default_factory=dict)
    remote_ports: list[RemotePort] = Field(default_factory=list)
    routers: list[HostRouter] = Field(default_factory=list)
