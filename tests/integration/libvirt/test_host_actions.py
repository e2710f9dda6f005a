"""A real QEMU guest through the actions done on its own host: diagnostics, crash dump,
rebuild to another image, rescue and unrescue, and a password change it cannot take."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import libvirt

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.integration.libvirt.guest import READY_MARKER, URI, upload_test_image
from tests.integration.libvirt.test_real_guest import act, settled, wait_console


def image_like(http: httpx.Client, image_url: str, base_id: str, name: str,
               cmdline: str) -> str:
    """Another image booting the same kernel and ramdisk with its own kernel command line
    (not ``quiet``: the kernel echoes the command line, the image's marker, on the console)."""
    base = http.get(f"{image_url}/v2/images/{base_id}").json()
    resp = http.post(f"{image_url}/v2/images", json={
        "name": name, "disk_format": "raw", "container_format": "bare",
        "kernel_id": base["kernel_id"], "ramdisk_id": base["ramdisk_id"],
        "os_command_line": cmdline})
    resp.raise_for_status()
    image_id = str(resp.json()["id"])
    http.put(f"{image_url}/v2/images/{image_id}/file", content=b"\0" * (1 << 20),
             headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    return image_id


def disk_files(server_id: str) -> list[str]:
    """The file names of the guest's disks, in the order of its definition."""
    conn = libvirt.open(URI)
    try:
        tree = ET.fromstring(conn.lookupByUUIDString(server_id).XMLDesc(0))
    finally:
        conn.close()
    return [Path(src.get("file", "")).name
            for src in tree.findall("./devices/disk[@device='disk']/source")]


def versioned(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def test_real_guest_is_diagnosed_dumped_rebuilt_and_rescued(
    libvirt_cloud: EmbeddedCloud, libvirt_client: CloudClient, tmp_path: Path
) -> None:
    client = libvirt_client
    flavor = client.create_flavor("tiny", ram=128, vcpus=1, disk=1)
    first = upload_test_image(client.http, libvirt_cloud.image_url)
    second = image_like(client.http, libvirt_cloud.image_url, first, "image-b",
                        "console=ttyS0 KILONOVA-IMAGE-B")
    rescue_image = image_like(client.http, libvirt_cloud.image_url, first, "rescue-image",
                              "console=ttyS0 KILONOVA-RESCUE-IMAGE")
    server_id = client.boot(flavor, first, name="host-actions")
    server = client.wait_status(server_id, {"ACTIVE", "ERROR"}, timeout=120)
    assert server["status"] == "ACTIVE", server.get("fault")
    wait_console(client, server_id, READY_MARKER)

    # Diagnostics: libvirt's own figures of the running guest.
    resp = client.compute("GET", f"/servers/{server_id}/diagnostics",
                          headers=versioned("2.48"))
    assert resp.status_code == 200, resp.text
    diags = resp.json()
    assert (diags["state"], diags["driver"], diags["hypervisor"]) == (
        "running", "libvirt", "qemu")
    assert diags["num_cpus"] == 1 and diags["cpu_details"][0]["time"] > 0
    assert diags["memory_details"]["maximum"] == 128
    assert diags["num_disks"] == 1 and diags["config_drive"] is True
    assert diags["uptime"] is not None and diags["uptime"] >= 0

    # An NMI reaches the guest's kernel.
    resp = client.compute("POST", f"/servers/{server_id}/action",
                          json={"trigger_crash_dump": None}, headers=versioned("2.17"))
    assert resp.status_code == 202, resp.text
    wait_console(client, server_id, "NMI received")

    # Rebuild to another image: the new image's kernel command line is on the console.
    resp = act(client, server_id, {"rebuild": {"imageRef": second}})
    assert resp.status_code == 202, resp.text
    rebuilt = settled(client, server_id, "ACTIVE")
    assert rebuilt["image"]["id"] == second
    wait_console(client, server_id, "KILONOVA-IMAGE-B")
    wait_console(client, server_id, READY_MARKER)
    assert disk_files(server_id) == ["disk"]

    # Rescue: the rescue image boots first, the server's own disk is attached second.
    resp = act(client, server_id, {"rescue": {"rescue_image_ref": rescue_image}})
    assert resp.status_code == 200, resp.text
    assert "adminPass" in resp.json()
    settled(client, server_id, "RESCUE")
    wait_console(client, server_id, "KILONOVA-RESCUE-IMAGE")
    wait_console(client, server_id, READY_MARKER, count=2)  # the log survives the rescue
    assert disk_files(server_id) == ["disk.rescue", "disk"]
    instance_dir = tmp_path / "instances" / server_id
    assert (instance_dir / "unrescue.xml").exists()

    assert act(client, server_id, {"unrescue": None}).status_code == 202
    settled(client, server_id, "ACTIVE")
    assert disk_files(server_id) == ["disk"]
    assert not (instance_dir / "disk.rescue").exists()
    out = wait_console(client, server_id, READY_MARKER, count=3)
    assert "KILONOVA-IMAGE-B" in out[out.rindex("KILONOVA-RESCUE-IMAGE"):]

    # The test image declares no QEMU guest agent: nothing could set a password.
    resp = act(client, server_id, {"changePassword": {"adminPass": "pw"}})
    assert resp.status_code == 409, resp.text
    assert "guest agent" in resp.json()["conflictingRequest"]["message"]
    assert settled(client, server_id, "ACTIVE")["OS-EXT-STS:power_state"] == 1

    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)
