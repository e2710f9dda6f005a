"""JSON Schemas of request bodies, per microversion, as the Placement API defines them.

Bodies are checked against these before they are parsed into the models of
``schemas.py``: a refusal then reads as upstream's does ("JSON does not validate: 'x'
is not of type 'integer'..."), which clients and upstream's tests match on.
"""

from __future__ import annotations

import functools
from typing import Any

from placement.inventories import MAX_INT

Schema = dict[str, Any]

UUID_KEY = "^[0-9a-fA-F-]{36}$"
CLASS_NAME = "^[A-Z0-9_]+$"
CUSTOM_NAME = "^CUSTOM_[A-Z0-9_]+$"
# Suffix of a request group (1.33), the keys of ``mappings``.
GROUP_SUFFIX = "^[a-zA-Z0-9_-]{1,64}$"
FLOAT_MAX = 3.40282e38


def _obj(properties: Schema, required: tuple[str, ...] = (), **more: Any) -> Schema:
    """A closed object: properties not listed are refused."""
    schema: Schema = {"type": "object", "properties": properties,
                      "additionalProperties": False, **more}
    if required:
        schema["required"] = list(required)
    return schema


def _keyed(pattern: str, value: Schema, **more: Any) -> Schema:
    """An object whose keys match ``pattern``, each holding a ``value``."""
    return {"type": "object", "patternProperties": {pattern: value},
            "additionalProperties": False, **more}


