"""Weighers: more free resource weighs more, so servers spread over hosts."""

from __future__ import annotations

from dataclasses import dataclass

from common.messages import RequestSpec
from scheduler.select import HostState


@dataclass(frozen=True)
class RamWeigher:
    multiplier: float = 1.0
    name: str = "ram"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return host.free.get("MEMORY_MB", 0.0)


@dataclass(frozen=True)
class SoftAffinityWeigher:
    """soft-affinity groups: hosts with more members weigh more."""

    multiplier: float = 1.0
    name: str = "soft_affinity"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        if spec.group is None or spec.group.policy != "soft-affinity":
            return 0.0
        return float(spec.group_hosts.get(host.host, 0))


@dataclass(frozen=True)
class SoftAntiAffinityWeigher:
    """soft-anti-affinity groups: hosts with more members weigh less."""

    multiplier: float = 1.0
    name: str = "soft_anti_affinity"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        if spec.group is None or spec.group.policy != "soft-anti-affinity":
            return 0.0
        return -float(spec.group_hosts.get(host.host, 0))


@dataclass(frozen=True)
class CpuWeigher:
    multiplier: float = 1.0
    name: str = "cpu"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return host.free.get("VCPU", 0.0)


@dataclass(frozen=True)
class DiskWeigher:
    multiplier: float = 1.0
    name: str = "disk"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return host.free.get("DISK_GB", 0.0)


@dataclass(frozen=True)
class NumInstancesWeigher:
    """More servers on the host weighs more: a positive multiplier packs, negative spreads."""

    multiplier: float = 0.0
    name: str = "num_instances"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.num_instances)


@dataclass(frozen=True)
class BuildFailureWeigher:
    """Hosts where builds failed recently weigh less."""

    multiplier: float = 1000000.0
    name: str = "build_failure"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return -float(host.failed_builds)
