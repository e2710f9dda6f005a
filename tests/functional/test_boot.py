"""A server is created over HTTP, scheduled, built, becomes ACTIVE and is deleted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient


def _unlimited(client: CloudClient) -> None:
    """Lift the admin project's instance/core/RAM quota: these tests are about capacity."""
    resp = client.compute("PUT", "/os-quota-sets/admin", json={
        "quota_set": {"instances": -1, "cores": -1, "ram": -1}})
    assert resp.status_code == 200, resp.text


def test_twenty_concurrent_boots_spread_over_hosts_and_release_everything(
    cloud: EmbeddedCloud, client: CloudClient
) -> None:
    _unlimited(client)
    flavor = client.create_flavor("m1.small", ram=512, vcpus=1, disk=2)
    image = client.create_image()
    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(lambda i: client.boot(flavor, image, name=f"vm{i}"), range(20)))
        servers = list(pool.map(lambda s: client.wait_status(s, {"ACTIVE", "ERROR"}), ids))

    assert {s["status"] for s in servers} == {"ACTIVE"}
    hosts = {s["OS-EXT-SRV-ATTR:host"] for s in servers}
    assert len(hosts) == 4
    assert client.total_usage() == {"VCPU": 20, "MEMORY_MB": 20 * 512, "DISK_GB": 20 * 2}
    listed = client.compute("GET", "/servers").json()["servers"]
    assert sorted(s["id"] for s in listed) == sorted(ids)

    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda s: client.compute("DELETE", f"/servers/{s}").status_code,
                              ids))
        list(pool.map(client.wait_gone, ids))

    assert codes == [204] * 20
    assert client.total_usage() == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    assert client.compute("GET", "/servers").json()["servers"] == []


def test_server_show_has_upstream_shape(client: CloudClient) -> None:
    flavor = client.create_flavor()
    image = client.create_image()
    server_id = client.boot(flavor, image, name="shape", metadata={"k": "v"})
    server = client.wait_status(server_id, {"ACTIVE"})

    assert server["id"] == server_id
    assert server["name"] == "shape"
    assert server["metadata"] == {"k": "v"}
    assert server["tenant_id"] == "admin"
    assert server["image"]["id"] == image
    assert server["flavor"]["original_name"] == "small"
    assert server["OS-EXT-STS:vm_state"] == "active"
    assert server["OS-EXT-STS:task_state"] is None
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["OS-SRV-USG:launched_at"] is not None
    assert len(server["hostId"]) == 56
    assert server["created"].endswith("Z")
    assert "fault" not in server


def test_flavor_that_fits_nowhere_errors_with_an_explanation(client: CloudClient) -> None:
    _unlimited(client)
    flavor = client.create_flavor("huge", ram=65536, vcpus=1, disk=1)
    image = client.create_image()
    server_id = client.boot(flavor, image)
    server = client.wait_status(server_id, {"ERROR", "ACTIVE"})

    assert server["status"] == "ERROR"
    message = server["fault"]["message"]
    assert "MEMORY_MB: need 65536, largest free 16384 on 4 hosts" in message
    assert server["fault"]["code"] == 500
    assert client.total_usage()["MEMORY_MB"] == 0
    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)


def test_spawn_failure_is_rescheduled_to_another_host(client: CloudClient) -> None:
    flavor = client.create_flavor()
    image = client.create_image()
    server_id = client.boot(flavor, image, metadata={"fake:fail_spawn": "fake-1,fake-2"})
    server = client.wait_status(server_id, {"ACTIVE", "ERROR"})

    assert server["status"] == "ACTIVE"
    assert server["OS-EXT-SRV-ATTR:host"] in {"fake-3", "fake-4"}
    assert client.total_usage()["VCPU"] == 1


def test_spawn_failing_everywhere_ends_in_error_naming_the_hosts(client: CloudClient) -> None:
    flavor = client.create_flavor()
    image = client.create_image()
    server_id = client.boot(flavor, image, metadata={"fake:fail_spawn": "*"})
    server = client.wait_status(server_id, {"ERROR", "ACTIVE"})

    assert server["status"] == "ERROR"
    assert "simulated spawn failure" in server["fault"]["message"]
    assert "tried" in server["fault"]["message"]
    assert client.total_usage()["VCPU"] == 0


def test_delete_right_after_create_leaves_nothing_behind(client: CloudClient) -> None:
    flavor = client.create_flavor()
    image = client.create_image()
    ids = [client.boot(flavor, image) for _ in range(5)]
    for server_id in ids:
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    for server_id in ids:
        client.wait_gone(server_id)
    # A build the conductor began before the delete may still claim, for a moment, for
    # its deleted server; it gives the claim back when it finds the server gone. What
    # must hold: usage returns to nothing and stays there (a leak would stay).
    import time

    deadline = time.monotonic() + 15
    quiet_since = None
    while time.monotonic() < deadline:
        if client.total_usage()["VCPU"]:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 3:
            break
        time.sleep(0.1)
    assert client.total_usage() == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}


def test_delete_twice_is_idempotent_then_404(client: CloudClient) -> None:
    flavor = client.create_flavor()
    image = client.create_image()
    server_id = client.boot(flavor, image)
    client.wait_status(server_id, {"ACTIVE"})
    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    second = client.compute("DELETE", f"/servers/{server_id}").status_code
    assert second in (204, 404)
    client.wait_gone(server_id)
    gone = client.compute("DELETE", f"/servers/{server_id}")
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["code"] == 404
