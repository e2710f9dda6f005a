"""GET /allocation_candidates: the ways a request could be satisfied right now."""

from __future__ import annotations

import bisect
import collections
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from placement.candidates import combine, reuse
from placement.candidates.request import Candidate, CandidateRequest, RequestGroup
from placement.candidates.reuse import Block
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
    reads_ranges,
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
    # Runs of candidates kept between requests: (position of the first, their block).
    # The last may be cut short. Read-only, as every candidate is.
    blocks: list[tuple[int, Block]] = field(default_factory=list)


@dataclass
class _Search:
    """What one request's rounds share."""

    session: Session
    request: CandidateRequest
    snap: Snapshot
    lookup: Lookup
    # Holds the usage read so far, and which trees it covers.
    rooms: Rooms
    # Kept runs among the candidates found (``Candidates.blocks``).
    blocks: list[tuple[int, Block]] = field(default_factory=list)


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
        found += _search(search, window, world, wanted, len(found))
        if request.limit is not None and len(found) >= request.limit:
            break
    summarised = _summarised(request, found, world, search.blocks)
    return Candidates(found, world, summarised, lookup.class_names, snap, rooms, search.blocks)


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
    start, span = 0, _first_span(snap, request, lookup)
    while start < len(roots):
        end = start + span
        yield roots[start], roots[end] if end < len(roots) else roots[-1] + 1
        start, span = end, span * 4


def _first_span(snap: Snapshot, request: CandidateRequest, lookup: Lookup) -> int:
    """How many trees the first range holds: ``WINDOW`` or ``limit`` if more, or, for a
    single unnumbered group, as few as could hold ``limit`` candidates at most.

    Reading and matching fewer trees is all it changes: ranges only split the search.
    """
    assert request.limit is not None
    span = max(WINDOW, request.limit)
    group = reuse.plain_group(request, lookup)
    if group is None:
        return span
    names = tuple(lookup.class_ids[name] for name in group.resources)
    spans: dict[tuple[object, ...], int] = snap.derived.setdefault("candidates.spans", {})
    key = (names, request.limit)
    found = spans.get(key)
    if found is None:
        found = _trees_for(snap, names, request.limit, span)
        if len(spans) >= reuse.ENTRIES:
            spans.clear()
        spans[key] = found
    return found


def _trees_for(snap: Snapshot, class_ids: tuple[int, ...], wanted: int, most: int) -> int:
    """The fewest first trees with room (on empty providers) for ``wanted`` candidates
    of one unnumbered group asking for these classes, up to ``most``: each tree gives at
    most the product of its providers' counts of each class."""
    counts = [_count_per_root(snap, class_id) for class_id in class_ids]
    total = 0
    for index, root in enumerate(itertools.islice(snap.roots, most)):
        product = 1
        for per_root in counts:
            product *= per_root.get(root, 0)
            if not product:
                break
        total += product
        if total >= wanted:
            return index + 1
    return most


def _count_per_root(snap: Snapshot, class_id: int) -> dict[int, int]:
    """How many providers of each tree hold ``class_id``."""
    counts: dict[int, dict[int, int]] = snap.derived.setdefault("candidates.class_counts", {})
    found = counts.get(class_id)
    if found is None:
        found = counts[class_id] = collections.Counter(snap.by_class_roots.get(class_id, ()))
    return found


def _search(
    search: _Search, window: Window | None, world: World, wanted: int | None, offset: int
) -> list[Candidate]:
    """At most ``wanted`` candidates in the trees of ``window``, to follow the first
    ``offset`` found."""
    snap, request, lookup = search.snap, search.request, search.lookup
    scopes = [group_scope(snap, group, lookup) for group in request.groups]
    if any(scope is None for scope in scopes):
        return []
    _read_usage(search, _trees_in_play(snap, scopes, window), window)
    plain = reuse.plain_group(request, lookup)
    if plain is not None and reuse.plain_scope(scopes[0]):
        shared = reuse.matches(snap, search.rooms.usage, plain, lookup, window)
        if shared is not None:
            return reuse.assemble(shared, request, plain, world, wanted, search.blocks,
                                  offset)
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
    # A window's trees are a range of root ids: naming the range beats sending every id.
    between = window if whole_window else None
    ids = None if roots is None or (between is not None and reads_ranges(search.session)) else [
        rp for root in roots for rp in search.snap.members[root]]
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


def _summarised(
    request: CandidateRequest, found: list[Candidate], world: World,
    blocks: list[tuple[int, Block]],
) -> list[int]:
    roots: set[int] = set()
    if request.nested_aware and blocks:
        # Every provider of a kept block's candidates is in the block's tree, which is
        # summarised whole: only the other candidates need looking at.
        roots.update(block.root for _, block in blocks)
        others: list[Candidate] = []
        done = 0
        for start, block in blocks:
            others += found[done:start]
            done = start + len(block.candidates)
        others += found[done:]
        found = others
    used: set[int] = set()
    # Providers of allocations, then of mappings (the same ones but for resourceless
    # groups): a few C-level updates rather than several per candidate.
    used.update(*[candidate.allocations for candidate in found])
    used.update(*[rps for candidate in found for rps in candidate.mappings.values()])
    if request.nested_aware:
        root_of = world.root_of
        roots.update(root_of[rp] for rp in used)
        used.update(world.tree_members(roots))
    return sorted(used)
