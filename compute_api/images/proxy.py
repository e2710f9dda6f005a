"""The Compute API's read view of images (``/images``, served until microversion 2.35).

Older clients and upstream's tests still list and show images through the compute
endpoint; upstream proxies Glance there. This reads the built-in image API's table with
the same visibility rule, and shapes images the way that proxy does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.models import Image
from common.context import RequestContext
from common.errors import BadRequest, Forbidden, NotFound
from compute_api.images.source import visible_to

# Glance status -> the status the compute proxy shows, and its progress.
STATUS = {"active": ("ACTIVE", 100), "queued": ("SAVING", 25), "saving": ("SAVING", 50),
          "importing": ("SAVING", 50), "deleted": ("DELETED", 0),
          "pending_delete": ("DELETED", 0), "killed": ("ERROR", 0)}
METADATA_LIMIT = 128


def _stamp(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def get(session: Session, ctx: RequestContext, image_id: str) -> Image:
    """An image the caller may see. Raises NotFound."""
    try:
        image = session.get(Image, uuid.UUID(image_id))
    except ValueError:
        image = None
    if image is None or not visible_to(image.visibility, image.owner, ctx.project_id,
                                       ctx.is_admin):
        raise NotFound("Image not found.")
    return image


def list_images(session: Session, ctx: RequestContext, filters: dict[str, str],
                limit: int | None, marker: str | None) -> Sequence[Image]:
    """Visible images, newest first, filtered as the proxy filters. Raises BadRequest."""
    stmt = sa.select(Image).order_by(Image.created_at.desc(), Image.id.desc())
    if "name" in filters:
        stmt = stmt.where(Image.name == filters["name"])
    if "status" in filters:
        wanted = [g for g, (shown, _) in STATUS.items() if shown == filters["status"].upper()]
        stmt = stmt.where(Image.status.in_(wanted))
    for key, column in (("minRam", Image.min_ram), ("minDisk", Image.min_disk)):
        if key in filters:
            try:
                stmt = stmt.where(column >= int(filters[key]))
            except ValueError:
                raise BadRequest(f"Invalid {key} filter: {filters[key]}") from None
    rows = [i for i in session.scalars(stmt).all()
            if visible_to(i.visibility, i.owner, ctx.project_id, ctx.is_admin)]
    # A server filter may be the server's URL: its last segment is the uuid.
    wanted_props = {"instance_uuid": filters["server"].rsplit("/", 1)[-1]} \
        if "server" in filters else {}
    if "type" in filters:
        wanted_props["image_type"] = filters["type"]
    wanted_props.update({k.removeprefix("property-"): v for k, v in filters.items()
                         if k.startswith("property-")})
    rows = [i for i in rows
            if all((i.properties or {}).get(k) == v for k, v in wanted_props.items())]
    if marker is not None:
        ids = [str(i.id) for i in rows]
        if marker not in ids:
            raise BadRequest(f"marker [{marker}] not found")
        rows = rows[ids.index(marker) + 1:]
    return rows[:limit] if limit is not None else rows


def view(image: Image, base: str, glance: str, detail: bool) -> dict[str, Any]:
    """The proxy's shape of one image: brief (id, name, links) or detailed."""
    iid = str(image.id)
    out: dict[str, Any] = {"id": iid, "name": image.name, "links": [
        {"rel": "self", "href": f"{base}/v2.1/images/{iid}"},
        {"rel": "bookmark", "href": f"{base}/images/{iid}"},
        {"rel": "alternate", "type": "application/vnd.openstack.image",
         "href": f"{glance}/images/{iid}"}]}
    if not detail:
        return out
    status, progress = STATUS.get(image.status, ("UNKNOWN", 0))
    metadata = {k: v for k, v in (image.properties or {}).items() if isinstance(v, str)}
    out.update({"status": status, "progress": progress, "minRam": image.min_ram,
                "minDisk": image.min_disk, "created": _stamp(image.created_at),
                "updated": _stamp(image.updated_at), "metadata": metadata,
                "OS-EXT-IMG-SIZE:size": image.size})
    server = metadata.get("instance_uuid")
    if server:
        out["server"] = {"id": server, "links": [
            {"rel": "self", "href": f"{base}/v2.1/servers/{server}"},
            {"rel": "bookmark", "href": f"{base}/servers/{server}"}]}
    return out


def _owned(ctx: RequestContext, image: Image) -> None:
    if not ctx.is_admin and image.owner != ctx.project_id:
        raise Forbidden("You are not allowed to modify this image.")


def delete(session: Session, ctx: RequestContext, image: Image) -> None:
    """Delete an image the caller owns (its data file goes with the image API's store)."""
    _owned(ctx, image)
    if image.protected:
        raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
    session.delete(image)
    session.flush()


def set_metadata(ctx: RequestContext, image: Image, items: dict[str, Any],
                 replace: bool) -> dict[str, str]:
    """Merge (or, with ``replace``, set) the image's metadata. Raises BadRequest,
    Forbidden."""
    _owned(ctx, image)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in items.items()):
        raise BadRequest("Image metadata keys and values must be strings.")
    current = {} if replace else {k: v for k, v in (image.properties or {}).items()}
    current.update(items)
    if len(current) > METADATA_LIMIT:
        raise Forbidden("Quota exceeded for metadata items.")
    image.properties = current
    return {k: v for k, v in current.items() if isinstance(v, str)}


def delete_metadata(ctx: RequestContext, image: Image, key: str) -> None:
    _owned(ctx, image)
    props = dict(image.properties or {})
    if key not in props:
        raise NotFound("Image metadata not found.")
    del props[key]
    image.properties = props
