"""A live migration of a real guest aborted through the API while it runs: the guest
keeps running on its source host, the destination's preparation and claim are gone and
the migration ends cancelled.

The hosts' migration bandwidth is 1 MiB/s, so the guest's 128 MiB of memory would take
minutes to move: the abort comes while the copy is under way.
"""

from __future__ import annotations

import time

import pytest

from common.states import PowerState
from tests.cloud import CloudClient
from tests.integration.libvirt.conftest import TwoHosts
from tests.integration.libvirt.test_api_moves import (
    boot_on_a,
    defined_on,
    held_only_on,
    kernel_clock,
    step_results,
)
from tests.integration.libvirt.test_real_guest import act, settled


@pytest.fixture
def migration_bandwidth() -> int:
    return 1


def running_migration(client: CloudClient, server_id: str) -> int:
    deadline = time.monotonic() + 60
    while True:
        rows = client.compute("GET", f"/servers/{server_id}/migrations").json()["migrations"]
        if rows and rows[0]["status"] == "running":
            return int(rows[0]["id"])
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)


def test_a_live_migration_aborted_midway_leaves_the_guest_running_on_its_source(
        two_hosts: TwoHosts) -> None:
    client = CloudClient(two_hosts.cloud.base_url, version="2.74")
    try:
        server_id = boot_on_a(two_hosts, client)
        running_for = kernel_clock(two_hosts, client, server_id)
        resp = act(client, server_id, {"os-migrateLive": {"host": two_hosts.b,
                                                          "block_migration": "auto"}})
        assert resp.status_code == 202, resp.text
        migration_id = running_migration(client, server_id)
        time.sleep(2)  # the memory copy is under way
        assert client.server(server_id)["OS-EXT-STS:task_state"] == "migrating"
        resp = client.compute("DELETE", f"/servers/{server_id}/migrations/{migration_id}")
        assert resp.status_code == 202, resp.text
        server = settled(client, server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == two_hosts.a
        assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
        assert "fault" not in server
        assert step_results(client, server_id, "live-migration") == [
            ("conductor_live_migrate_instance", "Success"),
            ("compute_pre_live_migration", "Success"), ("compute_live_migration", "Error")]
        assert held_only_on(client, server_id, two_hosts.a)["status"] == "cancelled"
        assert kernel_clock(two_hosts, client, server_id) > running_for  # never stopped
        assert defined_on(two_hosts, two_hosts.a, server_id)
        assert not defined_on(two_hosts, two_hosts.b, server_id)
        assert not (two_hosts.paths[two_hosts.b] / server_id).exists()
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)
    finally:
        client.close()
