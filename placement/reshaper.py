"""POST /reshaper: move inventories and allocations between providers at once.

Used when a host's provider tree changes shape (say VCPU moves from the root to
NUMA children): the inventories and every affected consumer's allocations change
in one transaction, so no capacity is ever double counted or lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from placement import claims, generations, inventories, providers
from placement.errors import ProviderConcurrentUpdate, ProviderNotFound
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
    for rp_uuid, target in wanted.items():
        provider = providers.find_provider(session, rp_uuid)
        if provider is None:
            raise ProviderNotFound(f"Resource provider {rp_uuid} in inventories not found")
        if provider.generation != target.generation:
            raise ProviderConcurrentUpdate(
                f"resource provider generation conflict for provider {rp_uuid}: "
                f"actual: {provider.generation}, given: {target.generation}")
        found[rp_uuid] = provider
    # Each step moves the generations of the providers it changes, as upstream's
    # does: the interim inventory, the allocations, then the final inventory.
    for rp_uuid, target in wanted.items():
        if target.specs:
            inventories.merge_inventories(
                session, found[rp_uuid], target.generation, target.specs,
                reserved_may_equal_total=True,
            )
    claims.write_allocations(session, writes)
    now = generations.current(session, [p.id for p in found.values()])
    for rp_uuid, target in wanted.items():
        inventories.prune_inventories(session, found[rp_uuid], set(target.specs))
        generations.bump(session, found[rp_uuid].id, now[found[rp_uuid].id])
