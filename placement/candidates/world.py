"""Everything about the provider trees in play, read in a few queries up front."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from placement.db.models import Allocation, Inventory, ResourceClass, ResourceProvider, Trait
from placement.db.models import ResourceProviderTrait as RPT

# Trees read per statement on SQLite: keeps bound parameter lists under its limit.
# PostgreSQL gets them all as one array parameter, so its statements compile once.
CHUNK = 500


@dataclass(frozen=True)
class Room:
    capacity: int
    used: int
    max_unit: int


@dataclass
class World:
    # Provider uuids as the text they are sent as.
    uuid_of: dict[int, str] = field(default_factory=dict)
    parent_of: dict[int, int | None] = field(default_factory=dict)
    root_of: dict[int, int] = field(default_factory=dict)
    traits: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    room: dict[int, dict[str, Room]] = field(default_factory=lambda: defaultdict(dict))
    loaded_roots: set[int] = field(default_factory=set)

    def root_matches(self, root: int, required: Iterable[str], forbidden: Iterable[str]) -> bool:
        have = self.traits.get(root, set())
        return set(required) <= have and not have & set(forbidden)

    def traits_met(self, providers: set[int], required: list[frozenset[str]]) -> bool:
        if not required:
            return True
        have: set[str] = set().union(*(self.traits.get(rp, set()) for rp in providers))
        return all(have & any_of for any_of in required)

    def fits(self, allocations: dict[int, dict[str, int]]) -> bool:
        for rp, resources in allocations.items():
            for name, amount in resources.items():
                room = self.room[rp][name]
                if room.used + amount > room.capacity or amount > room.max_unit:
                    return False
        return True

    def one_per_tree(self, allocations: dict[int, dict[str, int]]) -> bool:
        roots = [self.root_of[rp] for rp in allocations]
        return len(roots) == len(set(roots))

    def same_subtree(self, provider_lists: list[list[int]]) -> bool:
        """Some provider of the lists is an ancestor (or itself) of all the others."""
        providers = {rp for rps in provider_lists for rp in rps}
        lineage = {rp: self._lineage(rp) for rp in providers}
        return any(all(top in lineage[rp] for rp in providers) for top in providers)

    def _lineage(self, rp: int) -> set[int]:
        chain = {rp}
        parent = self.parent_of.get(rp)
        while parent is not None:
            chain.add(parent)
            parent = self.parent_of.get(parent)
        return chain

    def tree_members(self, roots: set[int]) -> list[int]:
        return sorted(rp for rp, root in self.root_of.items() if root in roots)


def load_trees(session: Session, world: World, roots: set[int]) -> None:
    """Add the providers of these trees, their traits and inventories, to ``world``."""
    todo = sorted(roots - world.loaded_roots)
    world.loaded_roots |= roots
    if not todo:
        return
    if session.get_bind().dialect.name == "postgresql":
        array = sa.bindparam("roots", todo, type_=ARRAY(sa.Integer))
        _load_chunk(session, world, ResourceProvider.root_provider_id == sa.any_(array))
        return
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        _load_chunk(session, world, ResourceProvider.root_provider_id.in_(chunk))


def _load_chunk(session: Session, world: World, in_trees: sa.ColumnElement[bool]) -> None:
    rows = session.execute(
        sa.select(
            ResourceProvider.id, sa.type_coerce(ResourceProvider.uuid, sa.String),
            ResourceProvider.parent_provider_id, ResourceProvider.root_provider_id,
        ).where(in_trees)
    )
    for rp, rp_uuid, parent, root in rows.all():
        world.uuid_of[rp] = rp_uuid
        world.parent_of[rp] = parent
        world.root_of[rp] = rp if root is None else root
    _load_traits(session, world, in_trees)
    _load_room(session, world, in_trees)


def _load_traits(session: Session, world: World, in_trees: sa.ColumnElement[bool]) -> None:
    rows = session.execute(
        sa.select(RPT.resource_provider_id, Trait.name)
        .join(Trait, Trait.id == RPT.trait_id)
        .join(ResourceProvider, ResourceProvider.id == RPT.resource_provider_id)
        .where(in_trees)
    )
    for rp, name in rows:
        world.traits[rp].add(name)


def _load_room(session: Session, world: World, in_trees: sa.ColumnElement[bool]) -> None:
    # Usage summed once per tree set and joined: cheaper than a lookup per inventory row
    # when whole trees are read.
    usage = (
        sa.select(
            Allocation.resource_provider_id.label("rp"),
            Allocation.resource_class_id.label("rc"),
            sa.cast(sa.func.sum(Allocation.used), sa.BigInteger).label("used"),
        )
        .join(ResourceProvider, ResourceProvider.id == Allocation.resource_provider_id)
        .where(in_trees)
        .group_by(Allocation.resource_provider_id, Allocation.resource_class_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(
            Inventory.resource_provider_id, ResourceClass.name, Inventory.total,
            Inventory.reserved, Inventory.allocation_ratio, Inventory.max_unit, usage.c.used,
        )
        .join(ResourceClass, ResourceClass.id == Inventory.resource_class_id)
        .join(ResourceProvider, ResourceProvider.id == Inventory.resource_provider_id)
        .outerjoin(usage, sa.and_(usage.c.rp == Inventory.resource_provider_id,
                                  usage.c.rc == Inventory.resource_class_id))
        .where(in_trees)
    )
    room = world.room
    for rp, name, total, reserved, ratio, max_unit, used in rows:
        room[rp][name] = Room(int((total - reserved) * ratio), used or 0, max_unit)
