"""/resource_classes (microversion 1.2+)."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from common.errors import BadRequest
from common.routes import Route
from placement import resource_classes
from placement.api import jsonschemas, schemas
from placement.api.deps import BodyDep, OptionalBodyDep, RootDep, SessionDep, VersionDep
from placement.api.validation import check_body
from placement.microversion import Version

PUT_CREATES_SINCE = Version(1, 7)


def _view(name: str, root: str) -> dict[str, Any]:
    return {"name": name, "links": [{"rel": "self", "href": f"{root}/resource_classes/{name}"}]}


def list_classes(session: SessionDep, root: RootDep) -> dict[str, Any]:
    found = resource_classes.list_classes(session)
    return {"resource_classes": [_view(rc.name, root) for rc in found]}


def create_class(body: BodyDep, session: SessionDep, root: RootDep) -> Response:
    data = body.parse(schemas.ResourceClassCreate, jsonschemas.RESOURCE_CLASS)
    resource_classes.create_class(session, data.name)
    return Response(status_code=201, headers={"location": f"{root}/resource_classes/{data.name}"})


def show_class(name: str, session: SessionDep, root: RootDep) -> dict[str, Any]:
    return _view(resource_classes.get_class(session, name).name, root)


def put_body(version: Version) -> jsonschemas.Schema:
    """The PUT body's schema at ``version``: the new name before 1.7; from then the body
    is not read (the path names the class)."""
    return jsonschemas.RESOURCE_CLASS if version < PUT_CREATES_SINCE else {}


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


def delete_class(name: str, session: SessionDep) -> Response:
    resource_classes.delete_class(session, name)
    return Response(status_code=204)


ROUTES: list[Route] = [
    Route("GET", "/resource_classes", list_classes, "placement:resource_classes:list", query=None,
          min_version="1.2"),
    Route("POST", "/resource_classes", create_class, "placement:resource_classes:create",
          query=None, status_code=201, min_version="1.2", body=jsonschemas.RESOURCE_CLASS),
    Route("GET", "/resource_classes/{name}", show_class, "placement:resource_classes:show",
          query=None, min_version="1.2"),
    Route("PUT", "/resource_classes/{name}", put_class, "placement:resource_classes:update",
          query=None, options={"response_model": None}, min_version="1.2", body=put_body),
    Route("DELETE", "/resource_classes/{name}", delete_class, "placement:resource_classes:delete",
          query=None, status_code=204, min_version="1.2"),
]
