"""Operator work on the distributed stack: disable a host, evacuate a dead one, its return.

Every service is its own process on PostgreSQL and RabbitMQ. The simulated hosts keep
their guests in a state file, so a killed agent's guests outlive it as a hypervisor's do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.stack import ProcessStack
from tests.dbutil import create_pg_database, drop_pg_database
from tests.integration.test_multiprocess import StackClient
from tests.rabbitutil import create_vhost, delete_vhost

pytestmark = pytest.mark.timeout(600)
V = {"OpenStack-API-Version": "compute 2.53"}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ProcessStack]:
    compute_db = create_pg_database("kn_ops_compute")
    placement_db = create_pg_database("kn_ops_placement")
    vhost = create_vhost("kn_ops")
    running = ProcessStack(tmp_path, compute_db, placement_db, vhost, computes=2,
                           service_down_time=4.0, extra_env={
                               "KILONOVA_COMPUTE__FAKE_STATE_DIR": str(tmp_path / "guests"),
                               "KILONOVA_DATABASE__POOL_SIZE": "2",
                               "KILONOVA_DATABASE__MAX_POOL": "6"})
    try:
        running.start(timeout=180)
        yield running
    finally:
        running.stop()
        drop_pg_database(compute_db)
        drop_pg_database(placement_db)
        delete_vhost(vhost)


def guests_of(stack: ProcessStack, host: str) -> set[str]:
    path = stack.workdir / "guests" / f"{host}.json"
    return set(json.loads(path.read_text())) if path.exists() else set()


def service_id(client: StackClient, host: str) -> str:
    resp = client.compute("GET", "/os-services", params={"host": host}, headers=V)
    [svc] = [s for s in resp.json()["services"] if s["binary"] == "nova-compute"]
    return str(svc["id"])


def set_service(client: StackClient, host: str, body: dict[str, Any]) -> None:
    resp = client.compute("PUT", f"/os-services/{service_id(client, host)}", json=body,
                          headers=V)
    assert resp.status_code == 200, resp.text


def usage_on(client: StackClient, host: str) -> dict[str, int]:
    rps = client.placement("GET", "/resource_providers", params={"name": host}).json()
    [rp] = rps["resource_providers"]
    return dict(client.placement("GET", f"/resource_providers/{rp['uuid']}/usages"
                                 ).json()["usages"])


def test_disable_kill_evacuate_and_the_dead_hosts_return(stack: ProcessStack) -> None:
    client = StackClient(stack)
    flavor = client.create_flavor("m1.small", ram=512, vcpus=1, disk=1)
    image = client.create_image()

    # A disabled host gets no new servers.
    set_service(client, "host2", {"status": "disabled", "disabled_reason": "maintenance"})
    ids = [client.boot(flavor, image, name=f"ops{i}") for i in range(3)]
    servers = [client.wait_status(s, {"ACTIVE", "ERROR"}) for s in ids]
    assert {(s["status"], s["OS-EXT-SRV-ATTR:host"]) for s in servers} == {
        ("ACTIVE", "host1")}
    assert guests_of(stack, "host1") == set(ids)
    set_service(client, "host2", {"status": "enabled"})

    # host1's agent dies; the operator forces it down and evacuates its servers.
    stack.kill("compute1")
    set_service(client, "host1", {"forced_down": True})
    for server_id in ids:
        resp = client.compute("POST", f"/servers/{server_id}/action",
                              json={"evacuate": {}})
        assert resp.status_code == 200, resp.text
    for server_id in ids:
        deadline = time.monotonic() + 120
        while (server := client.server(server_id))["OS-EXT-SRV-ATTR:host"] != "host2" \
                or server["status"] != "ACTIVE":
            assert server["status"] != "ERROR", server.get("fault")
            assert time.monotonic() < deadline, server
            time.sleep(0.5)
    # Allocations only on the new host.
    assert usage_on(client, "host1") == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    assert usage_on(client, "host2") == {"VCPU": 3, "MEMORY_MB": 3 * 512, "DISK_GB": 3}
    assert guests_of(stack, "host2") == set(ids)
    assert guests_of(stack, "host1") == set(ids)  # nobody there to remove them yet

    # The dead host's agent comes back: it removes its stale guests, runs none twice.
    set_service(client, "host1", {"forced_down": False})
    stack.restart("compute1")
    deadline = time.monotonic() + 120
    while guests_of(stack, "host1"):
        assert time.monotonic() < deadline, guests_of(stack, "host1")
        time.sleep(0.5)
    for server_id in ids:
        server = client.server(server_id)
        assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "host2")
    assert usage_on(client, "host1") == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    for server_id in ids:
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    for server_id in ids:
        client.wait_gone(server_id, timeout=60)
    client.close()
