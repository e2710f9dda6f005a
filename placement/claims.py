"""Allocations: consumers claiming resources from providers, never beyond capacity.

Each attempt first moves every provider it allocates from to the next generation
with a compare-and-swap (in id order, so two writers never wait on each other in a
cycle), and only then reads usage and writes. A swap that finds another generation
means a concurrent writer committed in between: the attempt is rolled back to its
savepoint and redone, a bounded number of times. A swap that succeeds holds the
provider's row until commit (PostgreSQL), so the usage read after it is exact;
on SQLite writers are serialised anyway. Losing costs only two cheap statements.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.errors import BadRequest, Conflict
from placement import consumers, generations
from placement.capacity import capacity
from placement.db.models import Allocation, Consumer, Inventory, ResourceProvider
from placement.errors import ProviderConcurrentUpdate
from placement.resource_classes import class_ids

LOG = logging.getLogger(__name__)

ATTEMPTS = 20
# Upper bound of the random pause before attempt n: min(cap, base * 2**n) seconds.
BACKOFF_BASE = 0.001
BACKOFF_CAP = 0.05


@dataclass(frozen=True)
class ConsumerWrite:
    """The complete new allocations of one consumer."""

    consumer_uuid: uuid.UUID
    allocations: dict[uuid.UUID, dict[str, int]]
    project_id: str
    user_id: str
    # Checked from microversion 1.28: None means "a consumer that does not exist yet".
    consumer_generation: int | None = None
    check_generation: bool = False
    consumer_type: str | None = None


class _Raced(Exception):
    """A compare-and-swap lost; the attempt is redone."""


def write_allocations(session: Session, writes: list[ConsumerWrite]) -> None:
    """Replace the allocations of every consumer in ``writes``, all or nothing.

    Raises BadRequest (unknown provider or class), Conflict (capacity or unit
    constraints), ProviderConcurrentUpdate (consumer generation mismatch, or
    providers kept changing).
    """
    for attempt in range(ATTEMPTS):
        try:
            with session.begin_nested():
                _attempt(session, writes)
            return
        except (_Raced, sa.exc.IntegrityError) as exc:
            LOG.debug("allocation write raced (attempt %d): %s", attempt + 1, exc)
            # Writers that lost together would otherwise collide again in step.
            time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))
    raise ProviderConcurrentUpdate(
        "Inventory and/or allocations changed while attempting to allocate: "
        "too many concurrent writers, try again"
    )


def _attempt(session: Session, writes: list[ConsumerWrite]) -> None:
    wanted = {rp for w in writes for rp in w.allocations}
    providers = _providers(session, wanted)
    # A consumer written with no allocations releases what it held: those providers
    # changed too (upstream bumps them; a consumer moving elsewhere does not).
    released = _held_by(session, [w.consumer_uuid for w in writes if not w.allocations])
    bumped = {**released, **providers}
    for rp_id, seen in sorted(bumped.values()):
        try:
            generations.bump(session, rp_id, seen)
        except ProviderConcurrentUpdate as exc:
            raise _Raced(str(exc)) from exc
    names = {name for w in writes for res in w.allocations.values() for name in res}
    ids = class_ids(session, names, what="allocations", strict=False)
    for write in writes:
        for resources in write.allocations.values():
            for name in sorted(set(resources) - set(ids)):
                raise BadRequest(f"Unable to allocate inventory for consumer "
                                 f"{write.consumer_uuid}: No such resource class {name}.")
    touched: list[int] = []
    rows: list[dict[str, object]] = []
    for write in writes:
        consumer_id = _claim_consumer(session, write)
        touched.append(consumer_id)
        session.execute(sa.delete(Allocation).where(Allocation.consumer_id == consumer_id))
        for rp_uuid, resources in write.allocations.items():
            rows += [
                {"resource_provider_id": providers[rp_uuid][0], "consumer_id": consumer_id,
                 "resource_class_id": ids[name], "used": amount}
                for name, amount in resources.items()
            ]
    if rows:
        session.execute(sa.insert(Allocation), rows)
    _check_capacity(session, writes, providers, ids)
    consumers.delete_if_unused(session, touched)


def _held_by(session: Session, consumer_uuids: list[uuid.UUID]
             ) -> dict[uuid.UUID, tuple[int, int]]:
    """(id, generation) of each provider the consumers have allocations on."""
    if not consumer_uuids:
        return {}
    rows = session.execute(
        sa.select(ResourceProvider.uuid, ResourceProvider.id, ResourceProvider.generation)
        .where(ResourceProvider.id.in_(
            sa.select(Allocation.resource_provider_id)
            .join(Consumer, Consumer.id == Allocation.consumer_id)
            .where(Consumer.uuid.in_(consumer_uuids))))
    )
    return {row.uuid: (row.id, row.generation) for row in rows}


def _providers(session: Session, wanted: set[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    if not wanted:
        return {}
    rows = session.execute(
        sa.select(ResourceProvider.uuid, ResourceProvider.id, ResourceProvider.generation)
        .where(ResourceProvider.uuid.in_(wanted))
    )
    found = {row.uuid: (row.id, row.generation) for row in rows}
    for rp_uuid in sorted(wanted - set(found), key=str):
        raise BadRequest(f"Allocation for resource provider '{rp_uuid}' that does not exist.")
    return found


def _claim_consumer(session: Session, write: ConsumerWrite) -> int:
    existing = consumers.find_consumer(session, write.consumer_uuid)
    if write.check_generation:
        actual = None if existing is None else existing.generation
        if actual != write.consumer_generation:
            raise ProviderConcurrentUpdate(
                # Upstream's wording: "expected" is the stored one, "got" the request's.
                f"consumer generation conflict - expected {_show(actual)} "
                f"but got {_show(write.consumer_generation)}"
            )
    if existing is None:
        return consumers.create_consumer(
            session, write.consumer_uuid, write.project_id, write.user_id, write.consumer_type
        )
    if not consumers.update_consumer(
        session, existing, write.project_id, write.user_id, write.consumer_type
    ):
        raise _Raced(f"consumer {write.consumer_uuid} changed")
    return existing.id


def _show(generation: int | None) -> str:
    return "null" if generation is None else str(generation)


def _check_capacity(
    session: Session, writes: list[ConsumerWrite],
    providers: dict[uuid.UUID, tuple[int, int]], ids: dict[str, int],
) -> None:
    """Every (provider, class) written stays within capacity and unit constraints."""
    asked: dict[tuple[int, int], list[int]] = {}
    for write in writes:
        for rp_uuid, resources in write.allocations.items():
            for name, amount in resources.items():
                asked.setdefault((providers[rp_uuid][0], ids[name]), []).append(amount)
    if not asked:
        return
    room = _room(session, {rp for rp, _ in asked})
    by_id = {rp_id: rp_uuid for rp_uuid, (rp_id, _) in providers.items()}
    names = {cid: name for name, cid in ids.items()}
    for key, amounts in asked.items():
        inv = room.get(key)
        rp_uuid, name = by_id[key[0]], names[key[1]]
        if inv is None:
            raise Conflict(
                f"Unable to allocate inventory: Inventory for '{name}' on resource provider "
                f"'{rp_uuid}' invalid."
            )
        _check_units(inv, amounts, name, rp_uuid)
        if inv["used"] > capacity(int(inv["total"]), int(inv["reserved"]),
                                  inv["allocation_ratio"]):
            raise Conflict(
                f"Unable to allocate inventory: Unable to create allocation for '{name}' on "
                f"resource provider '{rp_uuid}'. The requested amount would exceed the capacity."
            )


def _check_units(inv: dict[str, float], amounts: list[int], name: str, rp: uuid.UUID) -> None:
    for amount in amounts:
        if amount < inv["min_unit"] or amount > inv["max_unit"] or amount % inv["step_size"]:
            raise Conflict(
                f"Unable to allocate inventory: Unable to create allocation for '{name}' on "
                f"resource provider '{rp}'. The requested amount would violate inventory "
                f"constraints (min_unit {inv['min_unit']}, max_unit {inv['max_unit']}, "
                f"step_size {inv['step_size']})."
            )


def _room(session: Session, provider_ids: set[int]) -> dict[tuple[int, int], dict[str, float]]:
    """Inventory terms and current usage (this attempt's rows included)."""
    used = (
        sa.select(sa.func.coalesce(sa.func.sum(Allocation.used), 0))
        .where(
            Allocation.resource_provider_id == Inventory.resource_provider_id,
            Allocation.resource_class_id == Inventory.resource_class_id,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(
            Inventory.resource_provider_id, Inventory.resource_class_id, Inventory.total,
            Inventory.reserved, Inventory.allocation_ratio, Inventory.min_unit,
            Inventory.max_unit, Inventory.step_size, used.label("used"),
        ).where(Inventory.resource_provider_id.in_(provider_ids))
    )
    return {
        (row.resource_provider_id, row.resource_class_id): {
            "total": row.total, "reserved": row.reserved,
            "allocation_ratio": row.allocation_ratio, "min_unit": row.min_unit,
            "max_unit": row.max_unit, "step_size": row.step_size, "used": int(row.used),
        }
        for row in rows
    }
