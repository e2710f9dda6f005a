"""LibvirtDriver's actions on a guest that stays on its host, on test:///default."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from common.errors import Conflict, DriverError
from common.states import PowerState
from compute_agent.virt.libvirt import LibvirtDriver, disks
from tests.functional.libvirt.conftest import ROOT_IMAGE, LocalImages, make_instance

OTHER_IMAGE = "other-root-image"


@pytest.fixture
def two_images(images: LocalImages) -> LocalImages:
    images.records[OTHER_IMAGE] = {**images.records[ROOT_IMAGE], "id": OTHER_IMAGE}
    return images


def disk_files(driver: LibvirtDriver, instance_uuid: object) -> list[str]:
    dom = driver.conn.get().lookupByUUIDString(str(instance_uuid))
    tree = ET.fromstring(dom.XMLDesc(0))
    return [Path(s.get("file", "")).name
            for s in tree.findall("./devices/disk[@device='disk']/source")]


def backing_of(path: Path) -> str:
    info = json.loads(disks.qemu_img("info", "--output=json", str(path)))
    return str(info.get("backing-filename", ""))


def test_rebuild_lays_out_a_fresh_root_disk_from_the_new_image(
        driver: LibvirtDriver, two_images: LocalImages) -> None:
    inst = make_instance(ephemeral_gb=1)
    driver.spawn(inst)
    root = driver.instance_dir(inst.uuid) / "disk"
    old_backing = backing_of(root)
    rebuilt = inst.model_copy(update={"image_ref": OTHER_IMAGE})

    assert driver.rebuild(rebuilt, None, preserve_ephemeral=False) == PowerState.RUNNING

    assert OTHER_IMAGE in two_images.downloads
    assert backing_of(root) != old_backing
    assert driver.list_guests() == {inst.uuid: PowerState.RUNNING}


def test_rebuild_keeps_the_ephemeral_disk_only_when_asked(driver: LibvirtDriver) -> None:
    inst = make_instance(ephemeral_gb=1)
    driver.spawn(inst)
    eph = driver.instance_dir(inst.uuid) / "disk.eph0"
    # A file the rebuild keeps keeps this old stamp; a new one is stamped now (inode
    # numbers cannot tell: a new file may get the old one's).
    marked = 1_000_000_000
    os.utime(eph, (marked, marked))
    driver.rebuild(inst, None, preserve_ephemeral=True)
    assert eph.stat().st_mtime == marked
    driver.rebuild(inst, None, preserve_ephemeral=False)
    assert eph.exists() and eph.stat().st_mtime > marked


def test_rebuild_makes_a_guest_that_was_lost(driver: LibvirtDriver) -> None:
    inst = make_instance()
    assert driver.rebuild(inst, None, preserve_ephemeral=False) == PowerState.RUNNING
    assert inst.uuid in driver.list_guests()


def test_a_failed_rebuild_leaves_nothing_behind(driver: LibvirtDriver) -> None:
    inst = make_instance()
    driver.spawn(inst)
    with pytest.raises(DriverError):
        driver.rebuild(inst.model_copy(update={"image_ref": "no-such-image"}), None, False)
    assert inst.uuid not in driver.list_guests()
    assert not driver.instance_dir(inst.uuid).exists()


def test_rescue_boots_the_rescue_disk_first_and_unrescue_restores_the_guest(
        driver: LibvirtDriver, two_images: LocalImages) -> None:
    inst = make_instance()
    driver.spawn(inst)
    inst_dir = driver.instance_dir(inst.uuid)

    assert driver.rescue(inst, OTHER_IMAGE, "pw") == PowerState.RUNNING
    assert disk_files(driver, inst.uuid) == ["disk.rescue", "disk"]
    assert (inst_dir / "unrescue.xml").exists()
    assert OTHER_IMAGE in two_images.downloads

    assert driver.unrescue(inst) == PowerState.RUNNING
    assert disk_files(driver, inst.uuid) == ["disk"]
    assert not (inst_dir / "unrescue.xml").exists()
    assert not (inst_dir / "disk.rescue").exists()
    with pytest.raises(DriverError):
        driver.unrescue(inst)


def test_a_rescue_that_cannot_boot_gives_the_guest_back(driver: LibvirtDriver) -> None:
    inst = make_instance()
    driver.spawn(inst)
    with pytest.raises(DriverError, match=r"rescue of .* failed"):
        driver.rescue(inst, "no-such-image", None)
    assert disk_files(driver, inst.uuid) == ["disk"]
    assert driver.list_guests() == {inst.uuid: PowerState.RUNNING}


def test_a_password_needs_the_guest_agent(driver: LibvirtDriver) -> None:
    inst = make_instance()
    driver.spawn(inst)
    with pytest.raises(Conflict, match="QEMU guest agent is not enabled"):
        driver.set_admin_password(inst, "pw")


def test_diagnostics_carry_the_guests_figures(driver: LibvirtDriver) -> None:
    inst = make_instance(memory_mb=64, vcpus=1)
    driver.spawn(inst)
    diags = driver.diagnostics(inst)
    assert (diags.state, diags.driver, diags.hypervisor) == ("running", "libvirt", "qemu")
    assert diags.memory_details.maximum == 64
    assert len(diags.cpu_details) == 1
    assert len(diags.disk_details) == 1
    assert diags.config_drive is True
    driver.power_off(inst.uuid, 0)
    stopped = driver.diagnostics(inst)
    assert (stopped.state, stopped.cpu_details, stopped.uptime) == ("shutdown", [], None)
