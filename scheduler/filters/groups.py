"""Filters for server groups and the same_host / different_host hints."""

from __future__ import annotations

from dataclasses import dataclass

from common.messages import RequestSpec
from scheduler.select import HostState


@dataclass(frozen=True)
class ServerGroupAffinityFilter:
    """Hard affinity: once a member is placed, every other member goes to its host."""

    name: str = "ServerGroupAffinityFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        if spec.group is None or spec.group.policy != "affinity" or not spec.group_hosts:
            return True
        return host.host in spec.group_hosts

    def describe(self, spec: RequestSpec) -> str:
        return f"group members on {', '.join(sorted(spec.group_hosts))}"


@dataclass(frozen=True)
class ServerGroupAntiAffinityFilter:
    """Hard anti-affinity: at most max_server_per_host members (default 1) per host."""

    name: str = "ServerGroupAntiAffinityFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        if spec.group is None or spec.group.policy != "anti-affinity":
            return True
        limit = spec.group.max_server_per_host or 1
        return spec.group_hosts.get(host.host, 0) < limit

    def describe(self, spec: RequestSpec) -> str:
        limit = spec.group.max_server_per_host or 1 if spec.group else 1
        return f"max_server_per_host={limit}"


@dataclass(frozen=True)
class SameHostFilter:
    name: str = "SameHostFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return not spec.same_host or host.host in spec.same_hosts

    def describe(self, spec: RequestSpec) -> str:
        return ""


@dataclass(frozen=True)
class DifferentHostFilter:
    name: str = "DifferentHostFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.host not in spec.different_hosts

    def describe(self, spec: RequestSpec) -> str:
        return ""
