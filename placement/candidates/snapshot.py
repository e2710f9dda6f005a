"""What allocation candidates know of every provider, kept between requests.

Inventories, traits, aggregates and the shape of the trees change rarely; usage
changes with every claim. Each worker keeps the first part and checks it on every
request against the providers' generations and tree links, read in the same
database snapshot as everything else the request reads: every inventory, trait and
aggregate write bumps its provider's generation, and re-parenting changes the links
themselves. Only providers whose row changed are read again. Usage is never kept:
``read_usage`` sums it afresh for each request.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import os_traits
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from placement.db.models import (
    Allocation,
    Inventory,
    PlacementAggregate,
    ResourceClass,
    ResourceProvider,
    ResourceProviderAggregate,
    Trait,
)
from placement.db.models import ResourceProviderTrait as RPT

# Ids per IN list on SQLite (its bound parameter limit); PostgreSQL gets one array.
CHUNK = 500
# Past this share of changed providers, everything is read again without an id list.
FULL_RELOAD_SHARE = 0.5

# (id, generation, parent id, root id): the row a provider's cached facts depend on.
ProviderRow = tuple[int, int, int | None, int]
# Class id -> provider id -> amount allocated.
Usage = dict[int, dict[int, int]]


class Inv(NamedTuple):
    """One inventory row, with the capacity it gives."""

    min_unit: int
    max_unit: int
    step_size: int
    # (total - reserved) * allocation_ratio: what allocations may add up to.
    limit: float
    capacity: int

    @classmethod
    def of(cls, total: int, reserved: int, min_unit: int, max_unit: int, step_size: int,
           allocation_ratio: float) -> Inv:
        limit = (total - reserved) * allocation_ratio
        return cls(min_unit, max_unit, step_size, limit, int(limit))

    def fits(self, amount: int, used: int) -> bool:
        """``amount`` more can be allocated on top of ``used``."""
        return (
            self.min_unit <= amount <= self.max_unit
            and amount % self.step_size == 0
            and used + amount <= self.limit
        )


@dataclass(frozen=True)
class Facts:
    """What a provider is, as of one generation."""

    uuid: str
    generation: int
    traits: frozenset[str]
    aggregates: frozenset[int]
    # Class id -> inventory.
    inventory: dict[int, Inv]


@dataclass(frozen=True)
class Names:
    """The small tables requests name things by, read whole."""

    # Class id -> name (classes can be renamed before microversion 1.7).
    classes: dict[int, str]
    # Trait name -> id.
    traits: dict[str, int]
    # Aggregate uuid text -> id.
    aggregates: dict[str, int]


@dataclass
class Snapshot:
    """Every provider's facts and tree links at one moment; read-only once built."""

    # What the check compares: (providers part, names part), digests on PostgreSQL,
    # the rows themselves elsewhere.
    key: tuple[object, object]
    rows: dict[int, ProviderRow]
    facts: dict[int, Facts]
    names: Names
    uuid_of: dict[int, str] = field(default_factory=dict)
    id_of: dict[str, int] = field(default_factory=dict)
    parent_of: dict[int, int | None] = field(default_factory=dict)
    root_of: dict[int, int] = field(default_factory=dict)
    traits: dict[int, frozenset[str]] = field(default_factory=dict)
    # Root ids in order, and each tree's providers.
    roots: list[int] = field(default_factory=list)
    members: dict[int, list[int]] = field(default_factory=dict)
    # Class id -> providers with that inventory, ordered by (root, id); with their roots.
    by_class: dict[int, list[int]] = field(default_factory=dict)
    by_class_roots: dict[int, list[int]] = field(default_factory=dict)
    by_class_inventory: dict[int, list[Inv]] = field(default_factory=dict)
    trait_members: dict[str, list[int]] = field(default_factory=dict)
    aggregate_members: dict[int, list[int]] = field(default_factory=dict)
    # Providers with MISC_SHARES_VIA_AGGREGATE.
    sharing: frozenset[int] = frozenset()
    # Parts of answers derived from this snapshot's facts, links and names alone (the
    # JSON of a provider's summary but its usage, say), filled in by their users.
    derived: dict[str, Any] = field(default_factory=dict)

    def with_class(
        self, class_id: int, window: tuple[int, int] | None
    ) -> tuple[list[int], list[Inv]]:
        """Providers holding ``class_id`` in trees whose root id is in ``window``, and
        their inventories of it."""
        providers = self.by_class.get(class_id, [])
        inventories = self.by_class_inventory.get(class_id, [])
        if window is None:
            return providers, inventories
        roots = self.by_class_roots.get(class_id, [])
        low = bisect.bisect_left(roots, window[0])
        high = bisect.bisect_left(roots, window[1], lo=low)
        return providers[low:high], inventories[low:high]

    def with_class_roots(self, class_id: int, window: tuple[int, int] | None) -> list[int]:
        """The roots of ``with_class``'s providers, in the same order."""
        roots = self.by_class_roots.get(class_id, [])
        if window is None:
            return roots
        low = bisect.bisect_left(roots, window[0])
        return roots[low:bisect.bisect_left(roots, window[1], lo=low)]

    def in_window(self, window: tuple[int, int] | None) -> Iterator[int]:
        """Every provider in trees whose root id is in ``window``."""
        roots = self.roots
        low, high = 0, len(roots)
        if window is not None:
            low = bisect.bisect_left(roots, window[0])
            high = bisect.bisect_left(roots, window[1], lo=low)
        for root in roots[low:high]:
            yield from self.members[root]


