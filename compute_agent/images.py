"""The image API (Glance v2 compatible: the built-in one or a real Glance) as agents use
it: image records, downloads for spawns, uploads of snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx

from common.agent_auth import agent_client_auth
from common.auth import ClientAuth
from common.errors import DriverError, NotFound
from common.settings import Settings

CHUNK = 1 << 20


def image_api_url(settings: Settings) -> str:
    """``[libvirt] image_url``, else ``[images] glance_url`` with the glance backend, else
    the image API beside this cloud's compute API."""
    if settings.libvirt.image_url:
        return settings.libvirt.image_url
    if settings.images.backend == "glance" and settings.images.glance_url:
        return settings.images.glance_url.rstrip("/")
    api_host = "127.0.0.1" if settings.api.host in ("", "0.0.0.0") else settings.api.host
    return f"http://{api_host}:{settings.api.port}/image"


def image_api_auth(settings: Settings) -> ClientAuth:
    """``[libvirt] image_token`` if set, else the agent's own credential."""
    if settings.libvirt.image_token:
        return {"token": settings.libvirt.image_token, "auth": None}
    return agent_client_auth(settings)


class ImageUploader(Protocol):
    def upload(self, image_id: str, src: Path) -> None:
        """Store ``src`` as the data of the queued image ``image_id``. Raises DriverError."""
        ...


class ImageTransfer(Protocol):
    """What a cold migration needs to carry a disk from one host to another."""

    def create(self, fields: dict[str, Any]) -> str:
        """A new queued image record; its id. Raises DriverError."""
        ...

    def upload(self, image_id: str, src: Path) -> None: ...

    def download(self, image_id: str, dest: Path) -> None: ...

    def delete(self, image_id: str) -> None:
        """Remove the image (absent is fine). Raises DriverError."""
        ...


class HttpImageSource:
    """Reads and writes images through the image API's HTTP interface."""

    def __init__(self, base_url: str, token: str = "", timeout: float = 60.0,
                 auth: httpx.Auth | None = None) -> None:
        # ``auth`` (the agent's own credential, renewed as it expires) replaces ``token``.
        self._base = base_url.rstrip("/")
        self._headers = {"X-Auth-Token": token} if token else {}
        self._timeout = timeout
        self._auth = auth

    def metadata(self, image_id: str) -> dict[str, Any]:
        try:
            resp = httpx.get(f"{self._base}/v2/images/{image_id}", headers=self._headers,
                             timeout=self._timeout, auth=self._auth)
        except httpx.HTTPError as exc:
            raise DriverError(f"image API at {self._base} unreachable: {exc}") from exc
        if resp.status_code == 404:
            raise NotFound(f"image {image_id} not found")
        if resp.status_code != 200:
            raise DriverError(f"image {image_id}: image API answered {resp.status_code}")
        data: dict[str, Any] = resp.json()
        return data

    def download(self, image_id: str, dest: Path) -> None:
        url = f"{self._base}/v2/images/{image_id}/file"
        try:
            with httpx.stream("GET", url, headers=self._headers, timeout=self._timeout,
                              auth=self._auth) as resp:
                if resp.status_code != 200:
                    raise DriverError(f"image {image_id} data: image API answered "
                                      f"{resp.status_code}")
                with dest.open("wb") as fh:
                    for chunk in resp.iter_bytes(CHUNK):
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise DriverError(f"downloading image {image_id} failed: {exc}") from exc

    def upload(self, image_id: str, src: Path) -> None:
        """Stream ``src`` to the image (queued → saving → active on the API's side)."""

        def chunks() -> Iterator[bytes]:
            with src.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk

        url = f"{self._base}/v2/images/{image_id}/file"
        headers = {**self._headers, "Content-Type": "application/octet-stream"}
        try:
            resp = httpx.put(url, content=chunks(), headers=headers, timeout=self._timeout,
                             auth=self._auth)
        except httpx.HTTPError as exc:
            raise DriverError(f"uploading image {image_id} failed: {exc}") from exc
        if resp.status_code not in (200, 204):
            raise DriverError(f"uploading image {image_id}: image API answered "
                              f"{resp.status_code} {resp.text[:200]}")

    def create(self, fields: dict[str, Any]) -> str:
        try:
            resp = httpx.post(f"{self._base}/v2/images", json=fields, headers=self._headers,
                              timeout=self._timeout, auth=self._auth)
        except httpx.HTTPError as exc:
            raise DriverError(f"image API at {self._base} unreachable: {exc}") from exc
        if resp.status_code != 201:
            raise DriverError(f"creating an image: image API answered {resp.status_code} "
                              f"{resp.text[:200]}")
        return str(resp.json()["id"])

    def delete(self, image_id: str) -> None:
        try:
            resp = httpx.delete(f"{self._base}/v2/images/{image_id}", headers=self._headers,
                                timeout=self._timeout, auth=self._auth)
        except httpx.HTTPError as exc:
            raise DriverError(f"image API at {self._base} unreachable: {exc}") from exc
        if resp.status_code not in (204, 404):
            raise DriverError(f"deleting image {image_id}: image API answered "
                              f"{resp.status_code}")
