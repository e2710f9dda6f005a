"""GET /allocation_candidates: the ways a request could be satisfied right now."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from placement.candidates import combine
from placement.candidates.request import Candidate, CandidateRequest, RequestGroup
from placement.candidates.search import GroupMatches, match_group, resolve_names, sharing_anchors
from placement.candidates.world import World, load_trees

# Trees read per round when a limit may stop the search early.
BATCH = 64

__all__ = ["Candidate", "CandidateRequest", "Candidates", "RequestGroup", "find_candidates"]


@dataclass
class Candidates:
    candidates: list[Candidate]
    world: World
    # Providers the summaries describe: those in candidates, and from 1.29 their trees.
    summarised: list[int]


def find_candidates(session: Session, request: CandidateRequest) -> Candidates:
    """Candidates for ``request``, at most ``request.limit`` of them.

    Raises BadRequest naming unknown traits or resource classes.
    """
    lookup = resolve_names(session, request)
    matches: list[GroupMatches] = []
    for group in request.groups:
        matched = match_group(session, group, lookup)
        if matched is None:
            return Candidates([], World(), [])
        matches.append(matched)
    root_of = _matched_roots(matches)
    anchors = sharing_anchors(session, set(root_of))
    todo = combine.plan(request, matches, anchors)
    world = World()
    # Sharing providers may join candidates of any tree: read theirs up front.
    load_trees(session, world, {root_of[rp] for rp in anchors})
    found: list[Candidate] = []
    batch = len(todo.roots) if request.limit is None else max(BATCH, request.limit)
    for start in range(0, len(todo.roots), batch or 1):
        roots = todo.roots[start:start + batch]
        load_trees(session, world, set(roots))
        wanted = None if request.limit is None else request.limit - len(found)
        found += itertools.islice(combine.assemble(todo, roots, world), wanted)
        if request.limit is not None and len(found) >= request.limit:
            break
    return Candidates(found, world, _summarised(request, found, world))


def _matched_roots(matches: list[GroupMatches]) -> dict[int, int]:
    """Every matched provider's root."""
    root_of: dict[int, int] = {}
    for m in matches:
        for providers in m.by_class.values():
            root_of.update(providers)
        root_of.update(m.resourceless or {})
    return root_of


def _summarised(request: CandidateRequest, found: list[Candidate], world: World) -> list[int]:
    used = {rp for c in found for rps in c.mappings.values() for rp in rps}
    used |= {rp for c in found for rp in c.allocations}
    if not request.nested_aware:
        return sorted(used)
    return sorted(set(world.tree_members({world.root_of[rp] for rp in used})) | used)
