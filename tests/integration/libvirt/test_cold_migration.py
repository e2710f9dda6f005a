"""Cold migration of a real guest between two libvirtd on this machine.

The root disk travels through an image store (the image API in a cloud, a directory
here); the destination daemon is scripts/libvirt/second_libvirtd.sh, as for live
migration.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.messages import FlavorPayload, InstancePayload
from common.settings import load_settings
from common.states import PowerState
from compute_agent.virt.libvirt import LibvirtDriver
from tests.integration.libvirt.guest import READY_MARKER
from tests.integration.libvirt.test_live_migration import (
    DEST_PATH,
    SOURCE_PATH,
    FileImages,
    booted,
)
from tests.integration.libvirt.test_live_migration import dest_uri as dest_uri


class DirTransfer:
    """Images as files in a directory: what the image API does for two real hosts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []

    def create(self, fields: dict[str, object]) -> str:
        image_id = str(uuid.uuid4())
        self.created.append(image_id)
        return image_id

    def upload(self, image_id: str, src: Path) -> None:
        (self.root / image_id).write_bytes(src.read_bytes())

    def download(self, image_id: str, dest: Path) -> None:
        dest.write_bytes((self.root / image_id).read_bytes())

    def delete(self, image_id: str) -> None:
        (self.root / image_id).unlink(missing_ok=True)


@pytest.fixture
def hosts(dest_uri: str, tmp_path: Path
          ) -> Iterator[tuple[LibvirtDriver, LibvirtDriver, DirTransfer]]:
    transfer = DirTransfer(tmp_path)
    src = LibvirtDriver(load_settings(data_dir=tmp_path / "a", libvirt={
        "virt_type": "qemu", "instances_path": str(SOURCE_PATH), "shutdown_timeout": 0}),
        images=FileImages(), hostname="src", transfer=transfer)
    dst = LibvirtDriver(load_settings(data_dir=tmp_path / "b", libvirt={
        "uri": dest_uri, "virt_type": "qemu", "instances_path": str(DEST_PATH)}),
        images=FileImages(), hostname="dst", transfer=transfer)
    try:
        yield src, dst, transfer
    finally:
        for drv in (src, dst):
            for guest in drv.list_guests():
                drv.destroy(guest)
            drv.close()


BIGGER = FlavorPayload(flavorid="g", name="g", vcpus=2, memory_mb=192, root_gb=2)


def wait_ready(drv: LibvirtDriver, inst: InstancePayload, count: int = 1) -> None:
    deadline = time.monotonic() + 90
    while drv.console_output(inst.uuid).count(READY_MARKER) < count:
        assert time.monotonic() < deadline, drv.console_output(inst.uuid)
        time.sleep(0.5)


def test_guest_moves_stopped_with_its_root_disk_and_the_source_keeps_it_for_a_revert(
        hosts: tuple[LibvirtDriver, LibvirtDriver, DirTransfer]) -> None:
    src, dst, transfer = hosts
    inst = booted(src)

    info = src.migrate_disk_and_power_off(inst, "dst")
    assert src.list_guests() == {inst.uuid: PowerState.SHUTDOWN}  # kept, stopped
    assert dst.finish_migration(inst, BIGGER, True, info) == PowerState.RUNNING
    assert dst.list_guests() == {inst.uuid: PowerState.RUNNING}
    wait_ready(dst, inst)
    dom = dst.conn.call(lambda c: c.lookupByUUIDString(str(inst.uuid)))
    assert dom.maxMemory() == 192 * 1024
    assert not list(transfer.root.glob(transfer.created[0]))  # the copy was dropped

    # Revert: the destination's guest goes, the source's starts again.
    dst.destroy(inst.uuid)
    assert inst.uuid not in dst.list_guests()
    assert src.finish_revert_migration(inst, True) == PowerState.RUNNING
    wait_ready(src, inst, count=2)
