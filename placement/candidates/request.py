"""What a GET /allocation_candidates asks for, parsed out of its query string."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class RequestGroup:
    """One request group; the unnumbered one has the suffix ``""``."""

    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    # Every inner set must share a trait with the provider(s): AND of ORs.
    required: list[frozenset[str]] = field(default_factory=list)
    forbidden: frozenset[str] = frozenset()
    member_of: list[frozenset[uuid.UUID]] = field(default_factory=list)
    forbidden_aggs: frozenset[uuid.UUID] = frozenset()
    in_tree: uuid.UUID | None = None

    @property
    def same_provider(self) -> bool:
        """Suffixed groups are satisfied by one provider, the unnumbered by a tree."""
        return self.suffix != ""

    @property
    def trait_names(self) -> set[str]:
        return set().union(*self.required) | set(self.forbidden)


@dataclass(frozen=True)
class CandidateRequest:
    groups: list[RequestGroup]
    limit: int | None = None
    group_policy: str | None = None
    root_required: frozenset[str] = frozenset()
    root_forbidden: frozenset[str] = frozenset()
    same_subtree: list[list[str]] = field(default_factory=list)
    # Before 1.29 a candidate may not take resources from two providers of one tree.
    nested_aware: bool = True


class Candidate(NamedTuple):
    """One way to satisfy the request: amounts per provider id and class."""

    allocations: dict[int, dict[str, int]]
    mappings: dict[str, list[int]]
