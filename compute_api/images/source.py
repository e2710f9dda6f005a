"""Where the compute API looks images up: its own image table, or an external Glance.

``[images] backend = glance`` resolves ``imageRef`` with ``GET /v2/images/{id}`` on
``[images] glance_url``, sending the caller's own token, so Glance decides what the
caller may see (as Nova does).
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from sqlalchemy.orm import Session

from common.compute_db.models import Image
from common.errors import ConfigError, ServiceUnavailable
from common.settings import Settings

LOG = logging.getLogger(__name__)

# The token of the request being served: the glance backend acts as the caller.
caller_token: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "caller_token", default=None)


def callers_token() -> str:
    """The token of the request being served ("" outside one): an external service
    (Glance, Neutron) is asked as the caller, so it decides what the caller may see."""
    return caller_token.get() or ""

GLANCE_CORE = {"id", "name", "status", "visibility", "protected", "checksum", "os_hash_algo",
               "os_hash_value", "size", "virtual_size", "disk_format", "container_format",
               "min_disk", "min_ram", "owner", "created_at", "updated_at", "tags", "self",
               "file", "schema", "os_hidden", "locations", "direct_url", "stores"}


@dataclass(frozen=True)
class ImageRecord:
    """What the compute API needs of an image, wherever it is kept."""

    id: uuid.UUID
    status: str
    min_ram: int = 0
    min_disk: int = 0
    disk_format: str | None = None
    container_format: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def visible_to(visibility: str, owner: str | None, project_id: str | None,
               is_admin: bool) -> bool:
    """Glance's visibility rule: public and community images are everyone's; private and
    shared ones (this image API has no member lists) only their owner's and admins'."""
    return is_admin or visibility in ("public", "community") or (
        owner is not None and owner == project_id)


class ImageLookup(Protocol):
    def get(self, session: Session, image_id: uuid.UUID, project_id: str | None,
            is_admin: bool) -> ImageRecord | None:
        """The image, or None if it does not exist or the caller may not see it."""
        ...

    def close(self) -> None:
        ...


class LocalImages:
    """The built-in image API's table in the compute database."""

    def get(self, session: Session, image_id: uuid.UUID, project_id: str | None,
            is_admin: bool) -> ImageRecord | None:
        image = session.get(Image, image_id)
        if image is None or not visible_to(image.visibility, image.owner, project_id,
                                           is_admin):
            return None
        return ImageRecord(id=image.id, status=image.status, min_ram=image.min_ram,
                           min_disk=image.min_disk, disk_format=image.disk_format,
                           container_format=image.container_format,
                           properties=dict(image.properties or {}))

    def close(self) -> None:
        pass


class GlanceImages:
    """An external Glance v2, asked with the caller's token."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(timeout=timeout)

    def get(self, session: Session, image_id: uuid.UUID, project_id: str | None,
            is_admin: bool) -> ImageRecord | None:
        # Glance applies its own visibility rules to the caller's token.
        token = caller_token.get()
        headers = {"X-Auth-Token": token} if token else {}
        try:
            resp = self._http.get(f"{self.url}/v2/images/{image_id}", headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"image service at {self.url} unreachable: {exc}"
                                     ) from exc
        if resp.status_code in (403, 404):
            return None
        if resp.status_code != 200:
            LOG.error("Glance answered %s for image %s: %s", resp.status_code, image_id,
                      resp.text[:200])
            raise ServiceUnavailable(f"image service answered {resp.status_code}")
        doc: dict[str, Any] = resp.json()
        return ImageRecord(
            id=uuid.UUID(str(doc["id"])), status=str(doc.get("status")),
            min_ram=int(doc.get("min_ram") or 0), min_disk=int(doc.get("min_disk") or 0),
            disk_format=doc.get("disk_format"), container_format=doc.get("container_format"),
            properties={k: v for k, v in doc.items() if k not in GLANCE_CORE},
        )

    def close(self) -> None:
        self._http.close()


def image_lookup(settings: Settings) -> ImageLookup:
    """The lookup ``[images] backend`` names. Raises ConfigError."""
    if settings.images.backend == "glance":
        if not settings.images.glance_url:
            raise ConfigError("[images] backend = glance needs [images] glance_url")
        return GlanceImages(settings.images.glance_url)
    return LocalImages()
