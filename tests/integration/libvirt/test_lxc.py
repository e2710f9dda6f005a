"""An LXC guest (a busybox root filesystem) on the second libvirtd, whose namespace
hides the cgroup2 mount libvirt's LXC driver cannot use."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from common.messages import FlavorPayload, InstancePayload
from common.settings import load_settings
from common.states import PowerState
from compute_agent.virt.libvirt import LibvirtDriver
from tests.integration.libvirt.test_live_migration import SCRIPT

INIT = (b"#!/bin/busybox sh\n/bin/busybox echo KILONOVA-LXC-UP > /ran\n"
        b"exec /bin/busybox sleep 3600\n")


def rootfs_tarball() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name in ("bin", "sbin", "proc", "sys", "dev", "tmp", "etc"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        tar.add("/bin/busybox", arcname="bin/busybox")
        info = tarfile.TarInfo("sbin/init")
        info.size, info.mode = len(INIT), 0o755
        tar.addfile(info, io.BytesIO(INIT))
    return out.getvalue()


class TarImage:
    def metadata(self, image_id: str) -> dict[str, Any]:
        return {"disk_format": "raw", "container_format": "bare", "os_init": "/sbin/init"}

    def download(self, image_id: str, dest: Path) -> None:
        dest.write_bytes(rootfs_tarball())


@pytest.fixture
def lxc_driver(real_libvirt: None, tmp_path: Path) -> LibvirtDriver:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"second libvirtd (for LXC) did not start: {done.stderr}", pytrace=False)
    uri = done.stdout.strip().splitlines()[-1].replace("qemu+unix", "lxc+unix", 1)
    return LibvirtDriver(load_settings(data_dir=tmp_path, libvirt={
        "uri": uri, "virt_type": "lxc", "shutdown_timeout": 0}),
        images=TarImage(), hostname="lxc-host")


def wait_for(path: Path, content: str = "KILONOVA-LXC-UP\n", timeout: float = 20) -> None:
    """Wait until the guest's init wrote ``content`` (the file appears before its text)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text() == content):
        assert time.monotonic() < deadline, f"{path} never got {content!r}"
        time.sleep(0.2)


def test_lxc_guest_runs_its_init_and_is_stopped_started_and_removed(
    lxc_driver: LibvirtDriver
) -> None:
    drv = lxc_driver
    inst = InstancePayload(
        uuid=uuid.uuid4(), display_name="c", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", vcpus=1, memory_mb=64),
        image_ref="rootfs", vm_state="building", task_state="spawning", power_state=0,
        host="lxc-host", node="lxc-host")
    marker = drv.instance_dir(inst.uuid) / "rootfs" / "ran"
    try:
        assert drv.spawn(inst) == PowerState.RUNNING
        wait_for(marker)

        assert drv.power_off(inst.uuid) == PowerState.SHUTDOWN
        marker.unlink()
        assert drv.power_on(inst.uuid) == PowerState.RUNNING
        wait_for(marker)
        assert drv.list_guests() == {inst.uuid: PowerState.RUNNING}
    finally:
        drv.destroy(inst.uuid)
        drv.close()
    assert not drv.instance_dir(inst.uuid).exists()
