"""Trait and aggregate conditions on providers, shared by listings and candidates."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.errors import BadRequest
from placement.db.models import PlacementAggregate, ResourceProviderAggregate, Trait
from placement.db.models import ResourceProviderTrait as RPT

# A provider id column: a mapped attribute or a column of a select.
Column = sa.ColumnElement[Any] | sa.orm.InstrumentedAttribute[Any]


def has_any_trait(rp_id: Column, trait_ids: Collection[int]) -> sa.ColumnElement[bool]:
    return rp_id.in_(sa.select(RPT.resource_provider_id).where(RPT.trait_id.in_(list(trait_ids))))


def has_no_trait(rp_id: Column, trait_ids: Collection[int]) -> sa.ColumnElement[bool]:
    return ~has_any_trait(rp_id, trait_ids)


def in_any_aggregate(
    rp_id: Column, aggregate_ids: Collection[int]
) -> sa.ColumnElement[bool]:
    return rp_id.in_(
        sa.select(ResourceProviderAggregate.resource_provider_id).where(
            ResourceProviderAggregate.aggregate_id.in_(list(aggregate_ids))
        )
    )


def trait_ids(session: Session, names: Iterable[str]) -> dict[str, int]:
    """Ids of the named traits. Raises BadRequest naming any that do not exist."""
    wanted = set(names)
    if not wanted:
        return {}
    found = dict(
        session.execute(sa.select(Trait.name, Trait.id).where(Trait.name.in_(wanted))).all()
    )
    return traits_among(found, wanted)


def traits_among(known: Mapping[str, int], names: Iterable[str]) -> dict[str, int]:
    """Ids of the named traits among ``known`` (name -> id). Raises BadRequest."""
    wanted = set(names)
    missing = wanted - set(known)
    if missing:
        raise BadRequest(f"No such trait(s): {', '.join(sorted(missing))}.")
    return {name: known[name] for name in wanted}


def aggregate_ids(session: Session, uuids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Ids of the aggregates that exist among ``uuids`` (unknown ones match nothing)."""
    wanted = set(uuids)
    if not wanted:
        return {}
    return dict(
        session.execute(
            sa.select(PlacementAggregate.uuid, PlacementAggregate.id).where(
                PlacementAggregate.uuid.in_(wanted)
            )
        ).all()
    )


def trait_conditions(
    rp_id: Column,
    required: list[frozenset[str]],
    forbidden: Collection[str],
    ids: dict[str, int],
) -> list[sa.ColumnElement[bool]]:
    """Each any-of set of ``required`` is met by the provider; none of ``forbidden`` is."""
    conds = [has_any_trait(rp_id, [ids[name] for name in any_of]) for any_of in required]
    if forbidden:
        conds.append(has_no_trait(rp_id, [ids[name] for name in forbidden]))
    return conds


def aggregate_conditions(
    rp_ids: Sequence[Column],
    member_of: list[frozenset[uuid.UUID]],
    forbidden: Collection[uuid.UUID],
    ids: dict[uuid.UUID, int],
) -> list[sa.ColumnElement[bool]]:
    """Each any-of set of ``member_of`` holds one of ``rp_ids``; no forbidden one does.

    ``rp_ids`` is the provider alone, or the provider and its root: an aggregate on
    a root spans its whole tree for allocation candidates.
    """
    conds: list[sa.ColumnElement[bool]] = []
    for any_of in member_of:
        known = [ids[agg] for agg in any_of if agg in ids]
        if not known:
            return [sa.false()]
        conds.append(sa.or_(*(in_any_aggregate(col, known) for col in rp_ids)))
    bad = [ids[agg] for agg in forbidden if agg in ids]
    if bad:
        conds.extend(~in_any_aggregate(col, bad) for col in rp_ids)
    return conds
