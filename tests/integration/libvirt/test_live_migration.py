"""Live migration of a real guest between two libvirtd on this machine.

The destination daemon (scripts/libvirt/second_libvirtd.sh) runs in its own mount
namespace where the source's instances path shows the destination's files.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.errors import DriverError
from common.messages import FlavorPayload, InstancePayload
from common.settings import load_settings
from common.states import PowerState
from compute_agent.virt.libvirt import LibvirtDriver
from tests.integration.libvirt.guest import IMAGE_DIR, READY_MARKER

SCRIPT = Path(__file__).resolve().parents[3] / "scripts/libvirt/second_libvirtd.sh"
SOURCE_PATH = Path("/var/lib/kilonova/migration/instances")
DEST_PATH = Path("/var/lib/kilonova/libvirtd-2/instances")


class FileImages:
    """The test guest as three images, read from the setup script's cache."""

    def metadata(self, image_id: str) -> dict[str, Any]:
        if image_id == "root":
            return {"disk_format": "raw", "kernel_id": "kernel", "ramdisk_id": "ramdisk",
                    "os_command_line": "console=ttyS0 quiet"}
        return {"disk_format": "raw"}

    def download(self, image_id: str, dest: Path) -> None:
        names = {"kernel": "vmlinuz", "ramdisk": "initrd.gz"}
        if image_id == "root":
            dest.write_bytes(b"\0" * (1 << 20))
        else:
            dest.write_bytes((IMAGE_DIR / names[image_id]).read_bytes())


@pytest.fixture(scope="module")
def dest_uri(real_libvirt: None) -> str:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"second libvirtd for migration did not start: {done.stderr}",
                    pytrace=False)
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def bandwidth() -> int:
    return 0


@pytest.fixture
def pair(dest_uri: str, tmp_path: Path, bandwidth: int
         ) -> Iterator[tuple[LibvirtDriver, LibvirtDriver]]:
    src = LibvirtDriver(load_settings(data_dir=tmp_path / "a", libvirt={
        "virt_type": "qemu", "instances_path": str(SOURCE_PATH),
        "live_migration_uri": dest_uri, "live_migration_inbound_addr": "tcp://127.0.0.1",
        "live_migration_bandwidth": bandwidth}),
        images=FileImages(), hostname="src")
    dst = LibvirtDriver(load_settings(data_dir=tmp_path / "b", libvirt={
        "uri": dest_uri, "virt_type": "qemu", "instances_path": str(DEST_PATH)}),
        images=FileImages(), hostname="dst")
    try:
        yield src, dst
    finally:
        for drv in (src, dst):
            for guest in drv.list_guests():
                drv.destroy(guest)
            drv.close()


def booted(src: LibvirtDriver) -> InstancePayload:
    inst = InstancePayload(
        uuid=uuid.uuid4(), display_name="mig", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", vcpus=1, memory_mb=128, root_gb=1),
        image_ref="root", vm_state="active", task_state=None, power_state=1, host="src",
        node="src")
    src.spawn(inst)
    deadline = time.monotonic() + 90
    while READY_MARKER not in src.console_output(inst.uuid):
        assert time.monotonic() < deadline, src.console_output(inst.uuid)
        time.sleep(0.5)
    return inst


def test_running_guest_moves_to_the_other_libvirtd(
    pair: tuple[LibvirtDriver, LibvirtDriver]
) -> None:
    src, dst = pair
    inst = booted(src)
    dst.prepare_incoming(inst)

    src.live_migrate(inst.uuid, "dst", timeout=120)

    assert inst.uuid not in src.list_guests()
    assert dst.list_guests() == {inst.uuid: PowerState.RUNNING}  # owned by dst now
    assert dst.pause(inst.uuid) == PowerState.PAUSED  # and alive there


def test_migration_to_an_unprepared_host_fails_and_leaves_the_guest_running(
    pair: tuple[LibvirtDriver, LibvirtDriver]
) -> None:
    src, _ = pair
    inst = booted(src)

    with pytest.raises(DriverError, match="live migration"):
        src.live_migrate(inst.uuid, "dst", timeout=60)  # no prepare_incoming: no disks

    assert src.list_guests() == {inst.uuid: PowerState.RUNNING}


@pytest.mark.parametrize("bandwidth", [1])  # MiB/s: 128 MiB of RAM cannot move in 3 s
def test_migration_over_its_completion_timeout_is_aborted_and_the_guest_stays(
    pair: tuple[LibvirtDriver, LibvirtDriver]
) -> None:
    src, dst = pair
    inst = booted(src)
    dst.prepare_incoming(inst)

    with pytest.raises(DriverError, match="aborted"):
        src.live_migrate(inst.uuid, "dst", timeout=3)

    assert src.list_guests() == {inst.uuid: PowerState.RUNNING}
    assert inst.uuid not in dst.list_guests()


def _migrating(src: LibvirtDriver, inst: InstancePayload, timeout: float
               ) -> tuple[threading.Thread, list[BaseException]]:
    """``src.live_migrate`` running in a thread; its failure lands in the list."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            src.live_migrate(inst.uuid, "dst", timeout=timeout)
        except DriverError as exc:
            failure.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, failure


@pytest.mark.parametrize("bandwidth", [1])  # MiB/s: it would run for minutes
def test_an_aborted_live_migration_leaves_the_guest_running_on_the_source(
    pair: tuple[LibvirtDriver, LibvirtDriver]
) -> None:
    src, dst = pair
    inst = booted(src)
    dst.prepare_incoming(inst)
    started = time.monotonic()
    worker, failure = _migrating(src, inst, timeout=300)
    time.sleep(2)
    assert worker.is_alive()
    src.abort_live_migration(inst.uuid)
    worker.join(60)

    assert not worker.is_alive() and time.monotonic() - started < 60
    assert len(failure) == 1 and "aborted" in str(failure[0])
    assert src.list_guests() == {inst.uuid: PowerState.RUNNING}
    assert inst.uuid not in dst.list_guests()
    assert src.pause(inst.uuid) == PowerState.PAUSED  # alive on the source


@pytest.mark.parametrize("bandwidth", [64])
def test_a_forced_live_migration_arrives_running(
    pair: tuple[LibvirtDriver, LibvirtDriver]
) -> None:
    src, dst = pair
    inst = booted(src)
    dst.prepare_incoming(inst)
    worker, failure = _migrating(src, inst, timeout=300)
    time.sleep(0.3)
    src.force_complete_live_migration(inst.uuid)
    worker.join(120)

    assert not worker.is_alive() and failure == []
    assert inst.uuid not in src.list_guests()
    # Paused to converge (if the request came in time), running again once adopted.
    assert dst.post_live_migration_at_destination(inst) == PowerState.RUNNING
    assert dst.list_guests() == {inst.uuid: PowerState.RUNNING}
