"""POST /reshaper (microversion 1.30+)."""

from __future__ import annotations

from fastapi import Response

from common.routes import Route
from placement import reshaper
from placement.api import jsonschemas, schemas
from placement.api.allocations import CONSUMER_TYPE_SINCE, consumer_write
from placement.api.deps import BodyDep, SessionDep, VersionDep
from placement.microversion import Version


def reshape_body(version: Version) -> jsonschemas.Schema:
    """The body's schema at ``version`` (1.30 on)."""
    if version >= CONSUMER_TYPE_SINCE:
        return jsonschemas.RESHAPE_1_38
    return jsonschemas.RESHAPE_1_34 if version >= Version(1, 34) else jsonschemas.RESHAPE_1_30


def reshape(body: BodyDep, session: SessionDep, version: VersionDep) -> Response:
    data: schemas.Reshape130 | schemas.Reshape138
    if version >= CONSUMER_TYPE_SINCE:
        data = body.parse(schemas.Reshape138, reshape_body(version))
    else:
        data = body.parse(schemas.Reshape130, reshape_body(version))
    wanted = {
        rp: reshaper.ProviderInventories(
            item.resource_provider_generation,
            {name: fields.spec() for name, fields in item.inventories.items()},
        )
        for rp, item in data.inventories.items()
    }
    writes = [consumer_write(c, item, version) for c, item in data.allocations.items()]
    reshaper.reshape(session, wanted, writes)
    return Response(status_code=204)


ROUTES: list[Route] = [
    Route("POST", "/reshaper", reshape, "placement:reshaper:reshape", query=None, status_code=204,
          min_version="1.30", body=reshape_body),
]
