"""Filters on the metadata of the aggregates a host is in."""

from __future__ import annotations

from dataclasses import dataclass

from common.messages import RequestSpec
from scheduler.filters.spec_ops import matches
from scheduler.select import HostState

SCOPE = "aggregate_instance_extra_specs"
# Unscoped flavor keys that ask placement, not aggregates.
_NOT_FOR_AGGREGATES = frozenset({"group_policy"})
TENANT_KEY = "filter_tenant_id"


def metadata_values(host: HostState, key_prefix: str | None = None,
                    key: str | None = None) -> dict[str, set[str]]:
    """Key -> every value the host's aggregates give it (comma-separated lists split)."""
    out: dict[str, set[str]] = {}
    for meta in host.aggregates:
        for k, v in meta.items():
            if (key is not None and k != key) or (
                    key_prefix is not None and not k.startswith(key_prefix)):
                continue
            out.setdefault(k, set()).update(p.strip() for p in v.split(","))
    return out


def aggregate_specs(spec: RequestSpec) -> dict[str, str]:
    """The flavor's extra specs this filter checks: scoped to it, or unscoped."""
    out = {}
    for key, wanted in spec.flavor.extra_specs.items():
        scope, sep, name = key.partition(":")
        if sep and scope != SCOPE:
            continue
        name = name if sep else key
        if name not in _NOT_FOR_AGGREGATES:
            out[name] = wanted
    return out


@dataclass(frozen=True)
class AggregateInstanceExtraSpecsFilter:
    """Every such extra spec must match a value of the host's aggregates' metadata."""

    name: str = "AggregateInstanceExtraSpecsFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        wanted = aggregate_specs(spec)
        if not wanted:
            return True
        have = metadata_values(host)
        return all(any(matches(v, expr) for v in have.get(key, ()))
                   for key, expr in wanted.items())

    def describe(self, spec: RequestSpec) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(aggregate_specs(spec).items()))


@dataclass(frozen=True)
class AggregateMultiTenancyIsolation:
    """A host in aggregates with ``filter_tenant_id*`` metadata takes those projects only."""

    name: str = "AggregateMultiTenancyIsolation"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        allowed = set().union(*metadata_values(host, key_prefix=TENANT_KEY).values())
        return not allowed or spec.project_id in allowed

    def describe(self, spec: RequestSpec) -> str:
        return f"project {spec.project_id} not in {TENANT_KEY}"