class SnapshotCache:
    """One worker's latest snapshot; ``current`` checks it and refreshes what changed.

    It also keeps the last few rendered candidate answers (``answer`` / ``keep``), each
    under the snapshot's key and a digest of every allocation read in the same database
    snapshot: an answer is reused only while nothing it was computed from has changed.
    """

    ANSWERS = 32

    def __init__(self) -> None:
        self._latest: Snapshot | None = None
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

    def answer_key(self, session: Session, snap: Snapshot, request: object
                   ) -> tuple[object, ...] | None:
        """Where an answer to ``request`` over what ``session`` sees is kept (PostgreSQL)."""
        if not _is_postgres(session):
            return None
        return (snap.key, tuple(_rows(session, _ALLOCATION_DIGEST).one()), request)

    def answer(self, key: tuple[object, ...] | None) -> bytes | None:
        if key is None:
            return None
        with self._lock:
            body = self._answers.get(key)
            if body is not None:
                self._answers.move_to_end(key)
            return body

    def keep(self, key: tuple[object, ...] | None, body: bytes) -> None:
        if key is None:
            return
        with self._lock:
            self._answers[key] = body
            while len(self._answers) > self.ANSWERS:
                self._answers.popitem(last=False)

    def current(self, session: Session) -> Snapshot:
        """The snapshot matching the database as ``session`` sees it.

        Call ``consistent_reads(session)`` first: the check and any re-read must see
        one database snapshot.
        """
        rows: dict[int, ProviderRow] | None = None
        names: Names | None = None
        if _is_postgres(session):
            key: tuple[object, object] = _digest(session)
        else:
            # SQLite answers in-process: reading everything is as cheap as a digest.
            rows, names = _provider_rows(session), _read_names(session)
            key = (tuple(rows.values()), names)
        latest = self._latest
        if latest is not None and latest.key == key:
            return latest
        with self._lock:
            base = self._latest
            if base is not None and base.key == key:
                return base
            if base is not None and base.key[1] == key[1]:
                names = base.names
            names = names or _read_names(session)
            if base is not None and base.key[0] == key[0]:
                snapshot = dataclasses.replace(base, key=key, names=names, derived={})
            else:
                rows = rows or _provider_rows(session)
                snapshot = _build(session, key, rows, names, base)
            self._latest = snapshot
            return snapshot


