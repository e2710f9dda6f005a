"""A Glance v2 compatible subset: image records and data for a standalone cloud."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.requests import Request

from common import policy
from common.compute_db.models import Image
from common.context import RequestContext
from common.errors import Conflict, Forbidden, NotFound
from common.routes import PUBLIC, Route
from common.states import ImageStatus
from compute_api.api.deps import BodyDep, ContextDep, ReadSessionDep, RuntimeDep, SessionDep
from compute_api.api.versions import base_url
from compute_api.images.schemas import CORE, IMAGE, WRITABLE, check_image
from compute_api.images.source import visible_to
from compute_api.images.store import ImageStore, receive


def _iso(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def image_view(image: Image) -> dict[str, Any]:
    iid = str(image.id)
    out: dict[str, Any] = {
        "id": iid, "name": image.name, "status": image.status,
        "visibility": image.visibility, "protected": image.protected, "os_hidden": False,
        "checksum": image.checksum, "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value, "size": image.size, "virtual_size": None,
        "disk_format": image.disk_format, "container_format": image.container_format,
        "min_disk": image.min_disk, "min_ram": image.min_ram, "owner": image.owner,
        "created_at": _iso(image.created_at), "updated_at": _iso(image.updated_at),
        "tags": list(image.tags.get("tags", [])), "self": f"/v2/images/{iid}",
        "file": f"/v2/images/{iid}/file", "schema": "/v2/schemas/image",
    }
    out.update(image.properties)
    return out


def _visible(image: Image, project_id: str | None, is_admin: bool) -> bool:
    return visible_to(image.visibility, image.owner, project_id, is_admin)


def sees_all(ctx: RequestContext) -> bool:
    """Admins, and compute agents (which spawn every project's servers), see every image."""
    return ctx.is_admin or "service" in ctx.roles


def _get(session: Any, image_id: str, project_id: str | None, is_admin: bool) -> Image:
    try:
        image = session.get(Image, uuid.UUID(image_id))
    except ValueError:
        image = None
    if not isinstance(image, Image) or not _visible(image, project_id, is_admin):
        raise NotFound(f"No image found with ID {image_id}")
    return image


def _validate(fields: dict[str, Any]) -> None:
    for key in fields:
        if key in CORE - WRITABLE:
            raise Forbidden(f"Attribute '{key}' is read-only.")


# Glance's list parameters that are not image properties (the rest filter properties).
_LIST_PARAMS = {"limit", "marker", "member_status", "size_min", "size_max", "protected",
                "os_hidden", "sort_key", "sort_dir", "sort", "tag", "created_at",
                "updated_at", "id", "checksum", "os_hash_value"}
_COLUMN_FILTERS = {"name": Image.name, "status": Image.status, "owner": Image.owner,
                   "visibility": Image.visibility, "container_format": Image.container_format,
                   "disk_format": Image.disk_format}
_SORT_KEYS = {"created_at": Image.created_at, "updated_at": Image.updated_at,
              "name": Image.name, "status": Image.status, "size": Image.size}


def list_images(request: Request, ctx: ContextDep, session: ReadSessionDep) -> dict[str, Any]:
    params = request.query_params
    key = _SORT_KEYS.get(params.get("sort_key", "created_at"), Image.created_at)
    order = key.asc() if params.get("sort_dir") == "asc" else key.desc()
    stmt = sa.select(Image).order_by(order, Image.id)
    for name, column in _COLUMN_FILTERS.items():
        if params.get(name) and not (name == "visibility" and params[name] == "all"):
            stmt = stmt.where(column == params[name])
    ids = params.get("id", "")
    if ids.startswith("in:"):
        wanted = [i for i in ids[3:].split(",") if i]
        stmt = stmt.where(Image.id.in_([_uuid_or_none(i) for i in wanted]))
    # Other parameters match additional properties, as Glance v2 flattens them.
    props = {k: v for k, v in params.items()
             if k not in _LIST_PARAMS and k not in _COLUMN_FILTERS}
    images = [i for i in session.scalars(stmt).all()
              if _visible(i, ctx.project_id, ctx.is_admin)
              and all(str((i.properties or {}).get(k)) == v for k, v in props.items())]
    return {"images": [image_view(i) for i in images], "first": "/v2/images",
            "schema": "/v2/schemas/images"}


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def create_image(body: BodyDep, ctx: ContextDep, session: SessionDep) -> JSONResponse:
    check_image(body)
    _validate(body)
    rule = {"public": "publicize_image", "community": "communitize_image"}.get(
        str(body.get("visibility")))
    if rule is not None and not policy.allowed(ctx, rule):
        raise Forbidden(f"You are not authorized to complete {rule} action.")
    props = {k: v for k, v in body.items() if k not in CORE}
    image = Image(
        id=uuid.UUID(body["id"]) if body.get("id") else uuid.uuid4(), name=body.get("name"),
        disk_format=body.get("disk_format"), container_format=body.get("container_format"),
        min_disk=body.get("min_disk", 0), min_ram=body.get("min_ram", 0),
        visibility=body.get("visibility", "shared"), protected=body.get("protected", False),
        owner=ctx.project_id, properties=props, tags={"tags": body.get("tags", [])},
    )
    if session.get(Image, image.id) is not None:
        raise Conflict(f"Image with identifier {image.id} already exists!")
    session.add(image)
    session.flush()
    return JSONResponse(image_view(image), status_code=201,
                        headers={"Location": f"/v2/images/{image.id}"})


def show_image(image_id: str, ctx: ContextDep, session: ReadSessionDep) -> dict[str, Any]:
    return image_view(_get(session, image_id, ctx.project_id, sees_all(ctx)))


def show_image_tasks(image_id: str, ctx: ContextDep, session: ReadSessionDep
                     ) -> dict[str, Any]:
    """The image's import tasks (Glance 2.12): none here, uploads complete in the
    request; clients wait on this list after a snapshot or backup."""
    _get(session, image_id, ctx.project_id, sees_all(ctx))
    return {"tasks": []}


def delete_image(image_id: str, ctx: ContextDep, session: SessionDep,
                 runtime: RuntimeDep) -> Response:
    image = _get(session, image_id, ctx.project_id, ctx.is_admin)
    if image.owner != ctx.project_id and not ctx.is_admin:
        raise Forbidden("You are not permitted to delete this image.")
    if image.protected:
        raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
    session.delete(image)
    ImageStore(runtime.settings.data_dir).delete(image.id)
    return Response(status_code=204)


async def upload_image(image_id: str, request: Request, ctx: ContextDep,
                       runtime: RuntimeDep) -> Response:
    await receive(request.stream(), runtime, ctx, image_id,
                  request.headers.get("content-length", ""))
    return Response(status_code=204)


def versions(request: Request) -> JSONResponse:
    """The version document at the API's root (300 Multiple Choices, as Glance)."""
    base = base_url(request)
    doc = {"versions": [{"id": "v2.9", "status": "CURRENT",
                         "links": [{"rel": "self", "href": f"{base}/v2/"}]}]}
    return JSONResponse(doc, status_code=300)


def download_image(image_id: str, ctx: ContextDep, session: ReadSessionDep,
                   runtime: RuntimeDep) -> Response:
    image = _get(session, image_id, ctx.project_id, sees_all(ctx))
    if image.status != ImageStatus.ACTIVE:
        return Response(status_code=204)
    path = ImageStore(runtime.settings.data_dir).path(image.id)
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Content-MD5": image.checksum or ""})


ROUTES: list[Route] = [
    Route("GET", "/v2/images", list_images, "get_images", query=None),
    Route("POST", "/v2/images", create_image, "add_image", query=None, status_code=201, body=IMAGE),
    Route("GET", "/v2/images/{image_id}", show_image, "get_image", query=None),
    Route("GET", "/v2/images/{image_id}/tasks", show_image_tasks, "get_image", query=None),
    Route("DELETE", "/v2/images/{image_id}", delete_image, "delete_image", query=None,
          status_code=204),
    Route("PUT", "/v2/images/{image_id}/file", upload_image, "upload_image", query=None,
          status_code=204),
    Route("GET", "/v2/images/{image_id}/file", download_image, "download_image", query=None),
    Route("GET", "/", versions, PUBLIC, include_in_schema=False),
]
