"""The image body's bounds, as Glance's image schema states them."""

from __future__ import annotations

from typing import Any

from common import validation
from common.errors import BadRequest

_UUID = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop", None]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed", None]

CORE = {"id", "name", "status", "visibility", "protected", "checksum", "os_hash_algo",
        "os_hash_value", "size", "virtual_size", "disk_format", "container_format",
        "min_disk", "min_ram", "owner", "created_at", "updated_at", "tags", "self", "file",
        "schema", "os_hidden", "locations", "direct_url"}
WRITABLE = {"name", "visibility", "protected", "disk_format", "container_format",
            "min_disk", "min_ram", "tags", "id", "os_hidden"}

IMAGE: dict[str, Any] = {
    "type": "object",
    "properties": {
        # Read-only ones are refused by the handler (403), not here.
        **{name: {} for name in sorted(CORE)},
        "disk_format": {"enum": DISK_FORMATS},
        "container_format": {"enum": CONTAINER_FORMATS},
        "visibility": {"enum": ["public", "private", "shared", "community"]},
        "id": {"type": "string", "pattern": _UUID},
        "name": {"type": ["null", "string"], "maxLength": 255},
        "min_ram": validation.integer(),
        "min_disk": validation.integer(),
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
    },
    # Any other property is the image's own: a string.
    "additionalProperties": {"type": "string"},
}


def check_image(body: Any) -> None:
    """Raise BadRequest in Glance's words if ``body`` breaks the image schema."""
    if not isinstance(body, dict):
        raise BadRequest("Image body must be a JSON object")
    error = validation.first_error(IMAGE, body)
    if error is not None:
        raise BadRequest("Provided object does not match schema 'image': "
                         f"{validation.message_of(error)}")
    if any(len(key) > 255 for key in body):
        raise BadRequest("Provided object does not match schema 'image': property names "
                         "are at most 255 characters")
