"""POST /reshaper: move inventories and allocations between providers at once.

Used when a host's provider tree changes shape (say VCPU moves from the root to
NUMA children): the inventories and every affected consumer's allocations change
in one transaction, so no capacity is ever double counted or lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from placement import claims, inventories, providers
from placement.errors import ProviderNotFound
from placement.inventories import InventorySpec


@dataclass(frozen=True)
class ProviderInventories:
    generation: int
    specs: dict[str, InventorySpec]


def reshape(
    session: Session, wanted: dict[uuid.UUID, ProviderInventories],
    writes: list[claims.ConsumerWrite],
) -> None:
    """Apply new inventories and allocations together.

    Inventories first grow to the union of old and new classes, allocations are
    replaced, then classes no longer wanted are removed (refused while still
    allocated). Raises ProviderNotFound, ProviderConcurrentUpdate, Conflict,
    InventoryInUse, BadRequest.
    """
    found = {}
    for rp_uuid in wanted:
        provider = providers.find_provider(session, rp_uuid)
        if provider is None:
            raise ProviderNotFound(f"Resource provider {rp_uuid} in inventories not found")
        found[rp_uuid] = provider
    for rp_uuid, target in wanted.items():
        inventories.merge_inventories(
            session, found[rp_uuid], target.generation, target.specs,
            reserved_may_equal_total=True,
        )
    claims.write_allocations(session, writes)
    for rp_uuid, target in wanted.items():
        inventories.prune_inventories(session, found[rp_uuid], set(target.specs))
