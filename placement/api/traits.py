"""/traits and /resource_providers/{uuid}/traits (microversion 1.6+)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request, Response

from common.errors import BadRequest, NotFound
from common.routes import Route
from placement import providers, traits
from placement.api import jsonschemas, query, schemas
from placement.api.deps import BodyDep, RootDep, SessionDep, fresh_headers
from placement.microversion import Version

TRAITS_SINCE = Version(1, 6)

_CUSTOM = re.compile(r"^CUSTOM_[A-Z0-9_]+$")


def list_traits(request: Request, session: SessionDep) -> dict[str, Any]:
    items = query.params(request)
    query.check_keys(items, ["name", "associated"])
    names, prefix = _name_filter(query.single(items, "name"))
    associated = _associated(query.single(items, "associated"))
    return {"traits": traits.list_traits(session, names, prefix, associated)}


def _name_filter(value: str | None) -> tuple[list[str] | None, str | None]:
    if value is None:
        return None, None
    if value.startswith("in:"):
        return [n.strip() for n in value[3:].split(",") if n.strip()], None
    if value.startswith("startswith:"):
        return None, value[len("startswith:"):]
    raise BadRequest(
        "Badly formatted name parameter. Expected name query string parameter in form: "
        f'?name=[in|startswith]:[name1,name2|prefix]. Got: "{value}"'
    )


def _associated(value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise BadRequest('The query parameter "associated" only accepts "true" or "false"')
    return value.lower() == "true"


def show_trait(name: str, session: SessionDep) -> Response:
    if not traits.trait_exists(session, name):
        raise NotFound(f"No such trait(s): {name}.")
    return Response(status_code=204, headers=fresh_headers())


def create_trait(name: str, session: SessionDep, root: RootDep) -> Response:
    if not _CUSTOM.match(name) or len(name) > 255:
        raise BadRequest(
            'The trait is invalid. A valid trait must be no longer than 255 characters, start '
            'with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"'
        )
    created = traits.ensure_trait(session, name)
    return Response(status_code=201 if created else 204,
                    headers={"location": f"{root}/traits/{name}", **fresh_headers()})


def delete_trait(name: str, session: SessionDep) -> Response:
    traits.delete_trait(session, name)
    return Response(status_code=204)


def provider_traits(rp_uuid: uuid.UUID, session: SessionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    return {
        "traits": traits.provider_traits(session, provider),
        "resource_provider_generation": provider.generation,
    }


def set_provider_traits(rp_uuid: uuid.UUID, body: BodyDep, session: SessionDep) -> dict[str, Any]:
    data = body.parse(schemas.ProviderTraitsPut, jsonschemas.PROVIDER_TRAITS_PUT)
    provider = providers.get_provider(session, rp_uuid)
    generation = traits.set_provider_traits(
        session, provider, data.resource_provider_generation, data.traits
    )
    return {
        "traits": traits.provider_traits(session, provider),
        "resource_provider_generation": generation,
    }


def clear_provider_traits(rp_uuid: uuid.UUID, session: SessionDep) -> Response:
    traits.clear_provider_traits(session, providers.get_provider(session, rp_uuid))
    return Response(status_code=204)


ROUTES: list[Route] = [
    Route("GET", "/traits", list_traits, "placement:traits:list", query=None,
          min_version=str(TRAITS_SINCE)),
    Route("GET", "/traits/{name}", show_trait, "placement:traits:show", query=None, status_code=204,
          min_version=str(TRAITS_SINCE)),
    Route("PUT", "/traits/{name}", create_trait, "placement:traits:update", query=None,
          status_code=201, min_version=str(TRAITS_SINCE)),
    Route("DELETE", "/traits/{name}", delete_trait, "placement:traits:delete", query=None,
          status_code=204, min_version=str(TRAITS_SINCE)),
    Route("GET", "/resource_providers/{rp_uuid}/traits", provider_traits,
          "placement:resource_providers:traits:list", query=None, min_version=str(TRAITS_SINCE)),
    Route("PUT", "/resource_providers/{rp_uuid}/traits", set_provider_traits,
          "placement:resource_providers:traits:update", query=None, min_version=str(TRAITS_SINCE),
          body=jsonschemas.PROVIDER_TRAITS_PUT),
    Route("DELETE", "/resource_providers/{rp_uuid}/traits", clear_provider_traits,
          "placement:resource_providers:traits:delete", query=None, status_code=204,
          min_version=str(TRAITS_SINCE)),
]
