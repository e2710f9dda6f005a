"""A real QEMU guest booted through the API: console, config drive, power, delete."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
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


def wait_console(client: CloudClient, server_id: str, text: str, count: int = 1,
                 timeout: float = 90) -> str:
    """The console output, read through the API, once ``text`` appeared ``count`` times."""
    deadline = time.monotonic() + timeout
    while True:
        out = console(client, server_id)
        if out.count(text) >= count:
            return out
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} x{count} not on the console; got:\n{out[-2000:]}")
        time.sleep(0.5)


def console(client: CloudClient, server_id: str, length: int | str | None = None) -> str:
    args = {} if length is None else {"length": length}
    resp = act(client, server_id, {"os-getConsoleOutput": args})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["output"])


def act(client: CloudClient, server_id: str, body: dict[str, Any]) -> httpx.Response:
    return client.compute("POST", f"/servers/{server_id}/action", json=body)


def settled(client: CloudClient, server_id: str, status: str, timeout: float = 120
            ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        server = client.server(server_id)
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return server
        assert time.monotonic() < deadline, server
        time.sleep(0.2)


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

    out = wait_console(client, server_id, READY_MARKER)
    assert UP_MARKER in out
    assert f"{UUID_MARKER}{server_id}" in out  # read from the config drive
    instance_dir = tmp_path / "instances" / server_id
    assert {"disk", "disk.config", "console.log"} <= {p.name for p in instance_dir.iterdir()}
    assert console(client, server_id, "1").count("\n") <= 1
    assert agent.get_console_output(admin_context(), HOST, sid) == console(client, server_id)

    # Our busybox init ignores ACPI: the soft reboot falls back to a hard stop.
    assert act(client, server_id, {"reboot": {"type": "SOFT"}}).status_code == 202
    assert settled(client, server_id, "ACTIVE")["OS-EXT-STS:power_state"] == \
        PowerState.RUNNING
    wait_console(client, server_id, READY_MARKER, count=2)
    assert act(client, server_id, {"reboot": {"type": "HARD"}}).status_code == 202
    settled(client, server_id, "ACTIVE")
    wait_console(client, server_id, READY_MARKER, count=3)

    assert act(client, server_id, {"os-stop": None}).status_code == 202
    server = settled(client, server_id, "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    conn = libvirt.open(URI)
    try:
        assert not conn.lookupByUUIDString(server_id).isActive()
    finally:
        conn.close()
    assert act(client, server_id, {"os-start": None}).status_code == 202
    assert settled(client, server_id, "ACTIVE")["OS-EXT-STS:power_state"] == \
        PowerState.RUNNING
    wait_console(client, server_id, READY_MARKER, count=4)
    actions = client.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    assert [a["action"] for a in reversed(actions["instanceActions"])] == [
        "create", "reboot", "reboot", "stop", "start"]

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


def test_real_guest_is_snapshotted_and_resized_in_place_through_the_api(
        libvirt_cloud: EmbeddedCloud, libvirt_client: CloudClient) -> None:
    client = libvirt_client
    flavor = client.create_flavor("tiny", ram=128, vcpus=1, disk=1)
    client.create_flavor("bigger", ram=192, vcpus=2, disk=2)
    image = upload_test_image(client.http, libvirt_cloud.image_url)
    server_id = client.boot(flavor, image)
    settled(client, server_id, "ACTIVE")
    wait_console(client, server_id, READY_MARKER)

    resp = act(client, server_id, {"createImage": {"name": "real-snap"}})
    assert resp.status_code == 202, resp.text
    image_id = resp.json()["image_id"]
    deadline = time.monotonic() + 60
    while (snap := client.http.get(f"/image/v2/images/{image_id}").json())["status"] != \
            "active":
        assert time.monotonic() < deadline, snap
        time.sleep(0.5)
    assert snap["disk_format"] == "qcow2" and snap["image_type"] == "snapshot"
    data = client.http.get(f"/image/v2/images/{image_id}/file").content
    assert data[:4] == b"QFI\xfb" and len(data) == snap["size"]  # a standalone qcow2
    settled(client, server_id, "ACTIVE")

    assert act(client, server_id, {"resize": {"flavorRef": "bigger"}}).status_code == 202
    server = settled(client, server_id, "VERIFY_RESIZE")
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    conn = libvirt.open(URI)
    try:
        dom = conn.lookupByUUIDString(server_id)
        assert dom.maxMemory() == 192 * 1024
        assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 2
    finally:
        conn.close()
    wait_console(client, server_id, READY_MARKER, count=2)  # it booted again
    assert act(client, server_id, {"confirmResize": None}).status_code == 204
    assert settled(client, server_id, "ACTIVE")["flavor"]["original_name"] == "bigger"

    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)
