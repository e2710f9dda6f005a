"""What requests for the most common shape share: matches before usage, per snapshot.

A request with one unnumbered group asking for resources only (no traits, aggregates or
``in_tree``), where no provider shares its inventory, is matched the same way every time
but for usage: which providers of a range of trees hold each class and could take the
amount on an empty provider, grouped per tree. That is worked out once per snapshot (it
depends on inventories and tree links alone) and each request only drops the providers
its fresh usage leaves without room. Allocated amounts are never negative, so usage
only ever takes providers away; a negative one (never written by the API) skips all this.

The candidates of a tree none of whose matched providers was dropped are the same every
time too: they are kept, each tree's as a ``Block`` that users of the answer may derive
more from (its JSON, say).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from placement.candidates import combine
from placement.candidates.request import Candidate, CandidateRequest, RequestGroup
from placement.candidates.search import Lookup, Scope, Window, match_group
from placement.candidates.snapshot import Snapshot, Usage
from placement.candidates.world import World

# Kept per snapshot: at most this many ranges' matches, holding at most this many trees
# per tree of the snapshot (the oldest are forgotten first).
ENTRIES = 32
TREES_PER_TREE = 4
_LOCK = threading.Lock()
_UNKNOWN: Any = object()

PerClass = dict[int, dict[str, list[int]]]


@dataclass
class Block:
    """The candidates of one tree, and what users derived from them alone."""

    root: int
    candidates: list[Candidate]
    derived: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Matched:
    """One range's matches on empty providers, in the form ``combine`` plans with."""

    # Class name -> provider id -> root id, as ``match_group`` gives.
    by_class: dict[str, dict[int, int]]
    # Class name -> provider id -> the most its allocations may add up to.
    limits: dict[str, dict[int, float]]
    # Root -> class name -> providers, every class present; and those roots in order.
    per_class: PerClass
    roots: list[int]
    # Root -> its candidates (when usage dropped none of its providers), once made.
    blocks: dict[int, Block] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    """One request's matches in a range: ``matched`` less what its usage fills."""

    matched: Matched | None
    per_class: PerClass
    roots: list[int]


def plain_group(request: CandidateRequest, lookup: Lookup) -> RequestGroup | None:
    """The request's only group when the request has the common shape, else None.

    Its scope must still be checked to be ``(None, set())`` (``plain_scope``).
    """
    if lookup.sharing or len(request.groups) != 1:
        return None
    group = request.groups[0]
    if group.same_provider or not group.resources or group.in_tree is not None:
        return None
    return group


def plain_scope(scope: Scope | None) -> bool:
    return scope is not None and scope[0] is None and not scope[1]


def matches(
    snap: Snapshot, usage: Usage, group: RequestGroup, lookup: Lookup,
    window: Window | None,
) -> Found | None:
    """``combine``'s per-root index of ``group``'s providers in ``window`` given ``usage``
    (which must cover the window's trees), and its roots in order; None to work it out
    the general way (some amount allocated is negative)."""
    wanted = [(name, lookup.class_ids[name], amount) for name, amount in group.resources.items()]
    for _, class_id, _ in wanted:
        used_of = usage.get(class_id)
        if used_of and min(used_of.values()) < 0:
            return None
    cache: dict[Any, Matched | None] = snap.derived.setdefault("reuse.matched", {})
    key = (window, tuple(wanted))
    matched = cache.get(key, _UNKNOWN)
    if matched is _UNKNOWN:
        matched = _matched(snap, group, lookup, window)
        with _LOCK:
            # The oldest go first; what they kept stays with the requests using it.
            most = TREES_PER_TREE * len(snap.roots) + 1
            held = sum(len(kept.roots) for kept in cache.values() if kept)
            held += len(matched.roots) if matched else 0
            while cache and (len(cache) >= ENTRIES or held > most):
                gone = cache.pop(next(iter(cache)))
                held -= len(gone.roots) if gone else 0
            cache[key] = matched
    if matched is None:
        return Found(None, {}, [])
    per_class, roots = _without_full(matched, usage, wanted)
    return Found(matched, per_class, roots)


def assemble(
    found: Found, request: CandidateRequest, group: RequestGroup, world: World,
    wanted: int | None, blocks: list[tuple[int, Block]], offset: int,
) -> list[Candidate]:
    """At most ``wanted`` candidates, as ``combine.assemble`` makes them out of
    ``found``. Those of kept trees are appended to ``blocks`` with their position (the
    first at ``offset``); the last may be cut short by ``wanted``."""
    single = combine.GroupIndex(group, {}, found.per_class)
    matched = found.matched
    if matched is None or not request.nested_aware or request.same_subtree:
        todo = combine.Plan(request, [single], found.roots, dedupe=False)
        return list(itertools.islice(combine.assemble(todo, todo.roots, world), wanted))
    kept, unchanged = matched.blocks, matched.per_class
    required, forbidden = request.root_required, request.root_forbidden
    check_root = bool(required or forbidden)
    made: list[Candidate] = []
    for root in found.roots:
        if wanted is not None and len(made) >= wanted:
            break
        if check_root and not world.root_matches(root, required, forbidden):
            continue
        lists = found.per_class[root]
        block = kept.get(root)
        if block is None or lists is not unchanged.get(root):
            one = combine.Plan(request, [combine.GroupIndex(group, {}, {root: lists})],
                               [root], dedupe=False)
            tree = list(combine.assemble(one, one.roots, world))
            if lists is not unchanged.get(root):
                made += tree
                continue
            block = kept[root] = Block(root, tree)
        blocks.append((offset + len(made), block))
        made += block.candidates
    return made if wanted is None else made[:wanted]


def _matched(
    snap: Snapshot, group: RequestGroup, lookup: Lookup, window: Window | None
) -> Matched | None:
    found = match_group(snap, {}, group, lookup, (None, set()), window)
    if found is None:
        return None
    facts = snap.facts
    limits = {
        name: {rp: facts[rp].inventory[lookup.class_ids[name]].limit for rp in providers}
        for name, providers in found.by_class.items()
    }
    index = combine.per_root(found.by_class)
    return Matched(found.by_class, limits, index, sorted(index))


def _without_full(
    matched: Matched, usage: Usage, wanted: list[tuple[str, int, int]]
) -> tuple[PerClass, list[int]]:
    """``matched`` less the providers ``usage`` leaves without room (shared, unchanged,
    when there are none)."""
    full: dict[str, set[int]] = {}
    for name, class_id, amount in wanted:
        limits = matched.limits[name]
        get = limits.get
        out = {rp for rp, used in usage.get(class_id, {}).items()
               if used and (limit := get(rp)) is not None and used + amount > limit}
        if out:
            full[name] = out
    if not full:
        return matched.per_class, matched.roots
    index = dict(matched.per_class)
    copied: set[int] = set()
    for name, providers in full.items():
        root_of = matched.by_class[name]
        for rp in providers:
            root = root_of[rp]
            lists = index.get(root)
            if lists is None:
                continue
            if root not in copied:
                lists = index[root] = dict(lists)
                copied.add(root)
            left = [other for other in lists[name] if other != rp]
            if left:
                lists[name] = left
            else:
                del index[root]
    if len(index) == len(matched.per_class):
        return index, matched.roots
    return index, [root for root in matched.roots if root in index]
