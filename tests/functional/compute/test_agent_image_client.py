"""The agents' image API client: what snapshots and cold migrations send through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.embedded import EmbeddedCloud
from common.errors import NotFound
from compute_agent.images import HttpImageSource


def test_an_image_is_created_uploaded_read_back_and_deleted(shared_cloud: EmbeddedCloud,
                                                            tmp_path: Path) -> None:
    images = HttpImageSource(shared_cloud.image_url, "admin:admin")
    image_id = images.create({"name": "carried disk", "disk_format": "qcow2",
                              "container_format": "bare", "visibility": "private",
                              "kilonova_migration_of": "some-server"})
    assert images.metadata(image_id)["status"] == "queued"
    src = tmp_path / "disk"
    src.write_bytes(b"qcow2 bytes " * 300_000)  # several upload chunks
    images.upload(image_id, src)
    meta = images.metadata(image_id)
    assert (meta["status"], meta["size"]) == ("active", src.stat().st_size)
    images.download(image_id, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == src.read_bytes()
    images.delete(image_id)
    images.delete(image_id)  # already gone: fine
    with pytest.raises(NotFound):
        images.metadata(image_id)
