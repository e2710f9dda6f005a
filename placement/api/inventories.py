"""/resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from common.routes import Route
from placement import inventories, providers
from placement.api import jsonschemas, schemas
from placement.api.deps import BodyDep, RootDep, SessionDep, VersionDep
from placement.api.views import provider_url
from placement.microversion import Version

DELETE_ALL_SINCE = Version(1, 5)
RESERVED_EQUAL_TOTAL_SINCE = Version(1, 26)


def _one(spec: inventories.InventorySpec, generation: int) -> dict[str, Any]:
    return spec.as_dict() | {"resource_provider_generation": generation}


def _all(specs: dict[str, inventories.InventorySpec], generation: int) -> dict[str, Any]:
    return {
        "inventories": {name: spec.as_dict() for name, spec in specs.items()},
        "resource_provider_generation": generation,
    }


def list_inventories(rp_uuid: uuid.UUID, session: SessionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    return _all(inventories.get_inventories(session, provider), provider.generation)


def replace_inventories(
    rp_uuid: uuid.UUID, body: BodyDep, session: SessionDep, version: VersionDep
) -> dict[str, Any]:
    data = body.parse(schemas.InventoriesPut, jsonschemas.INVENTORIES_PUT)
    provider = providers.get_provider(session, rp_uuid)
    specs = {name: fields.spec() for name, fields in data.inventories.items()}
    generation = inventories.replace_inventories(
        session, provider, data.resource_provider_generation, specs,
        reserved_may_equal_total=version >= RESERVED_EQUAL_TOTAL_SINCE,
    )
    return _all(inventories.get_inventories(session, provider), generation)


def add_inventory(
    rp_uuid: uuid.UUID, body: BodyDep, session: SessionDep, version: VersionDep, root: RootDep,
) -> JSONResponse:
    data = body.parse(schemas.InventoryPost, jsonschemas.INVENTORY_POST)
    provider = providers.get_provider(session, rp_uuid)
    generation = inventories.add_inventory(
        session, provider, data.resource_provider_generation, data.resource_class, data.spec(),
        reserved_may_equal_total=version >= RESERVED_EQUAL_TOTAL_SINCE,
    )
    location = f"{provider_url(root, provider)}/inventories/{data.resource_class}"
    return JSONResponse(_one(data.spec(), generation), status_code=201,
                        headers={"location": location})


def delete_inventories(rp_uuid: uuid.UUID, session: SessionDep) -> Response:
    provider = providers.get_provider(session, rp_uuid)
    inventories.delete_all_inventories(session, provider)
    return Response(status_code=204)


def show_inventory(rp_uuid: uuid.UUID, class_name: str, session: SessionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    return _one(inventories.get_inventory(session, provider, class_name), provider.generation)


def put_inventory(
    rp_uuid: uuid.UUID, class_name: str, body: BodyDep, session: SessionDep, version: VersionDep
) -> dict[str, Any]:
    data = body.parse(schemas.InventoryPut, jsonschemas.INVENTORY_PUT)
    provider = providers.get_provider(session, rp_uuid)
    generation = inventories.put_inventory(
        session, provider, data.resource_provider_generation, class_name, data.spec(),
        reserved_may_equal_total=version >= RESERVED_EQUAL_TOTAL_SINCE,
    )
    return _one(data.spec(), generation)


def delete_inventory(rp_uuid: uuid.UUID, class_name: str, session: SessionDep) -> Response:
    provider = providers.get_provider(session, rp_uuid)
    inventories.delete_inventory(session, provider, class_name)
    return Response(status_code=204)


ROUTES: list[Route] = [
    Route("GET", "/resource_providers/{rp_uuid}/inventories", list_inventories,
          "placement:resource_providers:inventories:list", query=None),
    Route("PUT", "/resource_providers/{rp_uuid}/inventories", replace_inventories,
          "placement:resource_providers:inventories:update", query=None,
          body=jsonschemas.INVENTORIES_PUT),
    Route("POST", "/resource_providers/{rp_uuid}/inventories", add_inventory,
          "placement:resource_providers:inventories:create", query=None, status_code=201,
          body=jsonschemas.INVENTORY_POST),
    Route("DELETE", "/resource_providers/{rp_uuid}/inventories", delete_inventories,
          "placement:resource_providers:inventories:delete", query=None, status_code=204,
          min_version=str(DELETE_ALL_SINCE), absent_status=405),
    Route("GET", "/resource_providers/{rp_uuid}/inventories/{class_name}", show_inventory,
          "placement:resource_providers:inventories:show", query=None),
    Route("PUT", "/resource_providers/{rp_uuid}/inventories/{class_name}", put_inventory,
          "placement:resource_providers:inventories:update", query=None,
          body=jsonschemas.INVENTORY_PUT),
    Route("DELETE", "/resource_providers/{rp_uuid}/inventories/{class_name}", delete_inventory,
          "placement:resource_providers:inventories:delete", query=None, status_code=204),
]