def _with(schema: Schema, required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    """A copy of an object schema with more properties (and required names)."""
    return {**schema, "properties": {**schema["properties"], **properties},
            "required": [*schema.get("required", ()), *required]}


UUID: Schema = {"type": "string", "format": "uuid"}
GENERATION: Schema = {"type": "integer"}
EXTERNAL_ID: Schema = {"type": "string", "minLength": 1, "maxLength": 255}


def _count(minimum: int) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": MAX_INT}


# --- resource providers ------------------------------------------------------------------

PROVIDER_NAME: Schema = {"type": "string", "maxLength": 200}
PARENT: Schema = {"anyOf": [UUID, {"type": "null"}]}
PROVIDER_POST = _obj({"name": PROVIDER_NAME, "uuid": UUID}, ("name",))
PROVIDER_POST_1_14 = _with(PROVIDER_POST, parent_provider_uuid=PARENT)
PROVIDER_PUT = _obj({"name": PROVIDER_NAME}, ("name",))
PROVIDER_PUT_1_14 = _with(PROVIDER_PUT, parent_provider_uuid=PARENT)

# --- inventories -------------------------------------------------------------------------

_INVENTORY_FIELDS: Schema = {
    "resource_provider_generation": GENERATION,
    "total": _count(1), "reserved": _count(0), "min_unit": _count(1),
    "max_unit": _count(1), "step_size": _count(1),
    "allocation_ratio": {"type": "number", "maximum": FLOAT_MAX},
}
INVENTORY_PUT = _obj(_INVENTORY_FIELDS, ("total", "resource_provider_generation"))
INVENTORY_POST = _obj({**_INVENTORY_FIELDS,
                       "resource_class": {"type": "string", "pattern": CLASS_NAME}},
                      ("total", "resource_class"))
_INVENTORY_RECORD = _obj(_INVENTORY_FIELDS, ("total",))
INVENTORIES_PUT = _obj({"resource_provider_generation": GENERATION,
                        "inventories": {"type": "object",
                                        "patternProperties": {CLASS_NAME: _INVENTORY_RECORD}}},
                       ("resource_provider_generation", "inventories"))

# --- traits, aggregates, resource classes -------------------------------------------------

TRAIT: Schema = {"type": "string", "minLength": 1, "maxLength": 255}
PROVIDER_TRAITS_PUT = _obj({"traits": {"type": "array", "items": TRAIT},
                            "resource_provider_generation": GENERATION},
                           ("traits", "resource_provider_generation"))
AGGREGATE_LIST: Schema = {"type": "array", "items": UUID, "uniqueItems": True}
AGGREGATES_PUT_1_19 = _obj({"aggregates": AGGREGATE_LIST,
                            "resource_provider_generation": GENERATION},
                           ("aggregates", "resource_provider_generation"))
RESOURCE_CLASS = _obj({"name": {"type": "string", "pattern": CUSTOM_NAME, "maxLength": 255}},
                      ("name",))

# --- allocations -------------------------------------------------------------------------

_RESOURCES = _keyed(CLASS_NAME, {"type": "integer", "minimum": 1}, minProperties=1)
ALLOCATIONS_PUT_1_0 = _obj({"allocations": {
    "type": "array", "minItems": 1,
    "items": _obj({"resource_provider": _obj({"uuid": UUID}, ("uuid",)),
                   "resources": _RESOURCES}, ("resource_provider", "resources")),
}}, ("allocations",))
ALLOCATIONS_PUT_1_8 = _with(ALLOCATIONS_PUT_1_0, ("project_id", "user_id"),
                            project_id=EXTERNAL_ID, user_id=EXTERNAL_ID)
_BY_PROVIDER = _obj({"generation": GENERATION, "resources": _RESOURCES}, ("resources",))


def _consumer(min_providers: int) -> Schema:
    return _obj({"allocations": _keyed(UUID_KEY, _BY_PROVIDER, minProperties=min_providers),
                 "project_id": EXTERNAL_ID, "user_id": EXTERNAL_ID},
                ("allocations", "project_id", "user_id"))


CONSUMER_GENERATION: Schema = {"type": ["integer", "null"]}
MAPPINGS: Schema = {"type": "object", "minProperties": 1, "patternProperties": {
    GROUP_SUFFIX: {"type": "array", "minItems": 1, "items": UUID}}}
CONSUMER_TYPE: Schema = {"type": "string", "pattern": CLASS_NAME, "minLength": 1,
                         "maxLength": 255}

ALLOCATIONS_PUT_1_12 = _consumer(1)
CONSUMER_1_13 = _consumer(0)
CONSUMER_1_28 = _with(CONSUMER_1_13, ("consumer_generation",),
                      consumer_generation=CONSUMER_GENERATION)
CONSUMER_1_34 = _with(CONSUMER_1_28, mappings=MAPPINGS)
CONSUMER_1_38 = _with(CONSUMER_1_34, ("consumer_type",), consumer_type=CONSUMER_TYPE)


def allocations_post(consumer: Schema, min_consumers: int = 1) -> Schema:
    """``POST /allocations`` (and the reshaper's allocations): consumers by uuid."""
    return {"type": "object", "minProperties": min_consumers, "additionalProperties": False,
            "patternProperties": {UUID_KEY: consumer}}


def reshape(consumer: Schema) -> Schema:
    """``POST /reshaper`` with consumers written as ``consumer`` says."""
    return _obj({
        "inventories": _keyed(UUID_KEY, INVENTORIES_PUT, minProperties=1),
        "allocations": allocations_post(consumer, 0),
    }, ("inventories", "allocations"))


ALLOCATIONS_POST_1_13 = allocations_post(CONSUMER_1_13)
ALLOCATIONS_POST_1_28 = allocations_post(CONSUMER_1_28)
ALLOCATIONS_POST_1_34 = allocations_post(CONSUMER_1_34)
ALLOCATIONS_POST_1_38 = allocations_post(CONSUMER_1_38)
RESHAPE_1_30 = reshape(CONSUMER_1_28)
RESHAPE_1_34 = reshape(CONSUMER_1_34)
RESHAPE_1_38 = reshape(CONSUMER_1_38)


# --- query strings -----------------------------------------------------------------------

STRING: Schema = {"type": "string"}
LIMIT: Schema = {"type": ["integer", "string"], "pattern": "^[1-9][0-9]*$", "minimum": 1,
                 "minLength": 1}


@functools.cache
def candidates_query(version: tuple[int, int]) -> Schema:
    """``GET /allocation_candidates``'s parameters at ``version`` (each given once)."""
    properties: Schema = {"resources": STRING}
    if version >= (1, 16):
        properties["limit"] = LIMIT
    if version >= (1, 17):
        properties["required"] = STRING
    if version >= (1, 21):
        properties["member_of"] = STRING
    if version < (1, 25):
        return _obj(properties, ("resources",))
    suffix = "[a-zA-Z0-9_-]{1,64}" if version >= (1, 33) else "[1-9][0-9]*"
    grouped = ["resources", "required", "member_of"] + (["in_tree"] if version >= (1, 31)
                                                        else [])
    properties = {"limit": LIMIT, "group_policy": {"type": "string",
                                                   "enum": ["none", "isolate"]}}
    if version >= (1, 35):
        properties["root_required"] = STRING
    if version >= (1, 36):
        properties["same_subtree"] = STRING
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "patternProperties": {f"^{key}({suffix})?$": STRING for key in grouped}}


USAGES_QUERY_1_9 = _obj({"project_id": EXTERNAL_ID, "user_id": EXTERNAL_ID}, ("project_id",))
USAGES_QUERY_1_38 = _with(USAGES_QUERY_1_9, consumer_type={
    "type": "string", "pattern": f"{CLASS_NAME}|^all|^unknown$", "minLength": 1,
    "maxLength": 255})
