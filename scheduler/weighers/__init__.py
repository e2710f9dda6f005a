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
class CpuWeigher:
    multiplier: float = 1.0
    name: str = "cpu"

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return host.free.get("VCPU", 0.0)
