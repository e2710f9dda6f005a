"""Which providers could serve each group, looked up in a snapshot with fresh usage."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from placement import filters
from placement.candidates.request import CandidateRequest, RequestGroup
from placement.candidates.snapshot import Snapshot, Usage
from placement.resource_classes import ids_among

# Root provider ids from (inclusive) and to (exclusive).
Window = tuple[int, int]


@dataclass
class GroupMatches:
    """Providers (id -> root id) able to serve each class of one group."""

    group: RequestGroup
    by_class: dict[str, dict[int, int]]
    # For a group without resources: providers meeting its trait/aggregate filters.
    resourceless: dict[int, int] | None = None


@dataclass
class Lookup:
    trait_ids: dict[str, int]
    aggregate_ids: dict[uuid.UUID, int]
    class_ids: dict[str, int]
    # Whether any provider shares its inventory.
    sharing: bool = True
    # Every class id -> name, for the summaries.
    class_names: dict[int, str] = field(default_factory=dict)


def resolve_names(request: CandidateRequest, snap: Snapshot) -> Lookup:
    """Ids of every trait, aggregate and class named. Raises BadRequest for unknown ones."""
    traits: set[str] = set(request.root_required | request.root_forbidden)
    aggs: set[uuid.UUID] = set()
    classes: set[str] = set()
    for group in request.groups:
        traits |= group.trait_names
        aggs |= set().union(*group.member_of) | set(group.forbidden_aggs)
        classes |= set(group.resources)
    names = snap.names
    return Lookup(
        trait_ids=filters.traits_among(names.traits, traits),
        aggregate_ids={agg: names.aggregates[str(agg)] for agg in aggs
                       if str(agg) in names.aggregates},
        class_ids=ids_among(names.classes, classes),
        sharing=bool(snap.sharing),
        class_names=names.classes,
    )


def match_group(
    snap: Snapshot, usage: Usage, group: RequestGroup, lookup: Lookup, scope: Scope,
    window: Window | None = None,
) -> GroupMatches | None:
    """Providers for each class of ``group`` (in trees whose root id is in ``window``).

    ``scope`` is the group's ``group_scope``; ``usage`` must cover those trees. None
    when some class has none.
    """
    if group.in_tree is not None:
        tree = snap.id_of.get(str(group.in_tree))
        if tree is None:
            return None
        root = snap.root_of[tree]
        if window is not None and not window[0] <= root < window[1]:
            return None
        window = (root, root + 1)
    allowed, denied = scope
    root_of = snap.root_of
    if not group.resources:
        found = {
            rp: root_of[rp] for rp in snap.in_window(window)
            if (allowed is None or rp in allowed) and rp not in denied
        }
        return GroupMatches(group, {}, found) if found else None
    by_class: dict[str, dict[int, int]] = {}
    for name, amount in group.resources.items():
        class_id = lookup.class_ids[name]
        used_of = usage.get(class_id, {})
        providers, inventories = snap.with_class(class_id, window)
        if allowed is not None and len(allowed) * 4 < len(providers):
            # A few providers qualify (member_of, required): look only at those.
            matched = {}
            for rp in allowed - denied:
                inv = snap.facts[rp].inventory.get(class_id)
                root = root_of[rp]
                if (inv is not None and (window is None or window[0] <= root < window[1])
                        and inv.fits(amount, used_of.get(rp, 0))):
                    matched[rp] = root
        else:
            roots = snap.with_class_roots(class_id, window)
            matched = {
                rp: root
                for rp, root, (low, high, step, limit, _) in zip(
                    providers, roots, inventories, strict=True)
                if low <= amount <= high and amount % step == 0
                and used_of.get(rp, 0) + amount <= limit
            }
        if allowed is not None or denied:
            matched = {
                rp: root for rp, root in matched.items()
                if (allowed is None or rp in allowed) and rp not in denied
            }
        if not matched:
            return None
        by_class[name] = matched
    return GroupMatches(group, by_class)


# Providers a group may use (None: any) and providers it may not.
Scope = tuple[set[int] | None, set[int]]


def group_scope(snap: Snapshot, group: RequestGroup, lookup: Lookup) -> Scope | None:
    """The providers the group's trait and aggregate conditions leave; None: none do."""
    allowed: set[int] | None = None

    def narrow(providers: set[int]) -> None:
        nonlocal allowed
        allowed = providers if allowed is None else allowed & providers

    if group.same_provider:
        for any_of in group.required:
            narrow(_with_traits(snap, any_of))
    elif not lookup.sharing:
        # Required traits of the unnumbered group are met by the providers of a
        # candidate together; that is checked once candidates are assembled. Without
        # sharing providers those all sit in one tree, so trees lacking a trait are out.
        for any_of in group.required:
            narrow(_trees_of(snap, {snap.root_of[rp] for rp in _with_traits(snap, any_of)}))
    denied = _with_traits(snap, group.forbidden)
    ids = lookup.aggregate_ids
    for any_agg in group.member_of:
        known = {ids[agg] for agg in any_agg if agg in ids}
        if not known:
            return None
        narrow(_in_aggregates(snap, known, group.same_provider))
    bad = {ids[agg] for agg in group.forbidden_aggs if agg in ids}
    if bad:
        denied |= _in_aggregates(snap, bad, group.same_provider)
    return allowed, denied


def _with_traits(snap: Snapshot, names: Iterable[str]) -> set[int]:
    """Providers having any of the traits."""
    return {rp for name in names for rp in snap.trait_members.get(name, ())}


def _trees_of(snap: Snapshot, roots: Iterable[int]) -> set[int]:
    return {rp for root in roots for rp in snap.members.get(root, ())}


def _in_aggregates(snap: Snapshot, ids: set[int], alone: bool) -> set[int]:
    """Providers in any of the aggregates; unless ``alone``, also those whose root is.

    For the unnumbered group an aggregate on a root spans its whole tree.
    """
    found = {rp for agg in ids for rp in snap.aggregate_members.get(agg, ())}
    if alone:
        return found
    return found | _trees_of(snap, (rp for rp in found if snap.root_of[rp] == rp))


def sharing_anchors(snap: Snapshot, provider_ids: set[int]) -> dict[int, set[int]]:
    """For each sharing provider among ``provider_ids``: the roots it shares with.

    A provider shares (trait MISC_SHARES_VIA_AGGREGATE) with every tree that has a
    provider in one of its aggregates, and with its own tree.
    """
    anchors: dict[int, set[int]] = defaultdict(set)
    for sharer in provider_ids & snap.sharing:
        roots = anchors[sharer]
        roots.add(snap.root_of[sharer])
        for agg in snap.facts[sharer].aggregates:
            roots.update(snap.root_of[rp] for rp in snap.aggregate_members.get(agg, ()))
    return dict(anchors)
