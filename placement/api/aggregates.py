"""/resource_providers/{uuid}/aggregates (microversion 1.1+)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from placement import aggregates, providers
from placement.api import jsonschemas, schemas
from placement.api.deps import BodyDep, SessionDep, VersionDep, since
from placement.microversion import Version

router = APIRouter(dependencies=[since(Version(1, 1))])

GENERATION_SINCE = Version(1, 19)
PATH = "/resource_providers/{rp_uuid}/aggregates"


def _view(aggs: list[uuid.UUID], generation: int, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {"aggregates": [str(a) for a in aggs]}
    if version >= GENERATION_SINCE:
        view["resource_provider_generation"] = generation
    return view


@router.get(PATH)
def list_aggregates(rp_uuid: uuid.UUID, session: SessionDep, version: VersionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    return _view(aggregates.provider_aggregates(session, provider), provider.generation, version)


@router.put(PATH)
def set_aggregates(
    rp_uuid: uuid.UUID, body: BodyDep, session: SessionDep, version: VersionDep
) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    if version >= GENERATION_SINCE:
        data = body.parse(schemas.AggregatesPut, jsonschemas.AGGREGATES_PUT_1_19)
        wanted, seen = data.aggregates, data.resource_provider_generation
    else:
        # Upstream leaves the generation alone here; we bump it, since the candidates'
        # snapshot cache learns of aggregate changes from generations only.
        wanted, seen = body.parse(list[uuid.UUID], jsonschemas.AGGREGATE_LIST), provider.generation
    generation = aggregates.set_provider_aggregates(session, provider, seen, wanted)
    # The aggregates as the request listed them (upstream's answer keeps that order).
    return _view(wanted, generation, version)
