"""/resource_providers/{uuid}/usages and /usages (microversion 1.9+)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request

from common.routes import Route
from placement import providers, usages
from placement.api import jsonschemas, query
from placement.api.deps import SessionDep, VersionDep
from placement.api.validation import check_query
from placement.microversion import Version

PROJECT_USAGES_SINCE = Version(1, 9)
CONSUMER_TYPES_SINCE = Version(1, 38)


def provider_usages(rp_uuid: uuid.UUID, session: SessionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    return {
        "usages": usages.provider_usages(session, provider),
        "resource_provider_generation": provider.generation,
    }


def project_usages(request: Request, session: SessionDep, version: VersionDep) -> dict[str, Any]:
    items = query.params(request)
    by_type = version >= CONSUMER_TYPES_SINCE
    check_query(dict(items), jsonschemas.USAGES_QUERY_1_38 if by_type
                else jsonschemas.USAGES_QUERY_1_9)
    project_id = query.single(items, "project_id") or ""
    user_id = query.single(items, "user_id")
    consumer_type = query.single(items, "consumer_type")
    if by_type:
        return {"usages": usages.project_usages_by_type(session, project_id, user_id,
                                                       consumer_type)}
    return {"usages": usages.project_usages(session, project_id, user_id)}


ROUTES: list[Route] = [
    Route("GET", "/resource_providers/{rp_uuid}/usages", provider_usages,
          "placement:resource_providers:usages", query=None),
    Route("GET", "/usages", project_usages, "placement:usages", query=None,
          min_version=str(PROJECT_USAGES_SINCE)),
]
