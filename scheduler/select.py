"""Choosing hosts: a pure function over candidates that explains its decisions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from common.messages import RequestSpec


@dataclass(frozen=True)
class HostState:
    host: str
    nodename: str
    rp_uuid: uuid.UUID
    up: bool
    disabled: bool
    free: dict[str, float]
    capacity: dict[str, float]
    zone: str = "nova"
    # The metadata of each aggregate the host is in.
    aggregates: tuple[Mapping[str, str], ...] = ()
    traits: frozenset[str] = frozenset()
    hypervisor_type: str = ""
    num_instances: int = 0
    failed_builds: int = 0


@dataclass(frozen=True)
class Candidate:
    state: HostState
    allocations: dict[str, dict[str, int]]


class Filter(Protocol):
    @property
    def name(self) -> str: ...

    def passes(self, host: HostState, spec: RequestSpec) -> bool: ...

    def describe(self, spec: RequestSpec) -> str:
        """What the request asked of hosts, for an explanation ("" if nothing to say)."""
        ...


class Weigher(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def multiplier(self) -> float: ...

    def weigh(self, host: HostState, spec: RequestSpec) -> float: ...


@dataclass
class Selection:
    """Candidates in order of preference, and how many hosts each filter removed."""

    ordered: list[Candidate]
    rejected: dict[str, int] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)

    def explain(self) -> str:
        """E.g. "2 hosts removed by AggregateInstanceExtraSpecsFilter (ssd=true)"."""
        parts = []
        for name, count in self.rejected.items():
            if not count:
                continue
            detail = self.details.get(name)
            noun = "host" if count == 1 else "hosts"
            parts.append(f"{count} {noun} removed by {name}" + (f" ({detail})" if detail
                                                                 else ""))
        return ", ".join(parts)


def select_hosts(
    spec: RequestSpec,
    candidates: Sequence[Candidate],
    filters: Sequence[Filter],
    weighers: Sequence[Weigher],
    tie_break: Callable[[str], str] = str,
) -> Selection:
    """Filter, then weigh, the candidates; the best comes first.

    Hosts of equal weight are ordered by ``tie_break(host)`` (by name unless given).
    """
    rejected = {f.name: 0 for f in filters}
    survivors: list[Candidate] = []
    for cand in candidates:
        failed = next((f for f in filters if not f.passes(cand.state, spec)), None)
        if failed is None:
            survivors.append(cand)
        else:
            rejected[failed.name] += 1
    scores = _weights(spec, survivors, weighers)
    order = sorted(range(len(survivors)),
                   key=lambda i: (-scores[i], tie_break(survivors[i].state.host)))
    details = {f.name: f.describe(spec) for f in filters if rejected[f.name]}
    return Selection([survivors[i] for i in order], rejected, details)


def _weights(spec: RequestSpec, cands: Sequence[Candidate],
             weighers: Sequence[Weigher]) -> list[float]:
    """Sum of each weigher's min-max normalised score times its multiplier."""
    totals = [0.0] * len(cands)
    for weigher in weighers:
        raw = [weigher.weigh(c.state, spec) for c in cands]
        if not raw:
            continue
        low, high = min(raw), max(raw)
        span = high - low
        for i, value in enumerate(raw):
            normalised = 0.0 if span == 0 else (value - low) / span
            totals[i] += weigher.multiplier * normalised
    return totals
