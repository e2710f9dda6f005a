"""A LibvirtDriver on libvirt's ``test:///default`` driver (no daemon, state per process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.messages import FlavorPayload, InstancePayload
from common.settings import Settings, load_settings
from compute_agent.virt.libvirt import LibvirtDriver

ROOT_IMAGE = "root-image"
KERNEL = "kernel-image"
RAMDISK = "ramdisk-image"


class LocalImages:
    """An image source serving three tiny images from memory, counting downloads."""

    def __init__(self) -> None:
        self.downloads: list[str] = []
        self.records: dict[str, dict[str, Any]] = {
            ROOT_IMAGE: {"id": ROOT_IMAGE, "disk_format": "raw", "kernel_id": KERNEL,
                         "ramdisk_id": RAMDISK, "hw_disk_bus": "virtio"},
            KERNEL: {"id": KERNEL, "disk_format": "aki"},
            RAMDISK: {"id": RAMDISK, "disk_format": "ari"},
        }

    def metadata(self, image_id: str) -> dict[str, Any]:
        from common.errors import NotFound

        if image_id not in self.records:
            raise NotFound(f"image {image_id} not found")
        return self.records[image_id]

    def download(self, image_id: str, dest: Path) -> None:
        self.downloads.append(image_id)
        dest.write_bytes(b"\0" * (1 << 20) if image_id == ROOT_IMAGE else b"blob")


def make_instance(image_ref: str = ROOT_IMAGE, **flavor: int) -> InstancePayload:
    sizes = {"vcpus": 1, "memory_mb": 64, "root_gb": 1, **flavor}
    return InstancePayload(
        uuid=uuid.uuid4(), display_name="vm", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", **sizes), image_ref=image_ref,
        vm_state="building", task_state="spawning", power_state=0, host="h", node="h")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path, compute={"host": "h"},
                         libvirt={"uri": "test:///default", "virt_type": "qemu",
                                  "shutdown_timeout": 1.0})


@pytest.fixture
def images() -> LocalImages:
    return LocalImages()


@pytest.fixture
def driver(settings: Settings, images: LocalImages) -> Iterator[LibvirtDriver]:
    drv = LibvirtDriver(settings, images=images)
    try:
        yield drv
    finally:
        for guest in list(drv.list_guests()):
            drv.destroy(guest)
        drv.close()
