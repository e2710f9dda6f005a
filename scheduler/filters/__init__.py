"""Host filters: small classes with a ``name``, ``passes(host, spec)`` and ``describe``.

Names are upstream's filter class names, so an operator's ``enabled_filters`` reads the
same here; a host is removed by the first enabled filter it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from common.errors import ConfigError
from common.messages import RequestSpec
from common.settings import DEFAULT_SCHEDULER_FILTERS
from scheduler.select import Filter, HostState


@dataclass(frozen=True)
class ComputeFilter:
    """The host's compute service is up and not disabled."""

    name: str = "ComputeFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.up and not host.disabled

    def describe(self, spec: RequestSpec) -> str:
        return "compute service down or disabled"


@dataclass(frozen=True)
class RetryFilter:
    """Skip hosts a previous attempt of this build already failed on."""

    name: str = "RetryFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.host not in spec.ignore_hosts

    def describe(self, spec: RequestSpec) -> str:
        return "build failed there before"


def requested_zone(spec: RequestSpec) -> str | None:
    """The zone part of the request ("zone:host" forms kept by older records)."""
    zone = (spec.availability_zone or "").partition(":")[0]
    return zone or None


@dataclass(frozen=True)
class AvailabilityZoneFilter:
    """Honour a requested availability zone: the host's aggregate zone, or the default."""

    name: str = "AvailabilityZoneFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        zone = requested_zone(spec)
        return zone is None or host.zone == zone

    def describe(self, spec: RequestSpec) -> str:
        return f"availability zone {requested_zone(spec)}"


@dataclass(frozen=True)
class RequestedDestinationFilter:
    """Only the host (and node) an admin asked for at create (2.74, or ``zone:host``)."""

    name: str = "RequestedDestinationFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        if spec.requested_host is not None and host.host != spec.requested_host:
            return False
        return spec.requested_node is None or host.nodename == spec.requested_node

    def describe(self, spec: RequestSpec) -> str:
        return "/".join(p for p in (spec.requested_host, spec.requested_node) if p)




def _registry() -> dict[str, Callable[[], Filter]]:
    from scheduler.filters.aggregates import (
        AggregateInstanceExtraSpecsFilter,
        AggregateMultiTenancyIsolation,
    )
    from scheduler.filters.groups import (
        DifferentHostFilter,
        SameHostFilter,
        ServerGroupAffinityFilter,
        ServerGroupAntiAffinityFilter,
    )
    from scheduler.filters.image import ImagePropertiesFilter

    classes: list[Callable[[], Filter]] = [
        ComputeFilter, RetryFilter, AvailabilityZoneFilter, RequestedDestinationFilter,
        ImagePropertiesFilter, ServerGroupAffinityFilter, ServerGroupAntiAffinityFilter,
        SameHostFilter, DifferentHostFilter, AggregateInstanceExtraSpecsFilter,
        AggregateMultiTenancyIsolation,
    ]
    return {cls().name: cls for cls in classes}


def known_filters() -> list[str]:
    return sorted(_registry())


def build_filters(names: Sequence[str]) -> list[Filter]:
    """The enabled filters, in the order given. Raises ConfigError for an unknown name."""
    registry = _registry()
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ConfigError(f"[scheduler] enabled_filters: unknown filter(s) "
                          f"{', '.join(unknown)}; known: {', '.join(sorted(registry))}")
    return [registry[n]() for n in names]


def default_filters() -> list[Filter]:
    return build_filters(DEFAULT_SCHEDULER_FILTERS)
