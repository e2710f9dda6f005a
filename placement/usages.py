"""Usages: what providers, projects and users have allocated."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from placement.db.models import (
    Allocation,
    Consumer,
    ConsumerType,
    Inventory,
    Project,
    ResourceClass,
    User,
)
from placement.providers import Provider

# Consumers written before microversion 1.38 have no type; /usages calls them this.
UNKNOWN_TYPE = "unknown"
ALL_TYPES = "all"


def provider_usages(session: Session, provider: Provider) -> dict[str, int]:
    """Used amount of every class the provider has inventory of (0 when unused)."""
    used = (
        sa.select(sa.func.coalesce(sa.func.sum(Allocation.used), 0))
        .where(
            Allocation.resource_provider_id == provider.id,
            Allocation.resource_class_id == Inventory.resource_class_id,
        )
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(ResourceClass.name, used)
        .join(Inventory, Inventory.resource_class_id == ResourceClass.id)
        .where(Inventory.resource_provider_id == provider.id)
    ).all()
    usages = {name: int(amount) for name, amount in rows}
    # Allocations may outlive an inventory only transiently, but never hide them.
    extra = session.execute(
        sa.select(ResourceClass.name, sa.func.sum(Allocation.used))
        .join(Allocation, Allocation.resource_class_id == ResourceClass.id)
        .where(Allocation.resource_provider_id == provider.id)
        .group_by(ResourceClass.name)
    ).all()
    for name, amount in extra:
        usages.setdefault(name, int(amount))
    return usages


def project_usages(
    session: Session, project_id: str, user_id: str | None, consumer_type: str | None = None
) -> dict[str, int]:
    """Amounts allocated by a project (and user), optionally of one consumer type."""
    stmt = _project_select(project_id, user_id).add_columns(
        ResourceClass.name, sa.func.sum(Allocation.used)
    ).group_by(ResourceClass.name)
    if consumer_type is not None:
        stmt = _filter_type(stmt, consumer_type)
    return {name: int(amount) for name, amount in session.execute(stmt).all()}


def project_usages_by_type(
    session: Session, project_id: str, user_id: str | None, consumer_type: str | None = None
) -> dict[str, dict[str, int]]:
    """Microversion 1.38: usages and consumer counts per consumer type.

    ``consumer_type`` narrows to one type; ``all`` lumps every type together and
    ``unknown`` means consumers written without a type.
    """
    counts = _consumer_counts(session, project_id, user_id)
    if consumer_type == ALL_TYPES:
        merged: dict[str, int] = dict(project_usages(session, project_id, user_id))
        if not merged:
            return {}
        return {ALL_TYPES: merged | {"consumer_count": sum(counts.values())}}
    type_name = sa.func.coalesce(ConsumerType.name, UNKNOWN_TYPE)
    stmt = _project_select(project_id, user_id).add_columns(
        type_name, ResourceClass.name, sa.func.sum(Allocation.used)
    ).group_by(type_name, ResourceClass.name)
    if consumer_type is not None:
        stmt = _filter_type(stmt, consumer_type)
    result: dict[str, dict[str, int]] = defaultdict(dict)
    for ctype, name, amount in session.execute(stmt).all():
        result[ctype][name] = int(amount)
        result[ctype]["consumer_count"] = counts.get(ctype, 0)
    return dict(result)


def _consumer_counts(session: Session, project_id: str, user_id: str | None) -> dict[str, int]:
    type_name = sa.func.coalesce(ConsumerType.name, UNKNOWN_TYPE)
    stmt = (
        sa.select(type_name, sa.func.count(sa.distinct(Consumer.id)))
        .select_from(Consumer)
        .join(Project, Project.id == Consumer.project_id)
        .join(User, User.id == Consumer.user_id)
        .outerjoin(ConsumerType, ConsumerType.id == Consumer.consumer_type_id)
        .where(Project.external_id == project_id)
        .group_by(type_name)
    )
    if user_id is not None:
        stmt = stmt.where(User.external_id == user_id)
    return {name: int(count) for name, count in session.execute(stmt).all()}


def _project_select(project_id: str, user_id: str | None) -> sa.Select[tuple[()]]:
    stmt = (
        sa.select()
        .select_from(Allocation)
        .join(Consumer, Consumer.id == Allocation.consumer_id)
        .join(Project, Project.id == Consumer.project_id)
        .join(User, User.id == Consumer.user_id)
        .join(ResourceClass, ResourceClass.id == Allocation.resource_class_id)
        .outerjoin(ConsumerType, ConsumerType.id == Consumer.consumer_type_id)
        .where(Project.external_id == project_id)
    )
    if user_id is not None:
        stmt = stmt.where(User.external_id == user_id)
    return stmt


def _filter_type(stmt: sa.Select[Any], consumer_type: str) -> sa.Select[Any]:
    if consumer_type == ALL_TYPES:
        return stmt
    if consumer_type == UNKNOWN_TYPE:
        return stmt.where(ConsumerType.id.is_(None))
    return stmt.where(ConsumerType.name == consumer_type)
