"""The driver survives a libvirtd restart: it reconnects and re-adopts running guests."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from common.messages import FlavorPayload, InstancePayload
from common.settings import load_settings
from common.states import PowerState
from compute_agent.virt.libvirt import LibvirtDriver
from tests.integration.libvirt.guest import URI
from tests.integration.libvirt.test_live_migration import FileImages

PIDFILE = Path("/run/libvirtd.pid")


def restart_libvirtd() -> None:
    """SIGTERM the daemon, wait until it is gone, start a new one and wait for it."""
    pid = int(PIDFILE.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    # Gone once the pid file is released (a killed daemon may linger as a zombie).
    while PIDFILE.exists() and PIDFILE.read_text().strip() == str(pid):
        assert time.monotonic() < deadline, "libvirtd did not stop"
        time.sleep(0.2)
    # Its own session: the daemon must outlive this test process.
    subprocess.run(["setsid", "libvirtd", "-d"], check=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["virsh", "-c", URI, "version"], capture_output=True).returncode:
        if time.monotonic() > deadline:
            pytest.fail("libvirtd did not come back; run scripts/libvirt/setup.sh",
                        pytrace=False)
        time.sleep(0.5)


def test_guest_keeps_running_and_is_readopted_after_libvirtd_restart(
    real_libvirt: None, tmp_path: Path
) -> None:
    drv = LibvirtDriver(load_settings(data_dir=tmp_path, libvirt={
        "uri": URI, "virt_type": "qemu", "shutdown_timeout": 1.0}),
        images=FileImages(), hostname=f"restart-{uuid.uuid4().hex[:8]}")
    readopted: list[tuple[uuid.UUID, int]] = []
    seen = threading.Event()

    def handler(guest: uuid.UUID, state: int) -> None:
        readopted.append((guest, state))
        seen.set()

    inst = InstancePayload(
        uuid=uuid.uuid4(), display_name="r", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", vcpus=1, memory_mb=128, root_gb=1),
        image_ref="root", vm_state="building", task_state="spawning", power_state=0,
        host=drv.hostname, node=drv.hostname)
    try:
        drv.spawn(inst)
        drv.set_power_event_handler(handler)
        seen.clear()
        readopted.clear()

        restart_libvirtd()

        # The first call after the restart reconnects ("client socket is closed").
        deadline = time.monotonic() + 60
        while True:
            try:
                guests = drv.list_guests()
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        assert guests == {inst.uuid: PowerState.RUNNING}
        assert seen.wait(10)
        assert (inst.uuid, PowerState.RUNNING) in readopted
        assert drv.pause(inst.uuid) == PowerState.PAUSED  # events work on the new connection
    finally:
        drv.destroy(inst.uuid)
        drv.close()
