"""Reading and removing allocations (writes are in ``claims``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.errors import NotFound
from placement import consumers
from placement.consumers import ConsumerInfo
from placement.db.models import Allocation, Consumer, ResourceClass, ResourceProvider
from placement.providers import Provider


@dataclass
class ConsumerAllocations:
    consumer: ConsumerInfo | None
    # provider uuid -> (provider generation, {class: amount})
    providers: dict[uuid.UUID, tuple[int, dict[str, int]]] = field(default_factory=dict)


def consumer_allocations(session: Session, consumer_uuid: uuid.UUID) -> ConsumerAllocations:
    """The consumer's allocations; empty (and no consumer) when it has none."""
    consumer = consumers.find_consumer(session, consumer_uuid)
    if consumer is None:
        return ConsumerAllocations(None)
    rows = session.execute(
        sa.select(ResourceProvider.uuid, ResourceProvider.generation, ResourceClass.name,
                  Allocation.used)
        .join(ResourceProvider, ResourceProvider.id == Allocation.resource_provider_id)
        .join(ResourceClass, ResourceClass.id == Allocation.resource_class_id)
        .where(Allocation.consumer_id == consumer.id)
    )
    result = ConsumerAllocations(consumer)
    for rp_uuid, generation, name, used in rows:
        result.providers.setdefault(rp_uuid, (generation, {}))[1][name] = int(used)
    if not result.providers:
        return ConsumerAllocations(None)
    return result


def provider_allocations(session: Session, provider: Provider) -> dict[uuid.UUID, dict[str, int]]:
    rows = session.execute(
        sa.select(Consumer.uuid, ResourceClass.name, Allocation.used)
        .join(Consumer, Consumer.id == Allocation.consumer_id)
        .join(ResourceClass, ResourceClass.id == Allocation.resource_class_id)
        .where(Allocation.resource_provider_id == provider.id)
    )
    result: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for consumer_uuid, name, used in rows:
        result[consumer_uuid][name] = int(used)
    return dict(result)


def delete_allocations(session: Session, consumer_uuid: uuid.UUID) -> None:
    """Remove all of a consumer's allocations, and the consumer. Raises NotFound."""
    consumer = consumers.find_consumer(session, consumer_uuid)
    deleted = 0
    if consumer is not None:
        result = session.execute(
            sa.delete(Allocation).where(Allocation.consumer_id == consumer.id)
        )
        deleted = result.rowcount  # type: ignore[attr-defined]
        consumers.delete_if_unused(session, [consumer.id])
    if not deleted:
        raise NotFound(f"No allocations for consumer '{consumer_uuid}'")
