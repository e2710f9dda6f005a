"""LibvirtDriver against libvirt's test:///default driver."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import libvirt
import pytest

from common.errors import DriverError, NotFound
from common.settings import Settings
from common.states import PowerState
from compute_agent.virt.libvirt import LibvirtDriver
from tests.functional.libvirt.conftest import KERNEL, ROOT_IMAGE, LocalImages, make_instance


def test_spawn_lays_out_files_and_runs_the_guest(driver: LibvirtDriver) -> None:
    inst = make_instance(ephemeral_gb=1, swap=32)

    assert driver.spawn(inst) == PowerState.RUNNING

    assert driver.list_guests() == {inst.uuid: PowerState.RUNNING}
    files = {p.name for p in driver.instance_dir(inst.uuid).iterdir()}
    assert files == {"disk", "disk.eph0", "disk.swap", "disk.config"}
    dom = driver.conn.get().lookupByUUIDString(str(inst.uuid))
    assert dom.info()[1] == 64 * 1024  # flavor RAM in KiB


def test_images_are_downloaded_once_and_used_as_backing_files(
    driver: LibvirtDriver, images: LocalImages
) -> None:
    from compute_agent.virt.libvirt import disks

    first, second = make_instance(), make_instance()
    driver.spawn(first)
    driver.spawn(second)

    assert sorted(images.downloads) == sorted([ROOT_IMAGE, KERNEL, "ramdisk-image"])
    info = disks.qemu_img("info", "--output=json", str(driver.instance_dir(first.uuid) / "disk"))
    assert '"backing-filename-format": "raw"' in info
    assert disks.virtual_size(driver.instance_dir(first.uuid) / "disk", "qcow2") == 1 << 30


def test_destroy_removes_guest_and_every_file(driver: LibvirtDriver) -> None:
    inst = make_instance()
    driver.spawn(inst)

    driver.destroy(inst.uuid)
    driver.destroy(inst.uuid)  # twice is harmless

    assert inst.uuid not in driver.list_guests()
    assert not driver.instance_dir(inst.uuid).exists()


def test_failed_spawn_cleans_up_after_itself(driver: LibvirtDriver) -> None:
    inst = make_instance(image_ref="no-such-image")

    with pytest.raises(DriverError, match="no-such-image"):
        driver.spawn(inst)

    assert inst.uuid not in driver.list_guests()
    assert not driver.instance_dir(inst.uuid).exists()


def test_libvirt_errors_become_driver_errors_with_libvirt_message(
    driver: LibvirtDriver
) -> None:
    inst = make_instance()
    # Another guest already holds the name this instance's guest needs.
    squatter = driver.conn.get().defineXML(
        f"<domain type='test'><name>instance-{inst.uuid}</name><uuid>{uuid.uuid4()}</uuid>"
        "<memory>65536</memory><os><type>hvm</type></os></domain>")

    try:
        with pytest.raises(DriverError) as caught:
            driver.spawn(inst)
    finally:
        squatter.undefine()

    assert "starting guest" in caught.value.message
    assert "already" in caught.value.message  # libvirt's own words
    assert not driver.instance_dir(inst.uuid).exists()


def test_power_operations_report_the_new_power_state(driver: LibvirtDriver) -> None:
    inst = make_instance()
    driver.spawn(inst)
    u = inst.uuid

    assert driver.pause(u) == PowerState.PAUSED
    assert driver.unpause(u) == PowerState.RUNNING
    assert driver.suspend(u) == PowerState.SUSPENDED
    assert driver.list_guests()[u] == PowerState.SUSPENDED
    assert driver.resume(u) == PowerState.RUNNING
    assert driver.power_off(u, timeout=0) == PowerState.SHUTDOWN
    assert driver.power_on(u) == PowerState.RUNNING
    assert driver.reboot(u, hard=True) == PowerState.RUNNING
    assert driver.reboot(u) == PowerState.RUNNING


def test_graceful_power_off_within_timeout(driver: LibvirtDriver) -> None:
    inst = make_instance()
    driver.spawn(inst)

    started = time.monotonic()
    assert driver.power_off(inst.uuid, timeout=5) == PowerState.SHUTDOWN
    # The test driver shuts down at once: no wait for the timeout.
    assert time.monotonic() - started < 2


def test_operations_on_unknown_guest_raise_not_found(driver: LibvirtDriver) -> None:
    with pytest.raises(NotFound):
        driver.power_on(uuid.uuid4())
    with pytest.raises(NotFound):
        driver.console_output(uuid.uuid4())


def test_console_output_returns_the_last_lines_of_the_log(driver: LibvirtDriver) -> None:
    inst = make_instance()
    driver.spawn(inst)
    log = driver.instance_dir(inst.uuid) / "console.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))

    assert driver.console_output(inst.uuid, 2) == "line 98\nline 99\n"
    assert driver.console_output(inst.uuid).count("\n") == 100


def test_snapshot_writes_a_standalone_qcow2(driver: LibvirtDriver, tmp_path: Path) -> None:
    from compute_agent.virt.libvirt import disks

    inst = make_instance()
    driver.spawn(inst)
    dest = tmp_path / "snap.qcow2"

    driver.snapshot(inst.uuid, dest)

    info = disks.qemu_img("info", "--output=json", str(dest))
    assert "backing-filename" not in info
    assert driver.list_guests()[inst.uuid] == PowerState.RUNNING


def test_lifecycle_events_reach_the_handler_promptly(driver: LibvirtDriver) -> None:
    inst = make_instance()
    seen: list[tuple[uuid.UUID, int]] = []
    got = threading.Event()

    def handler(guest: uuid.UUID, state: int) -> None:
        seen.append((guest, state))
        if state == PowerState.PAUSED:
            got.set()

    driver.set_power_event_handler(handler)
    driver.spawn(inst)
    driver.pause(inst.uuid)

    assert got.wait(5), f"no paused event, saw {seen}"
    assert (inst.uuid, PowerState.PAUSED) in seen


def test_lost_connection_is_reopened_and_guests_readopted(driver: LibvirtDriver) -> None:
    inst = make_instance()
    driver.spawn(inst)
    readopted = threading.Event()
    driver.set_power_event_handler(lambda guest, state: readopted.set())
    readopted.clear()

    driver.conn.get().close()  # what a libvirtd restart does to a client

    assert driver.list_guests() == {inst.uuid: PowerState.RUNNING}
    assert readopted.wait(5)


def test_node_report_and_traits_come_from_the_host(driver: LibvirtDriver) -> None:
    report = driver.node_report()

    assert (report.vcpus, report.memory_mb) == (16, 3072)  # test:///default's host
    assert report.hypervisor_type == "test"
    assert "COMPUTE_NODE" in driver.node_traits()


def test_live_migration_failure_leaves_the_guest_on_the_source(
    driver: LibvirtDriver
) -> None:
    inst = make_instance()
    driver.spawn(inst)

    with pytest.raises(DriverError, match="live migration"):
        driver.live_migrate(inst.uuid, "nowhere.invalid", timeout=5)

    assert driver.list_guests() == {inst.uuid: PowerState.RUNNING}


def test_unreachable_hypervisor_is_reported_as_unavailable(tmp_path: Path) -> None:
    from common.errors import ServiceUnavailable
    from common.settings import load_settings

    settings = load_settings(data_dir=tmp_path, libvirt={
        "uri": f"qemu+unix:///system?socket={tmp_path}/nothing", "virt_type": "qemu"})
    drv = LibvirtDriver(settings, images=LocalImages())
    drv.conn._retry_seconds = 0.5

    with pytest.raises(ServiceUnavailable, match="cannot connect"):
        drv.list_guests()
    assert libvirt.VIR_ERR_NO_DOMAIN  # the binding is importable


def test_agents_sharing_a_libvirtd_see_only_their_own_guests(
    driver: LibvirtDriver, settings: Settings, images: LocalImages
) -> None:
    other = LibvirtDriver(settings, images=images, hostname="other-host")
    inst = make_instance()
    driver.spawn(inst)

    assert inst.uuid not in other.list_guests()
    assert inst.uuid in driver.list_guests()
