"""Host filters: small classes with a ``name`` and ``passes(host, spec)``."""

from __future__ import annotations

from dataclasses import dataclass

from common.messages import RequestSpec
from scheduler.select import Filter, HostState


@dataclass(frozen=True)
class ComputeFilter:
    """The host's compute service is up and not disabled."""

    name: str = "compute"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.up and not host.disabled


@dataclass(frozen=True)
class RetryFilter:
    """Skip hosts a previous attempt of this build already failed on."""

    name: str = "retry"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.host not in spec.ignore_hosts


@dataclass(frozen=True)
class AvailabilityZoneFilter:
    """Honour a requested availability zone (every host is in "nova" for now)."""

    name: str = "availability_zone"
    default_zone: str = "nova"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        zone = spec.availability_zone
        if not zone:
            return True
        return zone.split(":", 1)[0] in ("", self.default_zone)


@dataclass(frozen=True)
class RequestedDestinationFilter:
    """Only the host (and node) an admin asked for at create (2.74)."""

    name: str = "requested_destination"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        if spec.requested_host is not None and host.host != spec.requested_host:
            return False
        return spec.requested_node is None or host.nodename == spec.requested_node


def default_filters() -> list[Filter]:
    from scheduler.filters.groups import (
        AffinityFilter,
        AntiAffinityFilter,
        DifferentHostFilter,
        SameHostFilter,
    )

    return [ComputeFilter(), RetryFilter(), AvailabilityZoneFilter(),
            RequestedDestinationFilter(), AffinityFilter(),
            AntiAffinityFilter(), SameHostFilter(), DifferentHostFilter()]
