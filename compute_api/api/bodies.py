"""The request bodies the compute API's OpenAPI document shows (handlers read them as
JSON and check them with these models and schemas)."""

from __future__ import annotations

from typing import Any

from common.openapi import model_schema, wrapped
from compute_api.api.keypairs import keypair_schema
from compute_api.api.microversion import MAX_VERSION
from compute_api.api.schemas import FlavorCreate, ServerCreate, ServerUpdate
from compute_api.quotas import QUOTA_VALUE, RESOURCES

COMPONENTS: dict[str, Any] = {}

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v2.1/servers"): wrapped("server", model_schema(ServerCreate, COMPONENTS)),
    ("PUT", "/v2.1/servers/{server_id}"): wrapped(
        "server", model_schema(ServerUpdate, COMPONENTS)),
    ("POST", "/v2.1/flavors"): wrapped("flavor", model_schema(FlavorCreate, COMPONENTS)),
    ("PUT", "/v2.1/os-quota-sets/{project_id}"): wrapped("quota_set", {
        "type": "object", "properties": {r: QUOTA_VALUE for r in RESOURCES},
        "additionalProperties": False}),
    ("POST", "/v2.1/os-keypairs"): keypair_schema(MAX_VERSION),
    ("POST", "/v2.1/servers/{server_id}/metadata"): wrapped("metadata", {
        "type": "object", "additionalProperties": {"type": "string", "maxLength": 255}}),
}
