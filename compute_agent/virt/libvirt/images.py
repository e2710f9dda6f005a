"""Base images fetched once from the image API into a local cache.

The HTTP client itself is ``compute_agent.images.HttpImageSource`` (also used to upload
snapshots); it is re-exported here.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Protocol

from compute_agent.images import HttpImageSource

__all__ = ["HttpImageSource", "ImageCache", "ImageSource"]


class ImageSource(Protocol):
    def metadata(self, image_id: str) -> dict[str, Any]:
        """The image record (Glance v2 shape). Raises NotFound, DriverError."""
        ...

    def download(self, image_id: str, dest: Path) -> None:
        """Write the image's data to ``dest``. Raises DriverError."""
        ...


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
