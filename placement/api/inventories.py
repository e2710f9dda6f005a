"""/resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from placement import inventories, providers
from placement.api import jsonschemas, schemas
from placement.api.deps import BodyDep, RootDep, SessionDep, VersionDep, since
from placement.api.views import provider_url
from placement.microversion import Version

router = APIRouter()

DELETE_ALL_SINCE = Version(1, 5)
RESERVED_EQUAL_TOTAL_SINCE = Version(1, 26)
BASE = "/resource_providers/{rp_uuid}/inventories"


def _one(spec: inventories.InventorySpec, generation: int) -> dict[str, Any]:
    return spec.as_dict() | {"resource_provider_generation": generation}


def _all(specs: dict[str, inventories.InventorySpec], generation: int) -> dict[str, Any]:
    return {
        "inventories": {name: spec.as_dict() for name, spec in specs.items()},
        "resource_provider_generation": generation,
    }


@router.get(BASE)
def list_inventories(rp_uuid: uuid.UUID, session: SessionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    return _all(inventories.get_inventories(session, provider), provider.generation)


@router.put(BASE)
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


@router.post(BASE, status_code=201)
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


@router.delete(BASE, status_code=204, dependencies=[since(DELETE_ALL_SINCE, 405)])
def delete_inventories(rp_uuid: uuid.UUID, session: SessionDep) -> Response:
    provider = providers.get_provider(session, rp_uuid)
    inventories.delete_all_inventories(session, provider)
    return Response(status_code=204)


@router.get(BASE + "/{class_name}")
def show_inventory(rp_uuid: uuid.UUID, class_name: str, session: SessionDep) -> dict[str, Any]:
    provider = providers.get_provider(session, rp_uuid)
    return _one(inventories.get_inventory(session, provider, class_name), provider.generation)


@router.put(BASE + "/{class_name}")
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


@router.delete(BASE + "/{class_name}", status_code=204)
def delete_inventory(rp_uuid: uuid.UUID, class_name: str, session: SessionDep) -> Response:
    provider = providers.get_provider(session, rp_uuid)
    inventories.delete_inventory(session, provider, class_name)
    return Response(status_code=204)
