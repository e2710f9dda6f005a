"""SQL pieces for "how much of a class is used" and "does this amount fit"."""

from __future__ import annotations

import sqlalchemy as sa

from placement.db.models import Allocation, Inventory


def used_amount() -> sa.ScalarSelect[int]:
    """Amount allocated against the inventory row of the enclosing query.

    A correlated lookup on the (provider, class, used) index: its cost does not
    depend on the planner's row estimates, which are poor right after bulk loads.
    """
    return (
        sa.select(sa.func.coalesce(sa.func.sum(Allocation.used), 0))
        .where(
            Allocation.resource_provider_id == Inventory.resource_provider_id,
            Allocation.resource_class_id == Inventory.resource_class_id,
        )
        .correlate(Inventory)
        .scalar_subquery()
    )


def fits(amount: int) -> sa.ColumnElement[bool]:
    """An ``amount`` can be allocated from the enclosing query's inventory row."""
    return sa.and_(
        Inventory.min_unit <= amount,
        Inventory.max_unit >= amount,
        amount % Inventory.step_size == 0,
        used_amount() + amount
        <= (Inventory.total - Inventory.reserved) * Inventory.allocation_ratio,
    )


def capacity(total: int, reserved: int, allocation_ratio: float) -> int:
    return int((total - reserved) * allocation_ratio)
