"""POST /reshaper (microversion 1.30+)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from placement import reshaper
from placement.api import jsonschemas, schemas
from placement.api.allocations import CONSUMER_TYPE_SINCE, consumer_write
from placement.api.deps import BodyDep, SessionDep, VersionDep, since
from placement.microversion import Version

router = APIRouter()


@router.post("/reshaper", status_code=204, dependencies=[since(Version(1, 30))])
def reshape(body: BodyDep, session: SessionDep, version: VersionDep) -> Response:
    data: schemas.Reshape130 | schemas.Reshape138
    if version >= CONSUMER_TYPE_SINCE:
        data = body.parse(schemas.Reshape138, jsonschemas.RESHAPE_1_38)
    else:
        data = body.parse(schemas.Reshape130, jsonschemas.RESHAPE_1_34
                          if version >= Version(1, 34) else jsonschemas.RESHAPE_1_30)
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