def consistent_reads(session: Session) -> None:
    """Make every statement of ``session``'s (new) transaction read one snapshot.

    SQLite's read transactions already do; PostgreSQL's default gives each statement
    its own. A transaction that only reads never fails for it.
    """
    if _is_postgres(session):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def read_usage(session: Session, provider_ids: Collection[int] | None,
               roots: tuple[int, int] | None = None) -> Usage:
    """Amounts allocated per provider and class; of every provider when ids is None.

    ``roots`` (PostgreSQL only), the range of root ids the ids' trees fill: the same
    providers, named by their roots.
    """
    usage: Usage = defaultdict(dict)
    if _is_postgres(session):
        if roots is not None:
            rows = session.connection().execute(
                _USAGE_BY_CLASS_IN_ROOTS, {"low": roots[0], "high": roots[1]})
        elif provider_ids is None:
            rows = _rows(session, _USAGE_BY_CLASS)
        elif provider_ids:
            rows = session.connection().execute(
                _USAGE_BY_CLASS_OF, {"ids": sorted(set(provider_ids))})
        else:
            return usage
        for rc, providers, used in rows.all():
            usage[rc] = dict(zip(providers, used, strict=True))
        return usage
    for cond in _id_conditions(session, Allocation.resource_provider_id, provider_ids):
        for rp, rc, used in _rows(session, _USAGE.where(cond)).all():
            usage[rc][rp] = int(used)
    return usage


def reads_ranges(session: Session) -> bool:
    """Whether ``read_usage`` reads a range of roots without the ids of their providers."""
    return _is_postgres(session)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _digest(session: Session) -> tuple[object, object]:
    """Cheap fingerprints of every provider's (id, generation, parent, root), and of
    the classes, traits and aggregates tables.

    Each is a row count and the sum of a 64-bit hash per row: any change moves it,
    bar a 2^-64 coincidence, at a fraction of the cost of hashing the rows' text.
    """
    row = _rows(session, _DIGEST).one()
    return tuple(row[:2]), tuple(row[2:])


def _digest_statement() -> sa.Select[Any]:
    rp = ResourceProvider
    hash8 = sa.func.hashint8extended
    providers = _hash_sum(rp, hash8(rp.id, hash8(rp.generation, hash8(
        sa.func.coalesce(rp.parent_provider_id, 0),
        sa.func.coalesce(rp.root_provider_id, rp.id),
    ))))
    text = sa.func.hashtextextended
    classes = _hash_sum(ResourceClass, text(ResourceClass.name, ResourceClass.id))
    traits = _hash_sum(Trait, text(Trait.name, Trait.id))
    aggs = _hash_sum(PlacementAggregate, text(
        sa.cast(sa.type_coerce(PlacementAggregate.uuid, sa.String), sa.Text),
        PlacementAggregate.id,
    ))
    # One row each, joined on nothing: a single round trip for all four.
    joined = providers.join(classes, sa.true()).join(traits, sa.true()).join(aggs, sa.true())
    return sa.select(*providers.c, *classes.c, *traits.c, *aggs.c).select_from(joined)


def _hash_sum(table: Any, row_hash: sa.ColumnElement[Any]) -> sa.Subquery:
    return sa.select(sa.func.count(), sa.func.sum(row_hash)).select_from(table).subquery()


# Built once: composing these took longer than running them.
_DIGEST = _digest_statement()
# Every allocation row (count and hash sum): usage is whatever these rows add up to.
_ALLOCATION_DIGEST = sa.select(sa.func.count(), sa.func.sum(sa.func.hashint8extended(
    Allocation.id, sa.func.hashint8extended(Allocation.consumer_id, sa.func.hashint8extended(
        Allocation.resource_provider_id, sa.func.hashint8extended(
            Allocation.resource_class_id, Allocation.used))))))
_USAGE = sa.select(
    Allocation.resource_provider_id.label("rp"), Allocation.resource_class_id.label("rc"),
    sa.cast(sa.func.sum(Allocation.used), sa.BigInteger).label("used"),
).group_by(Allocation.resource_provider_id, Allocation.resource_class_id)



def _by_class(sums: sa.Subquery) -> sa.Select[Any]:
    return sa.select(
        sums.c.rc, sa.func.array_agg(sums.c.rp), sa.func.array_agg(sums.c.used)
    ).group_by(sums.c.rc)


