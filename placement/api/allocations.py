"""/allocations/{consumer_uuid}, POST /allocations, /resource_providers/{uuid}/allocations."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response

from common.routes import Route
from placement import allocations, claims, providers
from placement.api import jsonschemas, schemas
from placement.api.deps import BodyDep, JsonBody, SessionDep, VersionDep
from placement.consumers import INCOMPLETE_ID
from placement.microversion import Version
from placement.usages import UNKNOWN_TYPE

OWNER_REQUIRED_SINCE = Version(1, 8)
DICT_FORMAT_SINCE = Version(1, 12)
POST_SINCE = Version(1, 13)
CONSUMER_GENERATION_SINCE = Version(1, 28)
MAPPINGS_SINCE = Version(1, 34)
CONSUMER_TYPE_SINCE = Version(1, 38)
_POST_SCHEMAS = {
    POST_SINCE: jsonschemas.ALLOCATIONS_POST_1_13,
    CONSUMER_GENERATION_SINCE: jsonschemas.ALLOCATIONS_POST_1_28,
    MAPPINGS_SINCE: jsonschemas.ALLOCATIONS_POST_1_34,
    CONSUMER_TYPE_SINCE: jsonschemas.ALLOCATIONS_POST_1_38,
}


def show_allocations(
    consumer_uuid: uuid.UUID, session: SessionDep, version: VersionDep
) -> dict[str, Any]:
    found = allocations.consumer_allocations(session, consumer_uuid)
    view: dict[str, Any] = {
        "allocations": {
            str(rp): {"generation": generation, "resources": resources}
            for rp, (generation, resources) in found.providers.items()
        }
    }
    consumer = found.consumer
    if consumer is not None and version >= DICT_FORMAT_SINCE:
        view["project_id"] = consumer.project_id
        view["user_id"] = consumer.user_id
    if consumer is not None and version >= CONSUMER_GENERATION_SINCE:
        view["consumer_generation"] = consumer.generation
    if consumer is not None and version >= CONSUMER_TYPE_SINCE:
        # Written before 1.38 (no type given): "unknown", as usages count it.
        view["consumer_type"] = consumer.consumer_type or UNKNOWN_TYPE
    return view


def put_allocations(
    consumer_uuid: uuid.UUID, body: BodyDep, session: SessionDep, version: VersionDep
) -> Response:
    claims.write_allocations(session, [_write(consumer_uuid, body, version)])
    return Response(status_code=204)


def put_body(version: Version) -> jsonschemas.Schema:
    """The PUT body's schema at ``version`` (a list of providers before 1.12)."""
    if version < DICT_FORMAT_SINCE:
        if version >= OWNER_REQUIRED_SINCE:
            return jsonschemas.ALLOCATIONS_PUT_1_8
        return jsonschemas.ALLOCATIONS_PUT_1_0
    if version >= CONSUMER_TYPE_SINCE:
        return jsonschemas.CONSUMER_1_38
    if version >= MAPPINGS_SINCE:
        return jsonschemas.CONSUMER_1_34
    if version >= CONSUMER_GENERATION_SINCE:
        return jsonschemas.CONSUMER_1_28
    return jsonschemas.ALLOCATIONS_PUT_1_12


def post_body(version: Version) -> jsonschemas.Schema:
    """The POST body's schema at ``version`` (1.13 on)."""
    return _POST_SCHEMAS[max(v for v in _POST_SCHEMAS if v <= version)]


def _write(consumer_uuid: uuid.UUID, body: JsonBody, version: Version) -> claims.ConsumerWrite:
    if version < DICT_FORMAT_SINCE:
        return _from_list(consumer_uuid, body, version)
    data: DictBody
    if version >= CONSUMER_TYPE_SINCE:
        data = body.parse(schemas.AllocationsPut138, put_body(version))
    elif version >= CONSUMER_GENERATION_SINCE:
        data = body.parse(schemas.AllocationsPut128, put_body(version))
    else:
        data = body.parse(schemas.AllocationsPut112, put_body(version))
    return consumer_write(consumer_uuid, data, version)


def _from_list(consumer_uuid: uuid.UUID, body: JsonBody, version: Version) -> claims.ConsumerWrite:
    data: schemas.AllocationsPut10
    if version >= OWNER_REQUIRED_SINCE:
        data = body.parse(schemas.AllocationsPut18, put_body(version))
    else:
        data = body.parse(schemas.AllocationsPut10, put_body(version))
    wanted: dict[uuid.UUID, dict[str, int]] = {}
    for item in data.allocations:
        wanted.setdefault(item.resource_provider.uuid, {}).update(item.resources)
    return claims.ConsumerWrite(
        consumer_uuid, wanted,
        project_id=getattr(data, "project_id", INCOMPLETE_ID),
        user_id=getattr(data, "user_id", INCOMPLETE_ID),
    )


DictBody = schemas.AllocationsPut112 | schemas.AllocationsPut128 | schemas.ConsumerPost113


def consumer_write(
    consumer_uuid: uuid.UUID, data: DictBody, version: Version
) -> claims.ConsumerWrite:
    """One consumer's allocations from a dict-form body (1.12+)."""
    return claims.ConsumerWrite(
        consumer_uuid,
        {rp: dict(item.resources) for rp, item in data.allocations.items()},
        project_id=data.project_id,
        user_id=data.user_id,
        consumer_generation=getattr(data, "consumer_generation", None),
        check_generation=version >= CONSUMER_GENERATION_SINCE,
        consumer_type=getattr(data, "consumer_type", None),
    )


def post_allocations(body: BodyDep, session: SessionDep, version: VersionDep) -> Response:
    model: type[schemas.ConsumerPost113] = schemas.ConsumerPost113
    if version >= CONSUMER_TYPE_SINCE:
        model = schemas.ConsumerPost138
    elif version >= CONSUMER_GENERATION_SINCE:
        model = schemas.ConsumerPost128
    data = body.parse(dict[uuid.UUID, model],  # type: ignore[valid-type]
                      post_body(version))
    writes = [consumer_write(consumer, item, version) for consumer, item in data.items()]
    claims.write_allocations(session, writes)
    return Response(status_code=204)


def delete_allocations(consumer_uuid: uuid.UUID, session: SessionDep) -> Response:
    allocations.delete_allocations(session, consumer_uuid)
    return Response(status_code=204)


def provider_allocations(rp_uuid: uuid.UUID, session: SessionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    found = allocations.provider_allocations(session, provider)
    return {
        "allocations": {str(c): {"resources": r} for c, r in found.items()},
        "resource_provider_generation": provider.generation,
    }


ROUTES: list[Route] = [
    Route("GET", "/allocations/{consumer_uuid}", show_allocations, "placement:allocations:list",
          query=None),
    Route("PUT", "/allocations/{consumer_uuid}", put_allocations, "placement:allocations:update",
          query=None, status_code=204, body=put_body),
    Route("POST", "/allocations", post_allocations, "placement:allocations:manage", query=None,
          status_code=204, min_version=str(POST_SINCE), body=post_body),
    Route("DELETE", "/allocations/{consumer_uuid}", delete_allocations,
          "placement:allocations:delete", query=None, status_code=204),
    Route("GET", "/resource_providers/{rp_uuid}/allocations", provider_allocations,
          "placement:resource_providers:allocations:list", query=None),
]
