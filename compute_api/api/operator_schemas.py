"""Request bodies of the operator APIs (os-services, os-aggregates, os-hosts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from common.errors import BadRequest
from compute_api.api.errors import describe_validation
from compute_api.api.schemas import Name, Strict


def parse_flat(model: type[Strict], data: Any) -> Any:
    """Validate a body that is the object itself (os-services before 2.53)."""
    if not isinstance(data, dict):
        raise BadRequest("The request body is empty or malformed.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(describe_validation(exc.errors())) from None


class ServiceHost(Strict):
    host: Name
    binary: Name


class ServiceDisableReason(ServiceHost):
    disabled_reason: str = Field(min_length=1, max_length=255)


class ServiceForceDown(ServiceHost):
    forced_down: bool


class ServiceUpdate(Strict):
    """PUT /os-services/{service_id} (2.53)."""

    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: str | None = Field(default=None, min_length=1, max_length=255)
    forced_down: bool | None = None


class AggregateCreate(Strict):
    name: Name
    availability_zone: Name | None = None


class AggregateUpdate(Strict):
    name: Name | None = None
    availability_zone: Name | None = None


class AggregateHostBody(Strict):
    host: Name


class AggregateMetadataBody(Strict):
    metadata: dict[str, Name | None] = Field(min_length=1)


class HostUpdate(Strict):
    status: Literal["enable", "disable"] | None = None
    maintenance_mode: Literal["enable", "disable"] | None = None
