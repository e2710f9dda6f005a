"""JSON Schema checks for request bodies, with messages shaped like upstream's.

The schemas state the bounds upstream's API schemas state (names 1-255 characters,
integers within the database's 32-bit columns, ...), so a value out of range is a
400 before it reaches the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from common.errors import BadRequest

# The integer columns (quotas, flavors, image minimums) are 32-bit, as upstream's.
MAX_INT = 2**31 - 1
# A value shown back in a message is cut here: a refused body may be large.
_SHOWN = 100


def name(max_length: int = 255) -> dict[str, Any]:
    """A display name: 1 to ``max_length`` characters."""
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def integer(minimum: int = 0, maximum: int = MAX_INT) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def _validator(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def first_error(schema: Mapping[str, Any], data: Any) -> ValidationError | None:
    """The most relevant way ``data`` breaks ``schema``, or None."""
    error: ValidationError | None = best_match(_validator(schema).iter_errors(data))
    return error


def shorten(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def message_of(error: ValidationError) -> str:
    """jsonschema's message with the refused value cut short (it may be long)."""
    shown = repr(error.instance)
    text = error.message
    if len(shown) > _SHOWN:
        text = text.replace(shown, shorten(shown))
    # What the message quotes of the schema (an enum, a pattern) is ours and short.
    return text if len(text) <= 10 * _SHOWN else text[:10 * _SHOWN] + "..."


def describe(error: ValidationError) -> str:
    """The message in the Compute API's words: which field, its value, what is wrong."""
    message = message_of(error)
    if error.validator == "additionalProperties":
        return message
    path = [str(p) for p in error.path]
    field = shorten(path[-1]) if path else "body"
    return (f"Invalid input for field/attribute {field}. "
            f"Value: {shorten(str(error.instance))}. {message}")


def check(schema: Mapping[str, Any], data: Any) -> None:
    """Raise BadRequest, worded as the Compute API words it, if ``data`` breaks ``schema``."""
    error = first_error(schema, data)
    if error is not None:
        raise BadRequest(describe(error))
