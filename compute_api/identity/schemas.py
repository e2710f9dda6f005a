"""Bounds of the identity bodies, as Keystone's schemas state them."""

from __future__ import annotations

from typing import Any

from common import validation
from common.errors import BadRequest

_OPTIONAL_TEXT: dict[str, Any] = {"type": ["string", "null"]}
_ID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 64}

PROJECT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": validation.name(64), "description": _OPTIONAL_TEXT, "domain_id": _ID,
        "enabled": {"type": "boolean"}, "is_domain": {"type": "boolean"},
    },
    "required": ["name"],
}

USER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": validation.name(255), "description": _OPTIONAL_TEXT, "domain_id": _ID,
        "default_project_id": {"type": ["string", "null"], "maxLength": 64},
        "email": {"type": ["string", "null"], "maxLength": 255},
        # Keystone's default max_password_length.
        "password": {"type": ["string", "null"], "maxLength": 4096},
        "enabled": {"type": "boolean"},
    },
    "required": ["name"],
}

# A PATCH names only what changes.
USER_UPDATE: dict[str, Any] = {**USER, "required": []}

PASSWORD_CHANGE: dict[str, Any] = {
    "type": "object",
    "properties": {"original_password": {"type": "string", "maxLength": 4096},
                   "password": {"type": "string", "minLength": 1, "maxLength": 4096}},
    "required": ["original_password", "password"],
}

_REF: dict[str, Any] = {"type": "string", "maxLength": 255}
_DOMAIN: dict[str, Any] = {"type": "object", "properties": {"id": _REF, "name": _REF}}
# Types only: what is missing gets the handler's own message.
AUTH: dict[str, Any] = {
    "type": "object",
    "properties": {"auth": {"type": "object", "properties": {
        "identity": {"type": "object", "properties": {
            "methods": {"type": "array", "items": {"type": "string"}},
            "password": {"type": "object", "properties": {"user": {
                "type": "object", "properties": {
                    "id": _REF, "name": _REF, "domain": _DOMAIN,
                    "password": {"type": "string", "maxLength": 4096}}}}},
            "token": {"type": "object", "properties": {"id": {"type": "string"}}},
        }},
        # Unscoped tokens are not issued here: a scope is an object.
        "scope": {"type": "object", "properties": {
            "project": {"type": "object", "properties": {
                "id": _REF, "name": _REF, "domain": _DOMAIN}},
            "domain": _DOMAIN}},
    }}},
}

SCHEMAS = {"project": PROJECT, "user": USER, "auth": AUTH, "user_update": USER_UPDATE,
           "password_change": PASSWORD_CHANGE}


def check(kind: str, spec: Any, name: str | None = None) -> None:
    """Raise BadRequest in Keystone's words if ``spec`` (the body's ``name``, default
    ``kind``) breaks the schema of ``kind``."""
    error = validation.first_error(SCHEMAS[kind], spec)
    if error is not None:
        field = "/".join(str(p) for p in error.path) or name or kind
        raise BadRequest(f"Invalid input for field '{validation.shorten(field)}': "
                         f"{validation.message_of(error)}")