# PostgreSQL: one row per class holding two arrays, which the driver decodes in C; a
# row per (provider, class) cost a Python object each.
_USAGE_BY_CLASS = _by_class(_USAGE.subquery())
_USAGE_BY_CLASS_IN_ROOTS = _by_class(_USAGE.join(
    ResourceProvider, ResourceProvider.id == Allocation.resource_provider_id).where(
    ResourceProvider.root_provider_id >= sa.bindparam("low"),
    ResourceProvider.root_provider_id < sa.bindparam("high")).subquery())
_USAGE_BY_CLASS_OF = _by_class(_USAGE.where(Allocation.resource_provider_id == sa.any_(
    sa.bindparam("ids", type_=ARRAY(sa.Integer)))).subquery())


def _rows(session: Session, stmt: sa.Executable) -> Any:
    """Run ``stmt`` on the session's connection: plain rows, no ORM bookkeeping."""
    return session.connection().execute(stmt)


def _provider_rows(session: Session) -> dict[int, ProviderRow]:
    rp = ResourceProvider
    rows = _rows(
        session,
        sa.select(rp.id, rp.generation, rp.parent_provider_id, rp.root_provider_id)
        .order_by(rp.id),
    )
    return {
        rp_id: (rp_id, generation, parent, rp_id if root is None else root)
        for rp_id, generation, parent, root in rows.all()
    }


def _read_names(session: Session) -> Names:
    aggregate = PlacementAggregate
    return Names(
        classes=dict(_rows(session, sa.select(ResourceClass.id, ResourceClass.name)).all()),
        traits=dict(_rows(session, sa.select(Trait.name, Trait.id)).all()),
        aggregates=dict(_rows(session, sa.select(
            sa.type_coerce(aggregate.uuid, sa.String), aggregate.id)).all()),
    )


def _build(
    session: Session, key: tuple[object, object], rows: dict[int, ProviderRow], names: Names,
    base: Snapshot | None,
) -> Snapshot:
    facts: dict[int, Facts] = {}
    stale: list[int] = []
    for rp, row in rows.items():
        known = None if base is None else base.facts.get(rp)
        if known is not None and known.generation == row[1]:
            facts[rp] = known
        else:
            stale.append(rp)
    if stale:
        everything = len(stale) > FULL_RELOAD_SHARE * len(rows)
        facts.update(_read_facts(session, rows, None if everything else stale, stale))
    if base is not None and _same_shape(base, rows, facts, stale):
        # Usually a claim: generations moved, nothing candidates look at did. The
        # lookups built from the facts, and what was derived from them, still hold.
        if names != base.names:
            return dataclasses.replace(base, key=key, rows=rows, facts=facts, names=names,
                                       derived={})
        return dataclasses.replace(base, key=key, rows=rows, facts=facts, names=names)
    return _index(Snapshot(key=key, rows=rows, facts=facts, names=names))


def _same_shape(
    base: Snapshot, rows: dict[int, ProviderRow], facts: dict[int, Facts], stale: list[int]
) -> bool:
    """The same providers and links as ``base``, the stale ones unchanged but for their
    generation."""
    if len(rows) != len(base.rows) or len(facts) != len(base.facts):
        return False
    for rp in stale:
        old, new = base.facts.get(rp), facts.get(rp)
        if old is None or new is None or (old.uuid, old.traits, old.aggregates, old.inventory) != (
                new.uuid, new.traits, new.aggregates, new.inventory):
            return False
    return all(base.rows.get(rp, row)[2:] == row[2:] and rp in base.rows
               for rp, row in rows.items())


