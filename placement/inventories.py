"""Inventories: how much of each resource class a provider has, and on what terms."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.errors import BadRequest, Conflict, NotFound
from placement import generations
from placement.capacity import capacity
from placement.db.models import Allocation, Inventory, ResourceClass
from placement.errors import InventoryInUse
from placement.providers import Provider
from placement.resource_classes import class_ids

LOG = logging.getLogger(__name__)

MAX_INT = 2147483647


@dataclass(frozen=True)
class InventorySpec:
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_INT
    step_size: int = 1
    allocation_ratio: float = 1.0

    def as_dict(self) -> dict[str, int | float]:
        return {
            "total": self.total, "reserved": self.reserved, "min_unit": self.min_unit,
            "max_unit": self.max_unit, "step_size": self.step_size,
            "allocation_ratio": self.allocation_ratio,
        }


def get_inventories(session: Session, provider: Provider) -> dict[str, InventorySpec]:
    rows = session.execute(
        sa.select(ResourceClass.name, Inventory)
        .join(ResourceClass, ResourceClass.id == Inventory.resource_class_id)
        .where(Inventory.resource_provider_id == provider.id)
        .order_by(ResourceClass.name)
    ).all()
    return {name: _spec(inv) for name, inv in rows}


def get_inventory(session: Session, provider: Provider, class_name: str) -> InventorySpec:
    """Raises NotFound."""
    found = get_inventories(session, provider).get(class_name)
    if found is None:
        raise NotFound(f"No inventory of class {class_name} for {provider.uuid}")
    return found


def replace_inventories(
    session: Session, provider: Provider, generation: int,
    specs: dict[str, InventorySpec], reserved_may_equal_total: bool,
) -> int:
    """Make ``specs`` the provider's whole inventory; returns the new generation.

    Raises ProviderConcurrentUpdate, BadRequest, InventoryInUse (a class with
    allocations would go away).
    """
    new_generation = merge_inventories(
        session, provider, generation, specs, reserved_may_equal_total
    )
    prune_inventories(session, provider, set(specs))
    return new_generation


def merge_inventories(
    session: Session, provider: Provider, generation: int,
    specs: dict[str, InventorySpec], reserved_may_equal_total: bool,
) -> int:
    """Add or update the classes in ``specs``, removing none; returns the new generation."""
    _validate(provider, specs, reserved_may_equal_total, "update")
    new_generation = generations.bump(session, provider.id, generation)
    ids = class_ids(session, specs, what="inventories", strict=False)
    unknown = sorted(set(specs) - set(ids))
    if unknown:
        raise BadRequest(f"Unknown resource class in inventory for resource provider "
                         f"{provider.uuid}: No such resource class {unknown[0]}.")
    existing = _existing(session, provider)
    for name, spec in specs.items():
        _upsert(session, provider, ids[name], existing.get(ids[name]), spec)
    _warn_over_capacity(session, provider)
    return new_generation


def prune_inventories(session: Session, provider: Provider, keep: set[str]) -> None:
    """Remove every class but ``keep``. Raises InventoryInUse."""
    ids = class_ids(session, keep, what="inventories")
    existing = _existing(session, provider)
    removed = {cid for cid in existing if cid not in ids.values()}
    if removed:
        _refuse_if_used(session, provider, removed)
        session.execute(sa.delete(Inventory).where(
            Inventory.id.in_([existing[cid].id for cid in removed])))


def put_inventory(
    session: Session, provider: Provider, generation: int, class_name: str,
    spec: InventorySpec, reserved_may_equal_total: bool,
) -> int:
    """Replace one class's inventory; returns the new generation.

    Raises BadRequest (no such class in the provider's inventory, bad capacity),
    ProviderConcurrentUpdate.
    """
    _validate(provider, {class_name: spec}, reserved_may_equal_total, "update")
    new_generation = generations.bump(session, provider.id, generation)
    class_id = _class_id(session, provider, class_name, "update")
    existing = _existing(session, provider).get(class_id)
    if existing is None:
        raise BadRequest(
            f"No inventory record with resource class for resource provider "
            f"{provider.uuid}: No inventory of class {class_name} found."
        )
    _upsert(session, provider, class_id, existing, spec)
    _warn_over_capacity(session, provider)
    return new_generation


def add_inventory(
    session: Session, provider: Provider, generation: int | None, class_name: str,
    spec: InventorySpec, reserved_may_equal_total: bool,
) -> int:
    """Add one class's inventory (POST). Raises Conflict if it exists."""
    _validate(provider, {class_name: spec}, reserved_may_equal_total, "create")
    seen = provider.generation if generation is None else generation
    new_generation = generations.bump(session, provider.id, seen)
    class_id = _class_id(session, provider, class_name, "create")
    if class_id in _existing(session, provider):
        raise Conflict(
            f"Update conflict: Inventory for '{class_name}' on resource provider "
            f"'{provider.uuid}' already exists."
        )
    _upsert(session, provider, class_id, None, spec)
    return new_generation


def delete_inventory(session: Session, provider: Provider, class_name: str) -> None:
    """Raises NotFound, InventoryInUse, ProviderConcurrentUpdate."""
    generations.bump(session, provider.id, provider.generation)
    class_id = class_ids(session, [class_name], what="inventories")[class_name]
    found = _existing(session, provider).get(class_id)
    if found is None:
        raise NotFound(
            f"No inventory of class {class_name} found for delete on resource provider "
            f"{provider.uuid}"
        )
    _refuse_if_used(session, provider, {class_id})
    session.execute(sa.delete(Inventory).where(Inventory.id == found.id))


def delete_all_inventories(session: Session, provider: Provider) -> None:
    """Raises InventoryInUse, ProviderConcurrentUpdate."""
    generations.bump(session, provider.id, provider.generation)
    existing = _existing(session, provider)
    _refuse_if_used(session, provider, set(existing))
    session.execute(sa.delete(Inventory).where(Inventory.resource_provider_id == provider.id))


def _spec(inv: Inventory) -> InventorySpec:
    return InventorySpec(
        total=inv.total, reserved=inv.reserved, min_unit=inv.min_unit, max_unit=inv.max_unit,
        step_size=inv.step_size, allocation_ratio=inv.allocation_ratio,
    )


def _class_id(session: Session, provider: Provider, class_name: str, action: str) -> int:
    """Raises BadRequest for a class that does not exist."""
    found = class_ids(session, [class_name], what="inventories", strict=False)
    if class_name not in found:
        raise BadRequest(f"Unable to {action} inventory for resource provider "
                         f"{provider.uuid}: No such resource class {class_name}.")
    return found[class_name]


def _validate(
    provider: Provider, specs: dict[str, InventorySpec], reserved_may_equal_total: bool,
    action: str,
) -> None:
    """Raises BadRequest (saying whether it was a create or an update that failed)."""
    limit = "greater than" if reserved_may_equal_total else "greater than or equal to"
    for name, spec in specs.items():
        too_much = spec.reserved > spec.total or (
            spec.reserved == spec.total and not reserved_may_equal_total
        )
        if too_much:
            raise BadRequest(
                f"Unable to {action} inventory for resource provider {provider.uuid}: Invalid "
                f"inventory for '{name}' on resource provider '{provider.uuid}'. The reserved "
                f"value is {limit} total."
            )


def _existing(session: Session, provider: Provider) -> dict[int, Inventory]:
    rows = session.scalars(
        sa.select(Inventory).where(Inventory.resource_provider_id == provider.id)
    )
    return {inv.resource_class_id: inv for inv in rows}


def _upsert(
    session: Session, provider: Provider, class_id: int, row: Inventory | None,
    spec: InventorySpec,
) -> None:
    if row is None:
        row = Inventory(resource_provider_id=provider.id, resource_class_id=class_id)
        session.add(row)
    for key, value in spec.as_dict().items():
        setattr(row, key, value)
    session.flush()


def _refuse_if_used(session: Session, provider: Provider, class_ids_: set[int]) -> None:
    used = session.execute(
        sa.select(ResourceClass.name)
        .where(ResourceClass.id.in_(
            sa.select(Allocation.resource_class_id).where(
                Allocation.resource_provider_id == provider.id,
                Allocation.resource_class_id.in_(class_ids_),
            )))
        # Class order (standard classes first, as os-resource-classes lists them).
        .order_by(ResourceClass.id)
    ).scalars().all()
    if used:
        raise InventoryInUse(
            f"Inventory for '{', '.join(used)}' on resource provider "
            f"'{provider.uuid}' in use."
        )


def _warn_over_capacity(session: Session, provider: Provider) -> None:
    # Like upstream, shrinking an inventory below its usage is allowed (a host's
    # reserved amount may grow while it is full); it is logged, not refused.
    rows = session.execute(
        sa.select(
            ResourceClass.name, Inventory.total, Inventory.reserved, Inventory.allocation_ratio,
            sa.func.coalesce(sa.func.sum(Allocation.used), 0),
        )
        .join(ResourceClass, ResourceClass.id == Inventory.resource_class_id)
        .outerjoin(Allocation, sa.and_(
            Allocation.resource_provider_id == Inventory.resource_provider_id,
            Allocation.resource_class_id == Inventory.resource_class_id,
        ))
        .where(Inventory.resource_provider_id == provider.id)
        .group_by(ResourceClass.name, Inventory.total, Inventory.reserved,
                  Inventory.allocation_ratio)
    )
    for name, total, reserved, ratio, used in rows:
        if used > capacity(total, reserved, ratio):
            LOG.warning("resource provider %s is now over capacity for %s (used %s)",
                        provider.uuid, name, used)
