"""Request bodies of the operator APIs (os-services, os-aggregates, os-hosts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError

from common.errors import BadRequest
from compute_api.api.errors import describe_validation
from compute_api.api.schemas import Strict, _no_edge_spaces


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL characters.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


# Names, hosts and zones: printable, no leading or trailing whitespace.
Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_no_edge_spaces)]
# Free text (reasons, metadata values).
Text = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_no_nul)]


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
    disabled_reason: Text


class ServiceForceDown(ServiceHost):
    forced_down: bool


class ServiceUpdate(Strict):
    """PUT /os-services/{service_id} (2.53)."""

    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: Text | None = None
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
    metadata: dict[Name, Text | None] = Field(min_length=1)


