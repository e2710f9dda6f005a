"""Everything about the provider trees in play, taken from a snapshot and fresh usage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import NamedTuple

from placement.candidates.snapshot import Snapshot, Usage


class Room(NamedTuple):
    capacity: int
    used: int
    max_unit: int


@dataclass
class World:
    # Provider uuids as the text they are sent as.
    uuid_of: dict[int, str] = field(default_factory=dict)
    parent_of: dict[int, int | None] = field(default_factory=dict)
    root_of: dict[int, int] = field(default_factory=dict)
    traits: Mapping[int, AbstractSet[str]] = field(default_factory=lambda: defaultdict(set))
    room: dict[int, dict[str, Room]] = field(default_factory=lambda: defaultdict(dict))
    # Root -> the providers of its tree; scanned out of ``root_of`` when empty.
    members: Mapping[int, list[int]] = field(default_factory=dict)

    def root_matches(self, root: int, required: Iterable[str], forbidden: Iterable[str]) -> bool:
        have = self.traits.get(root, frozenset())
        return set(required) <= have and not have & set(forbidden)

    def traits_met(self, providers: set[int], required: list[frozenset[str]]) -> bool:
        if not required:
            return True
        have: set[str] = set().union(*(self.traits.get(rp, ()) for rp in providers))
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
        if self.members:
            members = self.members
            return [rp for root in roots for rp in members.get(root, ())]
        return [rp for rp, root in self.root_of.items() if root in roots]


class Rooms(dict[int, dict[str, Room]]):
    """Each provider's rooms by class name, worked out when first asked for.

    Only providers whose usage was read (``covered``: their roots, None for all) may
    be asked for: any other would show nothing used.
    """

    def __init__(self, snap: Snapshot, usage: Usage, names: Mapping[int, str],
                 covered: set[int] | None) -> None:
        super().__init__()
        self.snap, self.usage, self.names, self.covered = snap, usage, names, covered

    def check_read(self, providers: Iterable[int]) -> None:
        """Raise LookupError unless the usage of these providers was read."""
        covered, root_of = self.covered, self.snap.root_of
        if covered is not None:
            for rp in providers:
                if root_of.get(rp) not in covered:
                    raise LookupError(f"usage of provider {rp} was not read")

    def __missing__(self, rp: int) -> dict[str, Room]:
        facts = self.snap.facts.get(rp)
        self.check_read((rp,))
        rooms: dict[str, Room] = {}
        if facts is not None:
            for class_id, inv in facts.inventory.items():
                used = self.usage.get(class_id, {}).get(rp, 0)
                rooms[self.names[class_id]] = Room(inv.capacity, used, inv.max_unit)
        self[rp] = rooms
        return rooms


def world_of(snap: Snapshot, rooms: Rooms) -> World:
    """A world sharing the snapshot's read-only maps."""
    return World(uuid_of=snap.uuid_of, parent_of=snap.parent_of, root_of=snap.root_of,
                 traits=snap.traits, room=rooms, members=snap.members)
