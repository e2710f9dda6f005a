"""The Python half of allocation candidates: joining group matches into candidates.

Everything here works on data already read by ``search`` and ``world``; it issues
no queries. Candidates are produced lazily, tree by tree, so ``limit`` stops early
and only the trees looked at need to be read.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from placement.candidates.request import Candidate, CandidateRequest, RequestGroup
from placement.candidates.search import GroupMatches
from placement.candidates.world import World

# (provider id, class, amount) taken by one group.
Part = tuple[int, str, int]
Option = tuple[Part, ...]


@dataclass
class GroupIndex:
    group: RequestGroup
    # Suffixed and resourceless groups: finished options per anchoring root.
    options: dict[int, list[Option]]
    # Unnumbered group: per root, per class, the providers that could serve it.
    per_class: dict[int, dict[str, list[int]]]

    def roots(self) -> set[int]:
        return set(self.options) | set(self.per_class)


@dataclass
class Plan:
    """Which trees may hold candidates, known before their details are read."""

    request: CandidateRequest
    indexes: list[GroupIndex]
    # Roots of trees every group has options in, in the order candidates come out.
    roots: list[int]
    # One group and no sharing providers: distinct options are distinct candidates
    # and no candidate comes out of two trees, so nothing needs remembering.
    dedupe: bool = True
    seen: set[tuple[object, ...]] = field(default_factory=set)


def plan(
    request: CandidateRequest, matches: list[GroupMatches], anchors: dict[int, set[int]]
) -> Plan:
    indexes = [_index(m, anchors) for m in matches]
    roots = set.intersection(*(index.roots() for index in indexes)) if indexes else set()
    return Plan(request, indexes, sorted(roots), dedupe=len(indexes) > 1 or bool(anchors))


def assemble(plan: Plan, roots: list[int], world: World) -> Iterator[Candidate]:
    """The distinct candidates in these trees (``world`` must describe them)."""
    request, indexes = plan.request, plan.indexes
    if _lone_tree_group(plan):
        yield from _assemble_lone(plan, roots, world)
        return
    for root in roots:
        if not world.root_matches(root, request.root_required, request.root_forbidden):
            continue
        per_group = [_options_for_root(index, root, world) for index in indexes]
        for combo in itertools.product(*per_group):
            candidate = _build(request, indexes, combo, world)
            if candidate is None:
                continue
            if not plan.dedupe:
                yield candidate
                continue
            key = _key(candidate)
            if key not in plan.seen:
                plan.seen.add(key)
                yield candidate


def _lone_tree_group(plan: Plan) -> bool:
    """Only the unnumbered group, no sharing providers, and candidates may span a tree."""
    request = plan.request
    return (
        len(plan.indexes) == 1 and not plan.dedupe and bool(plan.indexes[0].per_class)
        and request.nested_aware and not request.same_subtree
    )


def _assemble_lone(plan: Plan, roots: list[int], world: World) -> Iterator[Candidate]:
    """``assemble`` for the most common request, without the general bookkeeping.

    Each class is asked for once, so every (provider, class) in a candidate was
    checked for room when matched, and every combination is distinct.
    """
    request, index = plan.request, plan.indexes[0]
    group = index.group
    resources, required, suffix = group.resources, group.required, group.suffix
    names = list(resources)
    # Candidates served by one provider share one (never modified) amounts dict; those
    # served by several share one per set of classes a provider takes.
    whole = dict(resources)
    shares: dict[tuple[str, ...], dict[str, int]] = {}
    check_root = bool(request.root_required or request.root_forbidden)
    for root in roots:
        if check_root and not world.root_matches(
            root, request.root_required, request.root_forbidden
        ):
            continue
        by_class = index.per_class[root]
        for providers in itertools.product(*map(by_class.__getitem__, names)):
            if required and not world.traits_met(set(providers), required):
                continue
            first = providers[0]
            if providers.count(first) == len(providers):
                yield Candidate({first: whole}, {suffix: [first]})
                continue
            taken: dict[int, tuple[str, ...]] = {}
            for rp, name in zip(providers, names, strict=True):
                taken[rp] = (*taken[rp], name) if rp in taken else (name,)
            allocations: dict[int, dict[str, int]] = {}
            for rp, classes in taken.items():
                share = shares.get(classes)
                if share is None:
                    share = shares[classes] = {name: resources[name] for name in classes}
                allocations[rp] = share
            yield Candidate(allocations, {suffix: list(allocations)})


def _index(m: GroupMatches, anchors: dict[int, set[int]]) -> GroupIndex:
    group = m.group
    if m.resourceless is not None:
        options: dict[int, list[Option]] = defaultdict(list)
        for rp, root in sorted(m.resourceless.items()):
            options[root].append(((rp, "", 0),))
        return GroupIndex(group, dict(options), {})
    if group.same_provider:
        return GroupIndex(group, _single_provider_options(m, anchors), {})
    if not anchors:
        return GroupIndex(group, {}, per_root(m.by_class))
    per_class: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for name, providers in m.by_class.items():
        for rp, root in sorted(providers.items()):
            for anchor in _anchors_of(rp, root, anchors):
                per_class[anchor][name].append(rp)
    complete = {
        root: dict(by_class)
        for root, by_class in per_class.items()
        if len(by_class) == len(m.by_class)
    }
    return GroupIndex(group, {}, complete)


def per_root(by_class: dict[str, dict[int, int]]) -> dict[int, dict[str, list[int]]]:
    """Per root, per class, the providers of its tree (by id) that could serve it; only
    roots where every class has some."""
    grouped: list[dict[int, list[int]]] = []
    for providers in by_class.values():
        lists: dict[int, list[int]] = {}
        get = lists.get
        for rp in sorted(providers):
            root = providers[rp]
            found = get(root)
            if found is None:
                lists[root] = [rp]
            else:
                found.append(rp)
        grouped.append(lists)
    names = list(by_class)
    if not grouped:
        return {}
    common = set(grouped[0]).intersection(*grouped[1:])
    return {root: {name: lists[root] for name, lists in zip(names, grouped, strict=True)}
            for root in common}


def _single_provider_options(
    m: GroupMatches, anchors: dict[int, set[int]]
) -> dict[int, list[Option]]:
    common = set.intersection(*(set(p) for p in m.by_class.values()))
    options: dict[int, list[Option]] = defaultdict(list)
    any_class = next(iter(m.by_class.values()))
    for rp in sorted(common):
        option = tuple((rp, name, amount) for name, amount in m.group.resources.items())
        for anchor in _anchors_of(rp, any_class[rp], anchors):
            options[anchor].append(option)
    return dict(options)


def _anchors_of(rp: int, root: int, anchors: dict[int, set[int]]) -> Collection[int]:
    # Also for a group with ``in_tree``: it limits which providers serve the group,
    # not whom they serve, so a sharing provider it picks serves every tree it shares with.
    if rp in anchors:
        return {root} | anchors[rp]
    return (root,)


def _options_for_root(index: GroupIndex, root: int, world: World) -> list[Option]:
    if not index.per_class:
        return index.options.get(root, [])
    by_class = index.per_class[root]
    names = list(by_class)
    group = index.group
    found: list[Option] = []
    for providers in itertools.product(*(by_class[name] for name in names)):
        if not group.required or world.traits_met(set(providers), group.required):
            parts = zip(providers, names, strict=True)
            found.append(tuple((rp, name, group.resources[name]) for rp, name in parts))
    return found


def _build(
    request: CandidateRequest,
    indexes: list[GroupIndex],
    combo: tuple[Option, ...],
    world: World,
) -> Candidate | None:
    mappings: dict[str, list[int]] = {}
    for index, option in zip(indexes, combo, strict=True):
        mappings[index.group.suffix] = list(dict.fromkeys(rp for rp, _, _ in option))
    if request.group_policy == "isolate" and not _isolated(mappings):
        return None
    allocations: dict[int, dict[str, int]] = defaultdict(dict)
    for option in combo:
        for rp, name, amount in option:
            if name:
                allocations[rp][name] = allocations[rp].get(name, 0) + amount
    if not world.fits(allocations):
        return None
    if not request.nested_aware and not world.one_per_tree(allocations):
        return None
    if not all(world.same_subtree([mappings[s] for s in suffixes])
               for suffixes in request.same_subtree):
        return None
    return Candidate(dict(allocations), mappings)


def _isolated(mappings: dict[str, list[int]]) -> bool:
    used = [rps[0] for suffix, rps in mappings.items() if suffix]
    return len(used) == len(set(used))


def _key(candidate: Candidate) -> tuple[object, ...]:
    allocs = tuple(
        sorted((rp, tuple(sorted(r.items()))) for rp, r in candidate.allocations.items())
    )
    maps = tuple(sorted((s, tuple(rps)) for s, rps in candidate.mappings.items()))
    return allocs, maps
