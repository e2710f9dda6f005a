"""The image body's bounds, as Glance's image schema states them."""

from __future__ import annotations

from typing import Any

from common import validation
from common.errors import BadRequest

_UUID = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

IMAGE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": _UUID},
        "name": {"type": ["null", "string"], "maxLength": 255},
        "min_ram": validation.integer(),
        "min_disk": validation.integer(),
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
    },
}


def check_image(body: Any) -> None:
    """Raise BadRequest in Glance's words if ``body`` breaks the image schema."""
    if not isinstance(body, dict):
        raise BadRequest("Image body must be a JSON object")
    error = validation.first_error(IMAGE, body)
    if error is not None:
        raise BadRequest("Provided object does not match schema 'image': "
                         f"{validation.message_of(error)}")
