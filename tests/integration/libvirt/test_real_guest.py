"""A real QEMU guest booted through the API: console, config drive, power, delete."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import libvirt

from cli.embedded import EmbeddedCloud
from common.context import admin_context
from common.states import PowerState
from compute_agent.rpc.client import ComputeClient
from tests.cloud import CloudClient
from tests.integration.libvirt.guest import (
    READY_MARKER,
    UP_MARKER,
    URI,
    UUID_MARKER,
    upload_test_image,
)

HOST = "lvhost"


def wait_console(agent: ComputeClient, server_id: uuid.UUID, text: str, count: int = 1,
                 timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = agent.get_console_output(admin_context(), HOST, server_id)
        if out.count(text) >= count:
            return out
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} x{count} not on the console; got:\n{out[-2000:]}")
        time.sleep(0.5)


def wait_power(client: CloudClient, server_id: str, state: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while client.server(server_id)["OS-EXT-STS:power_state"] != state:
        assert time.monotonic() < deadline, client.server(server_id)
        time.sleep(0.2)


def test_real_guest_boots_reads_its_config_drive_reboots_stops_and_is_deleted(
    libvirt_cloud: EmbeddedCloud, libvirt_client: CloudClient, tmp_path: Path
) -> None:
    client = libvirt_client
    assert libvirt_cloud._messaging is not None
    agent = ComputeClient(libvirt_cloud._messaging)
    flavor = client.create_flavor("tiny", ram=128, vcpus=1, disk=1)
    image = upload_test_image(client.http, libvirt_cloud.image_url)

    server_id = client.boot(flavor, image, name="real")
    server = client.wait_status(server_id, {"ACTIVE", "ERROR"}, timeout=120)
    assert server["status"] == "ACTIVE", server.get("fault")
    assert server["OS-EXT-SRV-ATTR:host"] == HOST
    sid = uuid.UUID(server_id)

    out = wait_console(agent, sid, READY_MARKER)
    assert UP_MARKER in out
    assert f"{UUID_MARKER}{server_id}" in out  # read from the config drive
    instance_dir = tmp_path / "instances" / server_id
    assert {"disk", "disk.config", "console.log"} <= {p.name for p in instance_dir.iterdir()}
    assert agent.get_console_output(admin_context(), HOST, sid, 1).count("\n") <= 1

    # Our busybox init ignores ACPI: the soft reboot falls back to a hard stop.
    assert agent.reboot_instance(admin_context(), HOST, sid) == PowerState.RUNNING
    wait_console(agent, sid, READY_MARKER, count=2)
    assert agent.reboot_instance(admin_context(), HOST, sid, hard=True) == PowerState.RUNNING
    wait_console(agent, sid, READY_MARKER, count=3)

    assert agent.stop_instance(admin_context(), HOST, sid, timeout=0) == PowerState.SHUTDOWN
    wait_power(client, server_id, PowerState.SHUTDOWN)
    assert agent.start_instance(admin_context(), HOST, sid) == PowerState.RUNNING
    wait_power(client, server_id, PowerState.RUNNING)
    wait_console(agent, sid, READY_MARKER, count=4)

    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)
    assert not instance_dir.exists()
    conn = libvirt.open(URI)
    try:
        assert f"instance-{server_id}" not in [d.name() for d in conn.listAllDomains(0)]
    finally:
        conn.close()


def test_hypervisor_power_change_reaches_the_api_through_events(
    libvirt_cloud: EmbeddedCloud, libvirt_client: CloudClient
) -> None:
    client = libvirt_client
    flavor = client.create_flavor("tiny", ram=128, vcpus=1, disk=1)
    image = upload_test_image(client.http, libvirt_cloud.image_url)
    server_id = client.boot(flavor, image)
    assert client.wait_status(server_id, {"ACTIVE", "ERROR"}, timeout=120)["status"] == "ACTIVE"

    conn = libvirt.open(URI)
    try:
        conn.lookupByUUIDString(server_id).suspend()  # behind the agent's back
        started = time.monotonic()
        wait_power(client, server_id, PowerState.PAUSED, timeout=10)
        # The periodic sync runs every 2 s here; an event lands well before a full cycle.
        assert time.monotonic() - started < 10
    finally:
        conn.close()
    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)
