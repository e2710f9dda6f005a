"""Base images fetched once from the image API into a local cache."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Protocol

import httpx

from common.errors import DriverError, NotFound


class ImageSource(Protocol):
    def metadata(self, image_id: str) -> dict[str, Any]:
        """The image record (Glance v2 shape). Raises NotFound, DriverError."""
        ...

    def download(self, image_id: str, dest: Path) -> None:
        """Write the image's data to ``dest``. Raises DriverError."""
        ...


class HttpImageSource:
    """The Glance v2 compatible image API (the built-in one or a real Glance)."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"X-Auth-Token": token}
        self._timeout = timeout

    def metadata(self, image_id: str) -> dict[str, Any]:
        try:
            resp = httpx.get(f"{self._base}/v2/images/{image_id}", headers=self._headers,
                             timeout=self._timeout)
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
            with httpx.stream("GET", url, headers=self._headers, timeout=self._timeout) as resp:
                if resp.status_code != 200:
                    raise DriverError(f"image {image_id} data: image API answered "
                                      f"{resp.status_code}")
                with dest.open("wb") as fh:
                    for chunk in resp.iter_bytes(1 << 20):
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise DriverError(f"downloading image {image_id} failed: {exc}") from exc


class ImageCache:
    """One file per image under ``path``, downloaded by the first spawn that needs it."""

    def __init__(self, path: Path, source: ImageSource) -> None:
        self.path = path
        self.source = source
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def _lock(self, image_id: str) -> threading.Lock:
        with self._guard:
            return self._locks[image_id]

    def metadata(self, image_id: str) -> dict[str, Any]:
        return self.source.metadata(image_id)

    def fetch(self, image_id: str) -> Path:
        """The cached file of ``image_id``, downloading it if needed. Raises DriverError."""
        # A hash keeps odd ids from escaping the cache directory.
        name = hashlib.sha1(image_id.encode()).hexdigest()
        target = self.path / name
        with self._lock(image_id):
            if target.exists():
                return target
            self.path.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(f".part{os.getpid()}")
            try:
                self.source.download(image_id, partial)
                partial.rename(target)
            finally:
                partial.unlink(missing_ok=True)
        return target
