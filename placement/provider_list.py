"""GET /resource_providers: listing with filters and (our extension) paging."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.errors import BadRequest
from placement import filters
from placement.capacity import fits
from placement.db.models import Inventory, ResourceProvider
from placement.providers import RP, Provider, find_provider, provider_select, to_provider
from placement.resource_classes import class_ids


@dataclass(frozen=True)
class ProviderFilter:
    name: str | None = None
    uuid: UUID | None = None
    in_tree: UUID | None = None
    resources: dict[str, int] = field(default_factory=dict)
    required: list[frozenset[str]] = field(default_factory=list)
    forbidden: frozenset[str] = frozenset()
    member_of: list[frozenset[UUID]] = field(default_factory=list)
    forbidden_aggs: frozenset[UUID] = frozenset()
    limit: int | None = None
    marker: UUID | None = None


def list_providers(session: Session, flt: ProviderFilter) -> list[Provider]:
    """Providers matching every filter, in creation order.

    Raises BadRequest for unknown resource classes or traits.
    """
    stmt = provider_select()
    rp = RP
    conds: list[sa.ColumnElement[bool]] = []
    if flt.name is not None:
        conds.append(rp.name == flt.name)
    if flt.uuid is not None:
        conds.append(rp.uuid == flt.uuid)
    if flt.in_tree is not None:
        conds.append(rp.root_provider_id == _root_of(flt.in_tree))
    conds += _resource_conditions(session, rp.id, flt.resources)
    names = set().union(*flt.required) | set(flt.forbidden)
    conds += filters.trait_conditions(
        rp.id, flt.required, flt.forbidden, filters.trait_ids(session, names)
    )
    aggs = filters.aggregate_ids(session, set().union(*flt.member_of) | set(flt.forbidden_aggs))
    conds += filters.aggregate_conditions([rp.id], flt.member_of, flt.forbidden_aggs, aggs)
    if flt.marker is not None:
        if find_provider(session, flt.marker) is None:
            raise BadRequest(f"Invalid query string parameters: marker {flt.marker} not found")
        conds.append(rp.id > _id_of(flt.marker))
    stmt = stmt.where(*conds).order_by(rp.id)
    if flt.limit is not None:
        stmt = stmt.limit(flt.limit)
    return [to_provider(row) for row in session.execute(stmt)]


def _root_of(rp_uuid: UUID) -> sa.ScalarSelect[int | None]:
    return (
        sa.select(ResourceProvider.root_provider_id)
        .where(ResourceProvider.uuid == rp_uuid)
        .scalar_subquery()
    )


def _id_of(rp_uuid: UUID) -> sa.ScalarSelect[int]:
    return sa.select(ResourceProvider.id).where(ResourceProvider.uuid == rp_uuid).scalar_subquery()


def _resource_conditions(
    session: Session, rp_id: filters.Column, resources: dict[str, int]
) -> list[sa.ColumnElement[bool]]:
    ids = class_ids(session, resources)
    conds: list[sa.ColumnElement[bool]] = []
    for name, amount in resources.items():
        able = sa.select(Inventory.resource_provider_id).where(
            Inventory.resource_class_id == ids[name], fits(amount)
        )
        conds.append(rp_id.in_(able))
    return conds
