"""The SQL half of allocation candidates: which providers could serve each group."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

import os_traits
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from placement import filters
from placement.candidates.request import CandidateRequest, RequestGroup
from placement.capacity import fits
from placement.db.models import Inventory, ResourceProvider, ResourceProviderAggregate, Trait
from placement.db.models import ResourceProviderTrait as RPT
from placement.resource_classes import class_ids


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
    # Whether any provider shares its inventory (only asked when it matters).
    sharing: bool = True


def resolve_names(session: Session, request: CandidateRequest) -> Lookup:
    """Ids of every trait, aggregate and class named. Raises BadRequest for unknown ones."""
    traits: set[str] = set(request.root_required | request.root_forbidden)
    aggs: set[uuid.UUID] = set()
    classes: set[str] = set()
    for group in request.groups:
        traits |= group.trait_names
        aggs |= set().union(*group.member_of) | set(group.forbidden_aggs)
        classes |= set(group.resources)
    tree_traits = any(g.required and not g.same_provider for g in request.groups)
    return Lookup(
        trait_ids=filters.trait_ids(session, traits),
        aggregate_ids=filters.aggregate_ids(session, aggs),
        class_ids=class_ids(session, classes),
        sharing=_any_sharing(session) if tree_traits or request.limit else True,
    )


def _any_sharing(session: Session) -> bool:
    shares = sa.select(Trait.id).where(Trait.name == os_traits.MISC_SHARES_VIA_AGGREGATE)
    return session.scalar(
        sa.select(sa.exists().where(RPT.trait_id.in_(shares.scalar_subquery())))
    ) is True


# Root provider ids from (inclusive) and to (exclusive).
Window = tuple[int, int]


def match_group(
    session: Session, group: RequestGroup, lookup: Lookup, window: Window | None = None
) -> GroupMatches | None:
    """Providers for each class of ``group`` (in trees whose root id is in ``window``).

    None when some class has none.
    """
    tree_root = _tree_root(session, group.in_tree)
    if group.in_tree is not None and tree_root is None:
        return None
    rp = ResourceProvider
    conds = _group_conditions(group, lookup, tree_root)
    if window is not None:
        conds += [rp.root_provider_id >= window[0], rp.root_provider_id < window[1]]
    if not group.resources:
        rows = session.execute(sa.select(rp.id, rp.root_provider_id).where(*conds))
        found = {row.id: row.root_provider_id for row in rows}
        return GroupMatches(group, {}, found) if found else None
    # One statement for every class of the group: a round trip each cost more than the
    # lookups themselves.
    name_of = {lookup.class_ids[name]: name for name in group.resources}
    # "+ 0" keeps the class index out of the plan: right after a bulk load PostgreSQL
    # thinks a class is rare and intersects its index with every provider's (0.3 ms a
    # provider, 80 ms for a 256-tree window); a class is rarely selective anyway.
    class_col = Inventory.resource_class_id + 0
    stmt = (
        sa.select(rp.id, rp.root_provider_id, Inventory.resource_class_id)
        .join(Inventory, Inventory.resource_provider_id == rp.id)
        .where(sa.or_(*(
            sa.and_(class_col == lookup.class_ids[name], fits(amount))
            for name, amount in group.resources.items()
        )), *conds)
    )
    by_class: dict[str, dict[int, int]] = {name: {} for name in group.resources}
    for rp_id, root, class_id in session.execute(stmt):
        by_class[name_of[class_id]][rp_id] = rp_id if root is None else root
    if not all(by_class.values()):
        return None
    return GroupMatches(group, by_class)


def _group_conditions(
    group: RequestGroup, lookup: Lookup, tree_root: int | None
) -> list[sa.ColumnElement[bool]]:
    rp = ResourceProvider
    conds: list[sa.ColumnElement[bool]] = []
    if tree_root is not None:
        conds.append(rp.root_provider_id == tree_root)
    if group.same_provider:
        conds += filters.trait_conditions(rp.id, group.required, group.forbidden, lookup.trait_ids)
        agg_cols: list[filters.Column] = [rp.id]
    else:
        # Required traits of the unnumbered group are met by the providers of a
        # candidate together; that is checked once candidates are assembled. Without
        # sharing providers those all sit in one tree, so trees lacking a trait are out.
        conds += filters.trait_conditions(rp.id, [], group.forbidden, lookup.trait_ids)
        if not lookup.sharing:
            conds += [_tree_has_any(lookup, any_of) for any_of in group.required]
        agg_cols = [rp.id, rp.root_provider_id]
    conds += filters.aggregate_conditions(
        agg_cols, group.member_of, group.forbidden_aggs, lookup.aggregate_ids
    )
    return conds


def _tree_has_any(lookup: Lookup, names: frozenset[str]) -> sa.ColumnElement[bool]:
    member = aliased(ResourceProvider)
    roots = (
        sa.select(member.root_provider_id)
        .join(RPT, RPT.resource_provider_id == member.id)
        .where(RPT.trait_id.in_([lookup.trait_ids[name] for name in names]))
    )
    return ResourceProvider.root_provider_id.in_(roots)


def _tree_root(session: Session, in_tree: uuid.UUID | None) -> int | None:
    if in_tree is None:
        return None
    return session.scalar(
        sa.select(ResourceProvider.root_provider_id).where(ResourceProvider.uuid == in_tree)
    )


def sharing_anchors(session: Session, provider_ids: set[int]) -> dict[int, set[int]]:
    """For each sharing provider among ``provider_ids``: the roots it shares with.

    A provider shares (trait MISC_SHARES_VIA_AGGREGATE) with every tree that has a
    provider in one of its aggregates, and with its own tree.
    """
    if not provider_ids:
        return {}
    shares = sa.select(Trait.id).where(Trait.name == os_traits.MISC_SHARES_VIA_AGGREGATE)
    # Sharing providers are few: read them all rather than pass a long id list.
    sharing = provider_ids & set(
        session.scalars(
            sa.select(RPT.resource_provider_id).where(RPT.trait_id.in_(shares.scalar_subquery()))
        )
    )
    if not sharing:
        return {}
    mine = aliased(ResourceProviderAggregate)
    theirs = aliased(ResourceProviderAggregate)
    rows = session.execute(
        sa.select(mine.resource_provider_id, ResourceProvider.root_provider_id)
        .join(theirs, theirs.aggregate_id == mine.aggregate_id)
        .join(ResourceProvider, ResourceProvider.id == theirs.resource_provider_id)
        .where(mine.resource_provider_id.in_(sharing))
    )
    anchors: dict[int, set[int]] = defaultdict(set)
    for sharer, root in rows.all():
        if root is not None:
            anchors[sharer].add(root)
    own_roots = session.execute(
        sa.select(ResourceProvider.id, ResourceProvider.root_provider_id).where(
            ResourceProvider.id.in_(sharing)
        )
    )
    for sharer, root in own_roots.all():
        if root is not None:
            anchors[sharer].add(root)
    return dict(anchors)
