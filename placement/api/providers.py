"""/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from common.routes import Route
from placement import provider_list, providers
from placement.api import jsonschemas, query, schemas
from placement.api.deps import BodyDep, RootDep, SessionDep, VersionDep, http_date
from placement.api.views import NESTED_SINCE, json_response, provider_url, provider_view
from placement.microversion import Version

CREATE_RETURNS_BODY_SINCE = Version(1, 20)
REPARENT_SINCE = Version(1, 37)

# Query parameters of GET /resource_providers and the microversion adding each.
LIST_PARAMS = {
    "name": Version(1, 0), "uuid": Version(1, 0), "member_of": Version(1, 3),
    "resources": Version(1, 4), "in_tree": Version(1, 14), "required": Version(1, 18),
    # Paging is our extension; upstream lists every provider at once.
    "limit": Version(1, 0), "marker": Version(1, 0),
}


def list_providers(
    request: Request, session: SessionDep, version: VersionDep, root: RootDep
) -> Response:
    flt = _list_filter(query.params(request), version)
    found = provider_list.list_providers(session, flt)
    headers = {"last-modified": http_date(max(p.updated_at for p in found))} if found else {}
    return json_response(
        {"resource_providers": [provider_view(p, version, root) for p in found]},
        headers=headers,
    )


def _list_filter(items: list[tuple[str, str]], version: Version) -> provider_list.ProviderFilter:
    query.check_keys(items, [k for k, since in LIST_PARAMS.items() if version >= since])
    one = {key: query.single(items, key) for key in ("name", "uuid", "in_tree", "resources",
                                                     "limit", "marker")}
    required, forbidden = query.parse_required(query.every(items, "required"), version)
    member_of, forbidden_aggs = query.parse_member_of(query.every(items, "member_of"), version)
    return provider_list.ProviderFilter(
        name=one["name"],
        uuid=query.parse_uuid(one["uuid"], "uuid") if one["uuid"] else None,
        in_tree=query.parse_uuid(one["in_tree"], "in_tree") if one["in_tree"] else None,
        resources=query.parse_resources(one["resources"]) if one["resources"] is not None else {},
        required=required, forbidden=forbidden,
        member_of=member_of, forbidden_aggs=forbidden_aggs,
        limit=query.parse_limit(one["limit"]) if one["limit"] else None,
        marker=query.parse_uuid(one["marker"], "marker") if one["marker"] else None,
    )


def create_body(version: Version) -> jsonschemas.Schema:
    """The POST body's schema at ``version`` (a parent from 1.14)."""
    return jsonschemas.PROVIDER_POST_1_14 if version >= NESTED_SINCE else jsonschemas.PROVIDER_POST


def update_body(version: Version) -> jsonschemas.Schema:
    """The PUT body's schema at ``version`` (a parent from 1.14)."""
    return jsonschemas.PROVIDER_PUT_1_14 if version >= NESTED_SINCE else jsonschemas.PROVIDER_PUT


def create_provider(
    body: BodyDep, session: SessionDep, version: VersionDep, root: RootDep
) -> Response | dict[str, Any]:
    if version >= NESTED_SINCE:
        data: schemas.ProviderCreate = body.parse(schemas.ProviderCreate114,
                                                     create_body(version))
        parent = getattr(data, "parent_provider_uuid", None)
    else:
        data = body.parse(schemas.ProviderCreate, create_body(version))
        parent = None
    provider = providers.create_provider(session, data.name, data.uuid, parent)
    headers = {"location": provider_url(root, provider)}
    if version < CREATE_RETURNS_BODY_SINCE:
        return Response(status_code=201, headers=headers)
    return JSONResponse(
        provider_view(provider, version, root), status_code=200,
        headers=headers | {"last-modified": http_date(provider.updated_at)},
    )


def show_provider(
    rp_uuid: uuid.UUID, session: SessionDep, version: VersionDep, root: RootDep,
    response: Response,
) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    response.headers["last-modified"] = http_date(provider.updated_at)
    return provider_view(provider, version, root)


def update_provider(
    rp_uuid: uuid.UUID, body: BodyDep, session: SessionDep, version: VersionDep, root: RootDep,
) -> dict[str, Any]:
    if version >= NESTED_SINCE:
        data: schemas.ProviderUpdate = body.parse(schemas.ProviderUpdate114,
                                                     update_body(version))
    else:
        data = body.parse(schemas.ProviderUpdate, update_body(version))
    given = "parent_provider_uuid" in data.model_fields_set
    parent = getattr(data, "parent_provider_uuid", None)
    provider = providers.update_provider(
        session, rp_uuid, data.name, parent,
        change_parent=given,
        allow_reparent=version >= REPARENT_SINCE,
    )
    return provider_view(provider, version, root)


def delete_provider(rp_uuid: uuid.UUID, session: SessionDep) -> Response:
    providers.delete_provider(session, rp_uuid)
    return Response(status_code=204)


ROUTES: list[Route] = [
    Route("GET", "/resource_providers", list_providers, "placement:resource_providers:list",
          query=None),
    Route("POST", "/resource_providers", create_provider, "placement:resource_providers:create",
          query=None, status_code=201, options={"response_model": None}, body=create_body),
    Route("GET", "/resource_providers/{rp_uuid}", show_provider,
          "placement:resource_providers:show", query=None),
    Route("PUT", "/resource_providers/{rp_uuid}", update_provider,
          "placement:resource_providers:update", query=None, body=update_body),
    Route("DELETE", "/resource_providers/{rp_uuid}", delete_provider,
          "placement:resource_providers:delete", query=None, status_code=204),
]
