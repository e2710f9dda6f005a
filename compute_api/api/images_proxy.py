"""/images: the compute endpoint's view of images, until microversion 2.35 (then 404)."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.requests import Request

from common.errors import BadRequest, NotFound
from common.openapi import wrapped
from common.routes import AUTHENTICATED, Route
from compute_api.api.deps import (
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.versions import base_url
from compute_api.images import proxy
from compute_api.images.store import ImageStore

FILTERS = ("name", "status", "server", "type", "minRam", "minDisk", "changes-since")


def _served(version: Version) -> None:
    if version.at_least("2.36"):
        raise NotFound("The resource could not be found.")


def _glance(request: Request) -> str:
    return base_url(request).rsplit("/compute", 1)[0] + "/image"


def _list(request: Request, ctx: ContextDep, session: ReadSessionDep, version: Version,
          detail: bool) -> dict[str, Any]:
    _served(version)
    params = request.query_params
    limit = params.get("limit")
    if limit is not None and (not limit.isdecimal()):
        raise BadRequest(f"Invalid limit: {limit}")
    filters = {k: v for k, v in params.items() if k in FILTERS or k.startswith("property-")}
    rows = proxy.list_images(session, ctx, filters, None if limit is None else int(limit),
                             params.get("marker"))
    base, glance = base_url(request), _glance(request)
    return {"images": [proxy.view(i, base, glance, detail) for i in rows]}


def list_images(request: Request, ctx: ContextDep, session: ReadSessionDep,
                version: VersionDep) -> dict[str, Any]:
    return _list(request, ctx, session, version, detail=False)


def list_images_detail(request: Request, ctx: ContextDep, session: ReadSessionDep,
                       version: VersionDep) -> dict[str, Any]:
    return _list(request, ctx, session, version, detail=True)


def show_image(image_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep,
               version: VersionDep) -> dict[str, Any]:
    _served(version)
    image = proxy.get(session, ctx, image_id)
    return {"image": proxy.view(image, base_url(request), _glance(request), detail=True)}


def delete_no_image(ctx: ContextDep, version: VersionDep) -> Response:
    # DELETE /images/ names no image: upstream answers 404, not 405.
    raise NotFound("Image not found.")


def delete_image(image_id: str, ctx: ContextDep, session: SessionDep, version: VersionDep,
                 runtime: RuntimeDep) -> Response:
    _served(version)
    image = proxy.get(session, ctx, image_id)
    proxy.delete(session, ctx, image)
    ImageStore(runtime.settings.data_dir).delete(image.id)
    return Response(status_code=204)


def list_metadata(image_id: str, ctx: ContextDep, session: ReadSessionDep,
                  version: VersionDep) -> dict[str, Any]:
    _served(version)
    image = proxy.get(session, ctx, image_id)
    return {"metadata": proxy.view(image, "", "", detail=True)["metadata"]}


def _items(body: Any, key: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Malformed request body: '{key}' is a required property")
    items: dict[str, Any] = body[key]
    return items


def set_metadata(image_id: str, body: BodyDep, request: Request, ctx: ContextDep,
                 session: SessionDep, version: VersionDep) -> dict[str, Any]:
    _served(version)
    image = proxy.get(session, ctx, image_id)
    merged = proxy.set_metadata(ctx, image, _items(body, "metadata"),
                                replace=request.method == "PUT")
    return {"metadata": merged}


def show_metadata_item(image_id: str, key: str, ctx: ContextDep, session: ReadSessionDep,
                       version: VersionDep) -> dict[str, Any]:
    _served(version)
    metadata = proxy.view(proxy.get(session, ctx, image_id), "", "", detail=True)["metadata"]
    if key not in metadata:
        raise NotFound("Image metadata not found.")
    return {"meta": {key: metadata[key]}}


def set_metadata_item(image_id: str, key: str, body: BodyDep, ctx: ContextDep,
                      session: SessionDep, version: VersionDep) -> dict[str, Any]:
    _served(version)
    item = _items(body, "meta")
    if list(item) != [key]:
        raise BadRequest("Request body and URI mismatch")
    image = proxy.get(session, ctx, image_id)
    proxy.set_metadata(ctx, image, item, replace=False)
    return {"meta": item}


def delete_metadata_item(image_id: str, key: str, ctx: ContextDep, session: SessionDep,
                         version: VersionDep) -> Response:
    _served(version)
    proxy.delete_metadata(ctx, proxy.get(session, ctx, image_id), key)
    return Response(status_code=204)


METADATA_BODY = wrapped("metadata", {"type": "object"})
META_BODY = wrapped("meta", {"type": "object"})


ROUTES: list[Route] = [
    Route("GET", "/v2.1/images", list_images, AUTHENTICATED, query=None, max_version="2.35"),
    Route("GET", "/v2.1/images/detail", list_images_detail, AUTHENTICATED, query=None,
          max_version="2.35"),
    Route("GET", "/v2.1/images/{image_id}", show_image, AUTHENTICATED, max_version="2.35"),
    Route("DELETE", "/v2.1/images/", delete_no_image, AUTHENTICATED, include_in_schema=False),
    Route("DELETE", "/v2.1/images", delete_no_image, AUTHENTICATED, include_in_schema=False),
    Route("DELETE", "/v2.1/images/{image_id}", delete_image, AUTHENTICATED, status_code=204,
          max_version="2.35"),
    Route("GET", "/v2.1/images/{image_id}/metadata", list_metadata, AUTHENTICATED,
          max_version="2.35"),
    Route("PUT", "/v2.1/images/{image_id}/metadata", set_metadata, AUTHENTICATED,
          max_version="2.35", body=METADATA_BODY),
    Route("POST", "/v2.1/images/{image_id}/metadata", set_metadata, AUTHENTICATED,
          max_version="2.35", body=METADATA_BODY),
    Route("GET", "/v2.1/images/{image_id}/metadata/{key}", show_metadata_item, AUTHENTICATED,
          max_version="2.35"),
    Route("PUT", "/v2.1/images/{image_id}/metadata/{key}", set_metadata_item, AUTHENTICATED,
          max_version="2.35", body=META_BODY),
    Route("DELETE", "/v2.1/images/{image_id}/metadata/{key}", delete_metadata_item, AUTHENTICATED,
          status_code=204, max_version="2.35"),
]
