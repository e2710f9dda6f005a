"""GET /allocation_candidates: the ways a request could be satisfied right now."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from placement.candidates import combine
from placement.candidates.request import Candidate, CandidateRequest, RequestGroup
from placement.candidates.search import (
    GroupMatches,
    Lookup,
    Window,
    match_group,
    resolve_names,
    sharing_anchors,
)
from placement.candidates.world import World, load_trees
from placement.db.models import ResourceProvider

# Trees read per round when a limit may stop the search early.
BATCH = 64
# Root ids matched in the first range when a limit is set (the range then grows 4x).
WINDOW = 256

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
    world = World()
    found: list[Candidate] = []
    for window in _windows(session, request, lookup):
        wanted = None if request.limit is None else request.limit - len(found)
        found += _search(session, request, lookup, window, world, wanted)
        if request.limit is not None and len(found) >= request.limit:
            break
    return Candidates(found, world, _summarised(request, found, world))


def _windows(
    session: Session, request: CandidateRequest, lookup: Lookup
) -> Iterator[Window | None]:
    """Ranges of root ids to search in turn; one unbounded range unless a limit is set.

    With a limit, matching every provider first cost far more than assembling the few
    candidates wanted, so trees are matched a growing range at a time. Sharing
    providers join trees across ranges: then everything is matched at once.
    """
    if request.limit is None or lookup.sharing:
        yield None
        return
    top = session.scalar(sa.select(sa.func.max(ResourceProvider.id))) or 0
    low, span = 0, max(WINDOW, 16 * request.limit)
    while low <= top:
        yield low, low + span
        low, span = low + span, span * 4


def _search(
    session: Session, request: CandidateRequest, lookup: Lookup, window: Window | None,
    world: World, wanted: int | None,
) -> list[Candidate]:
    """At most ``wanted`` candidates in the trees of ``window``, read into ``world``."""
    matches: list[GroupMatches] = []
    for group in request.groups:
        matched = match_group(session, group, lookup, window)
        if matched is None:
            return []
        matches.append(matched)
    root_of = _matched_roots(matches)
    anchors = sharing_anchors(session, set(root_of)) if lookup.sharing else {}
    todo = combine.plan(request, matches, anchors)
    # Sharing providers may join candidates of any tree: read theirs up front.
    load_trees(session, world, {root_of[rp] for rp in anchors})
    found: list[Candidate] = []
    batch = len(todo.roots) if wanted is None else max(BATCH, wanted)
    for start in range(0, len(todo.roots), batch or 1):
        roots = todo.roots[start:start + batch]
        load_trees(session, world, set(roots))
        left = None if wanted is None else wanted - len(found)
        found += itertools.islice(combine.assemble(todo, roots, world), left)
        if wanted is not None and len(found) >= wanted:
            break
    return found


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
