"""/resource_providers/{uuid}/aggregates (microversion 1.1+)."""

from __future__ import annotations

import uuid
from typing import Any

from common.routes import Route
from placement import aggregates, providers
from placement.api import jsonschemas, schemas
from placement.api.deps import BodyDep, SessionDep, VersionDep
from placement.microversion import Version

GENERATION_SINCE = Version(1, 19)


def _view(aggs: list[uuid.UUID], generation: int, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {"aggregates": [str(a) for a in aggs]}
    if version >= GENERATION_SINCE:
        view["resource_provider_generation"] = generation
    return view


def list_aggregates(rp_uuid: uuid.UUID, session: SessionDep, version: VersionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    return _view(aggregates.provider_aggregates(session, provider), provider.generation, version)


def put_body(version: Version) -> jsonschemas.Schema:
    """The PUT body's schema at ``version``: a list of aggregates, or from 1.19 an object
    that also carries the provider's generation."""
    if version >= GENERATION_SINCE:
        return jsonschemas.AGGREGATES_PUT_1_19
    return jsonschemas.AGGREGATE_LIST


def set_aggregates(
    rp_uuid: uuid.UUID, body: BodyDep, session: SessionDep, version: VersionDep
) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    if version >= GENERATION_SINCE:
        data = body.parse(schemas.AggregatesPut, put_body(version))
        wanted, seen = data.aggregates, data.resource_provider_generation
    else:
        # Upstream leaves the generation alone here; we bump it, since the candidates'
        # snapshot cache learns of aggregate changes from generations only.
        wanted, seen = body.parse(list[uuid.UUID], put_body(version)), provider.generation
    generation = aggregates.set_provider_aggregates(session, provider, seen, wanted)
    # The aggregates as the request listed them (upstream's answer keeps that order).
    return _view(wanted, generation, version)


ROUTES: list[Route] = [
    Route("GET", "/resource_providers/{rp_uuid}/aggregates", list_aggregates,
          "placement:resource_providers:aggregates:list", query=None, min_version="1.1"),
    Route("PUT", "/resource_providers/{rp_uuid}/aggregates", set_aggregates,
          "placement:resource_providers:aggregates:update", query=None, min_version="1.1",
          body=put_body),
]
