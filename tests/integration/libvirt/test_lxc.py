"""An LXC guest (a busybox root filesystem) on the second libvirtd, whose namespace
hides the cgroup2 mount libvirt's LXC driver cannot use."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from common.messages import FlavorPayload, InstancePayload
from common.settings import load_settings
from common.states import PowerState
from compute_agent.virt.libvirt import LibvirtDriver
from compute_agent.virt.libvirt.configdrive import LXC_SEED_DIR as SEED
from tests.cloud import CloudClient
from tests.conftest import cloud_settings
from tests.integration.libvirt.guest import UUID_MARKER, destroy_guests_under, use_libvirt
from tests.integration.libvirt.test_live_migration import SCRIPT
from tests.integration.libvirt.test_real_guest import act, settled, wait_console

INIT = (b"#!/bin/busybox sh\n/bin/busybox echo KILONOVA-LXC-UP > /ran\n"
        b"exec /bin/busybox sleep 3600\n")


# The init of the container booted through the API: it prints to its console, and what
# the driver put in the config drive seed directory.
API_INIT = (b"#!/bin/busybox sh\n/bin/busybox echo KILONOVA-LXC-UP\n"
            b"/bin/busybox sed -n 's/.*\"uuid\": *\"\\([0-9a-f-]*\\)\".*/"
            b"KILONOVA-INSTANCE-UUID=\\1/p' /" + SEED.encode() +
            b"/openstack/latest/meta_data.json\n"
            b"/bin/busybox echo KILONOVA-LXC-READY\n"
            b"exec /bin/busybox sleep 3600\n")


def rootfs_tarball(init: bytes = INIT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name in ("bin", "sbin", "proc", "sys", "dev", "tmp", "etc"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        tar.add("/bin/busybox", arcname="bin/busybox")
        info = tarfile.TarInfo("sbin/init")
        info.size, info.mode = len(init), 0o755
        tar.addfile(info, io.BytesIO(init))
    return out.getvalue()


class TarImage:
    def metadata(self, image_id: str) -> dict[str, Any]:
        return {"disk_format": "raw", "container_format": "bare", "os_init": "/sbin/init"}

    def download(self, image_id: str, dest: Path) -> None:
        dest.write_bytes(rootfs_tarball())


def second_libvirtd_lxc_uri() -> str:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"second libvirtd (for LXC) did not start: {done.stderr}", pytrace=False)
    return done.stdout.strip().splitlines()[-1].replace("qemu+unix", "lxc+unix", 1)


@pytest.fixture
def lxc_driver(real_libvirt: None, tmp_path: Path) -> LibvirtDriver:
    uri = second_libvirtd_lxc_uri()
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


@pytest.fixture
def lxc_cloud(real_libvirt: None, tmp_path: Path) -> Iterator[EmbeddedCloud]:
    uri = second_libvirtd_lxc_uri()
    settings = use_libvirt(cloud_settings(tmp_path, "sqlite-memory"), tmp_path, "lxchost")
    settings.libvirt = settings.libvirt.model_copy(update={
        "uri": uri, "virt_type": "lxc", "shutdown_timeout": 0.0})
    running = EmbeddedCloud(settings).start()
    try:
        yield running
    finally:
        running.stop()
        destroy_guests_under(tmp_path, uri)


def upload_rootfs(http: httpx.Client, image_url: str) -> str:
    resp = http.post(f"{image_url}/v2/images", json={
        "name": "busybox-rootfs", "disk_format": "raw", "container_format": "bare",
        "os_init": "/sbin/init"})
    resp.raise_for_status()
    image_id = str(resp.json()["id"])
    http.put(f"{image_url}/v2/images/{image_id}/file", content=rootfs_tarball(API_INIT),
             headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    return image_id


def test_lxc_server_through_the_api_prints_its_config_drive_and_restarts(
    lxc_cloud: EmbeddedCloud, tmp_path: Path
) -> None:
    client = CloudClient(lxc_cloud.base_url)
    try:
        flavor = client.create_flavor("small", ram=64, vcpus=1, disk=1)
        server_id = client.boot(flavor, upload_rootfs(client.http, lxc_cloud.image_url))
        server = client.wait_status(server_id, {"ACTIVE", "ERROR"}, timeout=60)
        assert server["status"] == "ACTIVE", server.get("fault")
        assert server["OS-EXT-SRV-ATTR:host"] == "lxchost"

        out = wait_console(client, server_id, "KILONOVA-LXC-READY", timeout=30)
        assert "KILONOVA-LXC-UP" in out
        assert f"{UUID_MARKER}{server_id}" in out  # from the config drive seed directory
        seed = tmp_path / "instances" / server_id / "rootfs" / SEED
        assert (seed / "openstack" / "latest" / "meta_data.json").is_file()

        assert act(client, server_id, {"os-stop": None}).status_code == 202
        settled(client, server_id, "SHUTOFF")
        assert act(client, server_id, {"os-start": None}).status_code == 202
        settled(client, server_id, "ACTIVE")
        # The restarted container's console reaches the log too (the sync re-attaches).
        wait_console(client, server_id, "KILONOVA-LXC-READY", count=2, timeout=30)

        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)
        assert not (tmp_path / "instances" / server_id).exists()
    finally:
        client.close()
