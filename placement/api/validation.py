"""JSON Schema checks of bodies and query strings, with upstream's wording."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

from common.errors import BadRequest

FORMATS = jsonschema.FormatChecker()
# Validators by schema identity (the schema is kept too, so its id stays its own); the
# schemas are module constants, built once.
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}


@FORMATS.checks("uuid")
def _uuid_like(instance: object) -> bool:
    """Any spelling ``uuid.UUID`` reads, hyphens optional (as oslo's is_uuid_like)."""
    if not isinstance(instance, str):
        return True
    try:
        parsed = uuid.UUID(instance)
    except ValueError:
        return False
    bare = instance.lower().removeprefix("urn:").removeprefix("uuid:").strip("{}")
    return parsed.hex == bare.replace("-", "")


def _validator(schema: Mapping[str, Any]) -> Any:
    found = _VALIDATORS.get(id(schema))
    if found is None:
        cls = jsonschema.validators.validator_for(schema)
        found = _VALIDATORS[id(schema)] = (schema, cls(schema, format_checker=FORMATS))
    return found[1]


def first_error(data: Any, schema: Mapping[str, Any]) -> str | None:
    """What is wrong with ``data`` (the most relevant error, as jsonschema ranks them)."""
    error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(data))
    return None if error is None else str(error)


def check_body(data: Any, schema: Mapping[str, Any]) -> None:
    """Raises BadRequest unless ``data`` matches ``schema``."""
    error = first_error(data, schema)
    if error is not None:
        raise BadRequest(f"JSON does not validate: {error}")


def check_query(params: Mapping[str, str], schema: Mapping[str, Any]) -> None:
    """Raises BadRequest unless the query parameters match ``schema``."""
    error = first_error(dict(params), schema)
    if error is not None:
        raise BadRequest(f"Invalid query string parameters: {error}")
