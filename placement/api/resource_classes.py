"""/resource_classes (microversion 1.2+)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from common.errors import BadRequest
from placement import resource_classes
from placement.api import jsonschemas, schemas
from placement.api.deps import BodyDep, OptionalBodyDep, RootDep, SessionDep, VersionDep, since
from placement.api.validation import check_body
from placement.microversion import Version

router = APIRouter(dependencies=[since(Version(1, 2))])

PUT_CREATES_SINCE = Version(1, 7)


def _view(name: str, root: str) -> dict[str, Any]:
    return {"name": name, "links": [{"rel": "self", "href": f"{root}/resource_classes/{name}"}]}


@router.get("/resource_classes")
def list_classes(session: SessionDep, root: RootDep) -> dict[str, Any]:
    found = resource_classes.list_classes(session)
    return {"resource_classes": [_view(rc.name, root) for rc in found]}


@router.post("/resource_classes", status_code=201)
def create_class(body: BodyDep, session: SessionDep, root: RootDep) -> Response:
    data = body.parse(schemas.ResourceClassCreate, jsonschemas.RESOURCE_CLASS)
    resource_classes.create_class(session, data.name)
    return Response(status_code=201, headers={"location": f"{root}/resource_classes/{data.name}"})


@router.get("/resource_classes/{name}")
def show_class(name: str, session: SessionDep, root: RootDep) -> dict[str, Any]:
    return _view(resource_classes.get_class(session, name).name, root)


@router.put("/resource_classes/{name}", response_model=None)
def put_class(
    name: str, body: OptionalBodyDep, session: SessionDep, version: VersionDep, root: RootDep
) -> Response:
    if version < PUT_CREATES_SINCE:
        if body is None:
            raise BadRequest("Malformed JSON: Expecting value: line 1 column 1 (char 0)")
        data = body.parse(schemas.ResourceClassRename, jsonschemas.RESOURCE_CLASS)
        renamed = resource_classes.rename_class(session, name, data.name)
        return JSONResponse(_view(renamed.name, root))
    check_body({"name": name}, jsonschemas.RESOURCE_CLASS)
    created = resource_classes.ensure_class(session, name)
    return Response(status_code=201 if created else 204,
                    headers={"location": f"{root}/resource_classes/{name}"})


@router.delete("/resource_classes/{name}", status_code=204)
def delete_class(name: str, session: SessionDep) -> Response:
    resource_classes.delete_class(session, name)
    return Response(status_code=204)
