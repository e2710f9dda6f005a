"""Shelve-offload a real guest on one libvirt host and unshelve it onto the other.

The guest's root disk gets a pattern written while the server is stopped (qemu-io on its
disk file); after the shelve (snapshot into the image API, guest destroyed, allocations
released) and the unshelve onto host B (spawned from that snapshot), B's disk holds the
same pattern, and the guest boots from it there.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

from common.states import PowerState
from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import allocations, events, provider_of
from tests.integration.libvirt.conftest import TwoHosts
from tests.integration.libvirt.guest import READY_MARKER, UP_MARKER
from tests.integration.libvirt.test_api_moves import RESOURCES, boot_on_a, defined_on
from tests.integration.libvirt.test_real_guest import act, console, settled, wait_console

# A pattern where the base image has zeros (its 1 MiB of raw data), past the first MiB
# the flavor's 1 GiB root disk adds.
PATTERN, OFFSET, LENGTH = "0xa5", 3 << 20, 64 << 10


def qemu_io(disk: Path, command: str, *, read_only: bool = False
            ) -> subprocess.CompletedProcess[str]:
    args = ["qemu-io", "-f", "qcow2", *(["-r", "-U"] if read_only else []), "-c", command,
            str(disk)]
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)


def holds_pattern(disk: Path) -> bool:
    """Whether the disk holds the pattern there (qemu-io fails a pattern mismatch)."""
    done = qemu_io(disk, f"read -P {PATTERN} {OFFSET} {LENGTH}", read_only=True)
    out = done.stdout + done.stderr
    assert "Could not open" not in out, out
    return (done.returncode == 0 and "Pattern verification failed" not in out
            and f"read {LENGTH}/{LENGTH}" in out)


def test_guest_shelved_off_host_a_is_unshelved_onto_host_b_with_its_disk(
        two_hosts: TwoHosts) -> None:
    hosts = two_hosts
    client = CloudClient(hosts.cloud.base_url, version="2.91")
    try:
        server_id = boot_on_a(hosts, client)
        assert act(client, server_id, {"os-stop": None}).status_code == 202
        settled(client, server_id, "SHUTOFF")
        disk_a = hosts.paths[hosts.a] / server_id / "disk"
        assert not holds_pattern(disk_a)  # the check can fail
        written = qemu_io(disk_a, f"write -P {PATTERN} {OFFSET} {LENGTH}")
        assert written.returncode == 0, written.stdout + written.stderr
        assert holds_pattern(disk_a)

        # Offloaded at once ([compute] shelved_offload_time 0).
        assert act(client, server_id, {"shelve": None}).status_code == 202
        server = settled(client, server_id, "SHELVED_OFFLOADED")
        assert (server["OS-EXT-SRV-ATTR:host"], server["OS-EXT-STS:power_state"]) == (
            None, PowerState.NOSTATE)
        assert allocations(client, server_id) == {}
        assert not defined_on(hosts, hosts.a, server_id)
        assert not (hosts.paths[hosts.a] / server_id).exists()
        [image] = [i for i in client.http.get("/image/v2/images").json()["images"]
                   if i.get("instance_uuid") == server_id]
        hosts.images.append(image["id"])
        assert (image["status"], image["disk_format"]) == ("active", "qcow2")

        resp = act(client, server_id, {"unshelve": {"host": hosts.b}})
        assert resp.status_code == 202, resp.text
        server = settled(client, server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == hosts.b
        assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
        assert allocations(client, server_id) == {provider_of(client, hosts.b): RESOURCES}
        assert defined_on(hosts, hosts.b, server_id)
        assert not defined_on(hosts, hosts.a, server_id)
        # B's guest boots from the snapshot, and its disk carries what A's had.
        wait_console(client, server_id, READY_MARKER)
        assert UP_MARKER in console(client, server_id)
        disk_b = hosts.paths[hosts.b] / server_id / "disk"
        assert holds_pattern(disk_b)
        # Laid out as a spawned disk: on the server's own image, not on the snapshot.
        info = json.loads(subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", str(disk_b)], capture_output=True,
            text=True, check=True).stdout)
        own = hashlib.sha1(server["image"]["id"].encode()).hexdigest()
        assert Path(info["backing-filename"]).name == own, info
        deadline = time.monotonic() + 30
        while client.http.get(f"/image/v2/images/{image['id']}").status_code != 404:
            assert time.monotonic() < deadline, "the shelved image was not deleted"
            time.sleep(0.2)
        assert [(e["event"], e["result"]) for e in events(client, server_id, "unshelve")] == [
            ("compute_unshelve_instance", "Success")]

        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)
        assert not (hosts.paths[hosts.b] / server_id).exists()
        assert allocations(client, server_id) == {}
    finally:
        client.close()
