"""Aggregates: named groups of providers, used by member_of and sharing providers."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from placement import generations
from placement.db.helpers import insert_ignoring_duplicates
from placement.db.models import PlacementAggregate, ResourceProviderAggregate
from placement.providers import Provider


def provider_aggregates(session: Session, provider: Provider) -> list[uuid.UUID]:
    return list(
        session.scalars(
            sa.select(PlacementAggregate.uuid)
            .join(
                ResourceProviderAggregate,
                ResourceProviderAggregate.aggregate_id == PlacementAggregate.id,
            )
            .where(ResourceProviderAggregate.resource_provider_id == provider.id)
            .order_by(PlacementAggregate.uuid)
        )
    )


def set_provider_aggregates(
    session: Session, provider: Provider, generation: int, wanted: list[uuid.UUID]
) -> int:
    """Replace the provider's aggregates; returns the new generation.

    Raises ProviderConcurrentUpdate.
    """
    new_generation = generations.bump(session, provider.id, generation)
    insert_ignoring_duplicates(
        session, PlacementAggregate.__table__,  # type: ignore[arg-type]
        [{"uuid": str(agg)} for agg in sorted(set(wanted))],
    )
    ids = set(
        session.scalars(
            sa.select(PlacementAggregate.id).where(PlacementAggregate.uuid.in_(set(wanted)))
        )
    )
    have = set(
        session.scalars(
            sa.select(ResourceProviderAggregate.aggregate_id).where(
                ResourceProviderAggregate.resource_provider_id == provider.id
            )
        )
    )
    if have - ids:
        session.execute(
            sa.delete(ResourceProviderAggregate).where(
                ResourceProviderAggregate.resource_provider_id == provider.id,
                ResourceProviderAggregate.aggregate_id.in_(have - ids),
            )
        )
    rows = [{"resource_provider_id": provider.id, "aggregate_id": a} for a in sorted(ids - have)]
    if rows:
        session.execute(sa.insert(ResourceProviderAggregate), rows)
    return new_generation
