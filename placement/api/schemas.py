"""Request bodies, one model per microversion range; unknown fields are refused."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from placement.inventories import MAX_INT, InventorySpec


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


ClassName = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_]+$", max_length=255)]
CustomName = Annotated[str, StringConstraints(pattern=r"^CUSTOM_[A-Z0-9_]+$", max_length=255)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
ConsumerTypeName = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_]+$", max_length=255)]
# Generations count writes; past 2**63 - 1 the database could not even compare one.
Generation = Annotated[int, Field(ge=0, le=2**63 - 1)]
Amount = Annotated[int, Field(ge=1, le=MAX_INT)]


class ProviderCreate(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    uuid: UUID | None = None


class ProviderCreate114(ProviderCreate):
    parent_provider_uuid: UUID | None = None


class ProviderUpdate(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ProviderUpdate114(ProviderUpdate):
    parent_provider_uuid: UUID | None = None


class InventoryFields(_Body):
    total: Annotated[int, Field(ge=1, le=MAX_INT)]
    reserved: Annotated[int, Field(ge=0, le=MAX_INT)] = 0
    min_unit: Annotated[int, Field(ge=1, le=MAX_INT)] = 1
    max_unit: Annotated[int, Field(ge=1, le=MAX_INT)] = MAX_INT
    step_size: Annotated[int, Field(ge=1, le=MAX_INT)] = 1
    allocation_ratio: Annotated[float, Field(ge=0, le=3.40282e38)] = 1.0

    def spec(self) -> InventorySpec:
        return InventorySpec(
            total=self.total, reserved=self.reserved, min_unit=self.min_unit,
            max_unit=self.max_unit, step_size=self.step_size,
            allocation_ratio=self.allocation_ratio,
        )


class InventoriesPut(_Body):
    resource_provider_generation: Generation
    inventories: dict[ClassName, InventoryFields]


class InventoryPut(InventoryFields):
    resource_provider_generation: Generation


class InventoryPost(InventoryFields):
    resource_class: ClassName
    resource_provider_generation: Generation | None = None


class ProviderTraitsPut(_Body):
    traits: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]]
    resource_provider_generation: Generation


class AggregatesPut(_Body):
    aggregates: list[UUID]
    resource_provider_generation: Generation


class ResourceClassCreate(_Body):
    name: CustomName


class ResourceClassRename(_Body):
    name: CustomName


class ProviderResources(_Body):
    resources: Annotated[dict[ClassName, Amount], Field(min_length=1)]
    # Accepted (GET output may be sent back as-is) but ignored.
    generation: int | None = None


class AllocationsPut112(_Body):
    allocations: Annotated[dict[UUID, ProviderResources], Field(min_length=1)]
    project_id: ExternalId
    user_id: ExternalId


# Request group suffix -> the providers that satisfied it (1.34); accepted, not kept.
Mappings = dict[str, list[UUID]]


class AllocationsPut128(_Body):
    allocations: dict[UUID, ProviderResources]
    project_id: ExternalId
    user_id: ExternalId
    consumer_generation: Generation | None
    mappings: Mappings | None = None


class AllocationsPut138(AllocationsPut128):
    consumer_type: ConsumerTypeName


class ProviderRef(_Body):
    uuid: UUID


class ListAllocation(_Body):
    resource_provider: ProviderRef
    resources: Annotated[dict[ClassName, Amount], Field(min_length=1)]


class AllocationsPut10(_Body):
    allocations: Annotated[list[ListAllocation], Field(min_length=1)]


class AllocationsPut18(AllocationsPut10):
    project_id: ExternalId
    user_id: ExternalId


class ConsumerPost113(_Body):
    allocations: dict[UUID, ProviderResources]
    project_id: ExternalId
    user_id: ExternalId


class ConsumerPost128(ConsumerPost113):
    consumer_generation: Generation | None
    mappings: Mappings | None = None


class ConsumerPost138(ConsumerPost128):
    consumer_type: ConsumerTypeName


class ReshapeInventories(_Body):
    inventories: dict[ClassName, InventoryFields]
    resource_provider_generation: Generation


class Reshape130(_Body):
    inventories: dict[UUID, ReshapeInventories]
    allocations: dict[UUID, ConsumerPost128]


class Reshape138(_Body):
    inventories: dict[UUID, ReshapeInventories]
    allocations: dict[UUID, ConsumerPost138]
