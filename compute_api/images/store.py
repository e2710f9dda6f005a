"""Image data on the local filesystem under the data directory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterable
from pathlib import Path

from common.compute_db.models import Image
from common.context import RequestContext
from common.db import transaction, utcnow
from common.errors import Conflict, NotFound, PayloadTooLarge
from common.states import ImageStatus
from compute_api.runtime import Runtime


class ImageStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "images"

    def path(self, image_id: uuid.UUID) -> Path:
        return self.root / str(image_id)

    def delete(self, image_id: uuid.UUID) -> None:
        self.path(image_id).unlink(missing_ok=True)


def _begin_upload(runtime: Runtime, ctx: RequestContext, image_id: str) -> uuid.UUID:
    with transaction(runtime.sessions) as session:
        try:
            image = session.get(Image, uuid.UUID(image_id))
        except ValueError:
            image = None
        # Compute agents (service role) upload the snapshots of every project's servers.
        if image is None or (image.owner != ctx.project_id and not ctx.is_admin
                             and "service" not in ctx.roles):
            raise NotFound(f"No image found with ID {image_id}")
        if image.status != ImageStatus.QUEUED:
            raise Conflict(f"Image status transition from {image.status} to saving is not "
                           "allowed")
        image.status = ImageStatus.SAVING
        return image.id


def _end_upload(runtime: Runtime, image_id: uuid.UUID, size: int | None,
                md5: str | None, sha512: str | None) -> None:
    with transaction(runtime.sessions) as session:
        image = session.get(Image, image_id)
        if image is None:
            return
        if size is None:
            image.status = ImageStatus.QUEUED
            return
        image.size, image.checksum = size, md5
        image.os_hash_algo, image.os_hash_value = "sha512", sha512
        image.status, image.updated_at = ImageStatus.ACTIVE, utcnow()


def _too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The incoming image is too large: over the {cap} bytes "
                           "this cloud accepts.")


async def receive(chunks: AsyncIterable[bytes], runtime: Runtime, ctx: RequestContext,
                  image_id: str, declared: str = "") -> None:
    """Stream the request body into the store, then mark the image active. Raises
    NotFound, Conflict, PayloadTooLarge (nothing kept, the image queued again)."""
    iid = await asyncio.to_thread(_begin_upload, runtime, ctx, image_id)
    store = ImageStore(runtime.settings.data_dir)
    store.root.mkdir(parents=True, exist_ok=True)
    partial = store.path(iid).with_suffix(".part")
    md5, sha, size = hashlib.md5(usedforsecurity=False), hashlib.sha512(), 0
    cap = runtime.settings.images.size_cap
    try:
        # The Content-Length, when the client sent one: refused before reading.
        if declared.isdecimal() and int(declared) > cap:
            raise _too_large(cap)
        with partial.open("wb") as fh:
            async for chunk in chunks:
                size += len(chunk)
                if size > cap:
                    raise _too_large(cap)
                fh.write(chunk)
                md5.update(chunk)
                sha.update(chunk)
        os.replace(partial, store.path(iid))
    except BaseException:
        partial.unlink(missing_ok=True)
        await asyncio.to_thread(_end_upload, runtime, iid, None, None, None)
        raise
    await asyncio.to_thread(_end_upload, runtime, iid, size, md5.hexdigest(), sha.hexdigest())