def _read_facts(
    session: Session, rows: dict[int, ProviderRow], ids: list[int] | None, wanted: list[int]
) -> dict[int, Facts]:
    """Facts of the ``wanted`` providers (``ids`` limits the statements, None: all)."""
    uuids: dict[int, str] = {}
    traits: dict[int, set[str]] = defaultdict(set)
    aggregates: dict[int, set[int]] = defaultdict(set)
    inventory: dict[int, dict[int, Inv]] = defaultdict(dict)
    rp = ResourceProvider
    for cond in _id_conditions(session, rp.id, ids):
        stmt = sa.select(rp.id, sa.type_coerce(rp.uuid, sa.String)).where(cond)
        uuids.update((rp_id, text) for rp_id, text in _rows(session, stmt).all())
    for cond in _id_conditions(session, RPT.resource_provider_id, ids):
        named = (sa.select(RPT.resource_provider_id, Trait.name)
                 .join(Trait, Trait.id == RPT.trait_id).where(cond))
        for rp_id, name in _rows(session, named).all():
            traits[rp_id].add(name)
    rpa = ResourceProviderAggregate
    for cond in _id_conditions(session, rpa.resource_provider_id, ids):
        linked = sa.select(rpa.resource_provider_id, rpa.aggregate_id).where(cond)
        for rp_id, agg in _rows(session, linked).all():
            aggregates[rp_id].add(agg)
    inv = Inventory
    for cond in _id_conditions(session, inv.resource_provider_id, ids):
        held = sa.select(
            inv.resource_provider_id, inv.resource_class_id, inv.total, inv.reserved,
            inv.min_unit, inv.max_unit, inv.step_size, inv.allocation_ratio,
        ).where(cond)
        for rp_id, rc, total, reserved, low, high, step, ratio in _rows(session, held).all():
            inventory[rp_id][rc] = Inv.of(total, reserved, low, high, step, ratio)
    return {
        rp_id: Facts(uuids[rp_id], rows[rp_id][1], frozenset(traits.get(rp_id, ())),
                     frozenset(aggregates.get(rp_id, ())), dict(inventory.get(rp_id, {})))
        for rp_id in wanted
        if rp_id in uuids
    }


def _index(snap: Snapshot) -> Snapshot:
    """Fill the lookups derived from ``rows`` and ``facts``."""
    members: dict[int, list[int]] = defaultdict(list)
    trait_members: dict[str, list[int]] = defaultdict(list)
    aggregate_members: dict[int, list[int]] = defaultdict(list)
    by_class: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for rp, (_, _, parent, root) in snap.rows.items():
        facts = snap.facts.get(rp)
        if facts is None:
            # Gone between statements: only without ``consistent_reads``.
            continue
        snap.uuid_of[rp] = facts.uuid
        snap.id_of[facts.uuid] = rp
        snap.parent_of[rp] = parent
        snap.root_of[rp] = root
        snap.traits[rp] = facts.traits
        members[root].append(rp)
        for name in facts.traits:
            trait_members[name].append(rp)
        for agg in facts.aggregates:
            aggregate_members[agg].append(rp)
        for class_id in facts.inventory:
            by_class[class_id].append((root, rp))
    snap.roots = sorted(members)
    snap.members = dict(members)
    for class_id, pairs in by_class.items():
        pairs.sort()
        snap.by_class[class_id] = [rp for _, rp in pairs]
        snap.by_class_roots[class_id] = [root for root, _ in pairs]
        snap.by_class_inventory[class_id] = [
            snap.facts[rp].inventory[class_id] for _, rp in pairs
        ]
    snap.trait_members = dict(trait_members)
    snap.aggregate_members = dict(aggregate_members)
    snap.sharing = frozenset(trait_members.get(os_traits.MISC_SHARES_VIA_AGGREGATE, ()))
    return snap


def _id_conditions(
    session: Session, column: Any, ids: Iterable[int] | None
) -> Iterator[sa.ColumnElement[bool]]:
    """Conditions that together select rows whose ``column`` is in ``ids`` (None: all)."""
    if ids is None:
        yield sa.true()
        return
    todo = sorted(set(ids))
    if not todo:
        return
    if _is_postgres(session):
        yield column == sa.any_(sa.bindparam("ids", todo, type_=ARRAY(sa.Integer)))
        return
    for start in range(0, len(todo), CHUNK):
        yield column.in_(todo[start:start + CHUNK])
