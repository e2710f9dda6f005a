"""GET /allocation_candidates: the ways a request could be satisfied right now."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from placement.candidates import combine
from placement.candidates.request import Candidate, CandidateRequest, RequestGroup
from placement.candidates.search import (
    GroupMatches,
    Lookup,
    Scope,
    Window,
    group_scope,
    match_group,
    resolve_names,
    sharing_anchors,
)
from placement.candidates.snapshot import (
    Snapshot,
    SnapshotCache,
    consistent_reads,
    read_usage,
)
from placement.candidates.world import Rooms, World, world_of

# Trees matched in the first range when a limit is set (the range then grows 4x).
WINDOW = 256

__all__ = [
    "Candidate", "CandidateRequest", "Candidates", "RequestGroup", "SnapshotCache",
    "find_candidates",
]


@dataclass
class Candidates:
    candidates: list[Candidate]
    world: World
    # Providers the summaries describe: those in candidates, and from 1.29 their trees.
    summarised: list[int]
    # Class id -> name.
    class_names: dict[int, str]
    # What the world was built from: the providers, and the usage read.
    snapshot: Snapshot
    rooms: Rooms


@dataclass
class _Search:
    """What one request's rounds share."""

    session: Session
    request: CandidateRequest
    snap: Snapshot
    lookup: Lookup
    # Holds the usage read so far, and which trees it covers.
    rooms: Rooms


def find_candidates(
    session: Session, request: CandidateRequest, cache: SnapshotCache,
    snap: Snapshot | None = None,
) -> Candidates:
    """Candidates for ``request``, at most ``request.limit`` of them.

    ``session`` must not have read anything yet, unless ``snap`` is the snapshot
    ``cache.current`` gave it after ``consistent_reads``. Raises BadRequest naming
    unknown traits or resource classes.
    """
    if snap is None:
        consistent_reads(session)
        snap = cache.current(session)
    lookup = resolve_names(request, snap)
    rooms = Rooms(snap, {}, lookup.class_names, covered=set())
    search = _Search(session, request, snap, lookup, rooms)
    world = world_of(snap, rooms)
    found: list[Candidate] = []
    for window in _windows(snap, request, lookup):
        wanted = None if request.limit is None else request.limit - len(found)
        found += _search(search, window, world, wanted)
        if request.limit is not None and len(found) >= request.limit:
            break
    return Candidates(found, world, _summarised(request, found, world), lookup.class_names,
                      snap, rooms)


def _windows(snap: Snapshot, request: CandidateRequest, lookup: Lookup) -> Iterator[Window | None]:
    """Ranges of root ids to search in turn; one unbounded range unless a limit is set.

    With a limit, matching every provider first cost far more than assembling the few
    candidates wanted, so trees are matched a growing range at a time. Sharing
    providers join trees across ranges: then everything is matched at once.
    """
    if request.limit is None or lookup.sharing:
        yield None
        return
    roots = snap.roots
    start, span = 0, max(WINDOW, request.limit)
    while start < len(roots):
        end = start + span
        yield roots[start], roots[end] if end < len(roots) else roots[-1] + 1
        start, span = end, span * 4


def _search(
    search: _Search, window: Window | None, world: World, wanted: int | None
) -> list[Candidate]:
    """At most ``wanted`` candidates in the trees of ``window``."""
    snap, request, lookup = search.snap, search.request, search.lookup
    scopes = [group_scope(snap, group, lookup) for group in request.groups]
    if any(scope is None for scope in scopes):
        return []
    _read_usage(search, _trees_in_play(snap, scopes, window), window)
    matches: list[GroupMatches] = []
    for group, scope in zip(request.groups, scopes, strict=True):
        assert scope is not None
        matched = match_group(snap, search.rooms.usage, group, lookup, scope, window)
        if matched is None:
            return []
        matches.append(matched)
    root_of = _matched_roots(matches)
    anchors = sharing_anchors(snap, set(root_of)) if lookup.sharing else {}
    todo = combine.plan(request, matches, anchors)
    return list(itertools.islice(combine.assemble(todo, todo.roots, world), wanted))


def _trees_in_play(
    snap: Snapshot, scopes: list[Scope | None], window: Window | None
) -> set[int] | None:
    """Roots of the trees a search may touch; None: all of them."""
    if window is not None:
        return set(snap.roots[bisect.bisect_left(snap.roots, window[0]):
                              bisect.bisect_left(snap.roots, window[1])])
    allowed = [scope[0] for scope in scopes if scope is not None]
    if any(providers is None for providers in allowed):
        return None
    roots = {snap.root_of[rp] for providers in allowed if providers for rp in providers}
    # Past a few trees, one statement over everything is as quick as an id list.
    return roots if len(roots) * 4 < len(snap.roots) else None


def _read_usage(search: _Search, roots: set[int] | None, window: Window | None) -> None:
    """Read the usage of these trees (None: all; all those of ``window``) unless read
    already."""
    rooms = search.rooms
    if rooms.covered is None:
        return
    whole_window = window is not None and roots is not None and not roots & rooms.covered
    if roots is not None:
        roots = roots - rooms.covered
        if not roots:
            return
    ids = None if roots is None else [rp for root in roots for rp in search.snap.members[root]]
    # A window's trees are a range of root ids: naming the range beats sending every id.
    between = window if whole_window else None
    for class_id, used in read_usage(search.session, ids, between).items():
        rooms.usage.setdefault(class_id, {}).update(used)
    if roots is None:
        rooms.covered = None
    else:
        rooms.covered |= roots


def _matched_roots(matches: list[GroupMatches]) -> dict[int, int]:
    """Every matched provider's root."""
    root_of: dict[int, int] = {}
    for m in matches:
        for providers in m.by_class.values():
            root_of.update(providers)
        root_of.update(m.resourceless or {})
    return root_of


def _summarised(request: CandidateRequest, found: list[Candidate], world: World) -> list[int]:
    used: set[int] = set()
    for candidate in found:
        used.update(candidate.allocations)
        for rps in candidate.mappings.values():
            used.update(rps)
    if request.nested_aware:
        root_of = world.root_of
        used.update(world.tree_members({root_of[rp] for rp in used}))
    return sorted(used)
