"""The placement database: providers, their inventories and the allocations against them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.db import NAMING_CONVENTION, UUIDStr, utcnow

# Custom resource classes get ids from here up, so standard ones (whose id is their
# index in os_resource_classes.STANDARDS) can be added by later releases.
CUSTOM_RESOURCE_CLASS_MIN_ID = 10000


class PlacementBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=None, onupdate=utcnow)


class ResourceProvider(_Timestamps, PlacementBase):
    __tablename__ = "resource_providers"
    __table_args__ = (
        Index("ix_resource_providers_root_provider_id", "root_provider_id"),
        Index("ix_resource_providers_parent_provider_id", "parent_provider_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(UUIDStr(), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # Always set once the row is flushed; a root provider points at itself.
    root_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id")
    )
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id")
    )


class ResourceClass(_Timestamps, PlacementBase):
    __tablename__ = "resource_classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Inventory(_Timestamps, PlacementBase):
    __tablename__ = "inventories"
    __table_args__ = (
        UniqueConstraint("resource_provider_id", "resource_class_id"),
        Index("ix_inventories_resource_class_id", "resource_class_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id")
    )
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("resource_classes.id"))
    total: Mapped[int] = mapped_column(BigInteger)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    min_unit: Mapped[int] = mapped_column(BigInteger, default=1)
    max_unit: Mapped[int] = mapped_column(BigInteger)
    step_size: Mapped[int] = mapped_column(BigInteger, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)


class Project(PlacementBase):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)


class User(PlacementBase):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)


class ConsumerType(_Timestamps, PlacementBase):
    __tablename__ = "consumer_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Consumer(_Timestamps, PlacementBase):
    __tablename__ = "consumers"
    __table_args__ = (
        Index("ix_consumers_project_id_user_id", "project_id", "user_id"),
        Index("ix_consumers_consumer_type_id", "consumer_type_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(UUIDStr(), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    consumer_type_id: Mapped[int | None] = mapped_column(ForeignKey("consumer_types.id"))


class Allocation(_Timestamps, PlacementBase):
    __tablename__ = "allocations"
    __table_args__ = (
        # Usage sums per provider and class, read on every claim and candidate query.
        Index(
            "ix_allocations_resource_provider_id_resource_class_id_used",
            "resource_provider_id", "resource_class_id", "used",
        ),
        Index("ix_allocations_consumer_id", "consumer_id"),
        Index("ix_allocations_resource_class_id", "resource_class_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"))
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("resource_classes.id"))
    used: Mapped[int] = mapped_column(BigInteger)


class Trait(_Timestamps, PlacementBase):
    __tablename__ = "traits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class ResourceProviderTrait(PlacementBase):
    __tablename__ = "resource_provider_traits"
    __table_args__ = (
        Index("ix_resource_provider_traits_resource_provider_id", "resource_provider_id"),
    )

    trait_id: Mapped[int] = mapped_column(ForeignKey("traits.id"), primary_key=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id"), primary_key=True
    )


class PlacementAggregate(PlacementBase):
    __tablename__ = "placement_aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(UUIDStr(), unique=True)


class ResourceProviderAggregate(PlacementBase):
    __tablename__ = "resource_provider_aggregates"
    __table_args__ = (
        Index("ix_resource_provider_aggregates_aggregate_id", "aggregate_id"),
    )

    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id"), primary_key=True
    )
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("placement_aggregates.id"), primary_key=True
    )
