"""Evacuate: servers of a down host rebuilt elsewhere, what placement holds, the stale guest.

The host is forced down through os-services (2.53), as an operator does once a host is
known dead; its simulated agent keeps running here, so its reconciliation is what removes
the guest the evacuation left behind.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from compute_agent.virt.fake import FakeDriver
from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import (
    act,
    allocations,
    events,
    migration_of,
    provider_of,
    settled,
)
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image

SOURCE = "fake-3"
SMALL = {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}


def guests_on(host: str) -> set[uuid.UUID]:
    """The guests simulated hosts named ``host`` run in this process.

    Other clouds of this test process (the other backend's, or one not yet collected)
    have hosts of the same names; server ids are unique, so asking all of them whether
    they run a server of this cloud is asking this cloud's host.
    """
    drivers = [o for o in gc.get_objects() if isinstance(o, FakeDriver)
               and o.hostname == host]
    assert drivers, host
    return {guest for driver in drivers for guest in driver.list_guests()}


@pytest.fixture(scope="module")
def ops(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "admin:admin", version="2.74")
    yield c
    c.close()


def set_service(ops: CloudClient, host: str, **body: Any) -> None:
    resp = ops.compute("GET", "/os-services", params={"host": host, "binary": "nova-compute"},
                       headers={"OpenStack-API-Version": "compute 2.53"})
    [svc] = resp.json()["services"]
    put = ops.compute("PUT", f"/os-services/{svc['id']}", json=body,
                      headers={"OpenStack-API-Version": "compute 2.53"})
    assert put.status_code == 200, put.text


@pytest.fixture(scope="module")
def on_source(ops: CloudClient) -> Iterator[Any]:
    flavor = ensure_flavor(ops, "ev.small", ram=64, vcpus=1)
    image = public_image(ops, "ev-img")
    booted: list[str] = []

    def make(**extra: Any) -> str:
        server_id = ops.boot(flavor, image, host=SOURCE, **extra)
        booted.append(server_id)
        settled(ops, server_id, "ACTIVE")
        return server_id

    yield make
    set_service(ops, SOURCE, forced_down=False)
    for server_id in booted:
        ops.compute("DELETE", f"/servers/{server_id}")
    for server_id in booted:
        ops.wait_gone(server_id)
        assert allocations(ops, server_id) == {}


def evacuate(ops: CloudClient, server_id: str, body: dict[str, Any] | None = None,
             version: str = "2.74") -> Any:
    return ops.compute("POST", f"/servers/{server_id}/action",
                       json={"evacuate": body or {}},
                       headers={"OpenStack-API-Version": f"compute {version}"})


def wait_guest_gone(host: str, server_id: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while uuid.UUID(server_id) in guests_on(host):
        assert time.monotonic() < deadline, f"{host} still runs {server_id}"
        time.sleep(0.2)


def test_evacuate_needs_the_host_down(ops: CloudClient, on_source: Any) -> None:
    server_id = on_source()
    resp = evacuate(ops, server_id)
    assert resp.status_code == 409, resp.text
    assert f"Compute service of {SOURCE} is still in use." in resp.text
    assert settled(ops, server_id, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == SOURCE


BAD = [
    ({}, "2.13", 400),                                     # onSharedStorage required
    ({"onSharedStorage": "yes"}, "2.13", 400),
    ({"onSharedStorage": False}, "2.14", 400),             # gone from 2.14
    ({"host": "fake-1", "force": True}, "2.68", 400),      # force only 2.29-2.67
    ({"force": "x"}, "2.30", 400),
    ({"host": ""}, "2.74", 400),
    ({"host": SOURCE}, "2.74", 400),                       # the same host
    ({"host": "no-such-host"}, "2.74", 404),
]


def test_bad_evacuations_change_nothing(ops: CloudClient, on_source: Any,
                                        shared_cloud: EmbeddedCloud) -> None:
    server_id = on_source()
    set_service(ops, SOURCE, forced_down=True)
    try:
        for body, version, status in BAD:
            resp = evacuate(ops, server_id, body, version)
            assert resp.status_code == status, (body, version, resp.text)
        member = client_for(shared_cloud, "eve:proj-ev", version="2.74")
        assert evacuate(member, server_id).status_code in (403, 404)
        member.close()
        server = settled(ops, server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == SOURCE
        assert allocations(ops, server_id) == {provider_of(ops, SOURCE): SMALL}
    finally:
        set_service(ops, SOURCE, forced_down=False)


def test_evacuate_rebuilds_elsewhere_frees_the_dead_host_and_its_guest_goes(
        ops: CloudClient, on_source: Any) -> None:
    running = on_source()
    stopped = on_source()
    assert act(ops, stopped, {"os-stop": None}).status_code == 202
    settled(ops, stopped, "SHUTOFF")
    set_service(ops, SOURCE, forced_down=True)
    try:
        resp = evacuate(ops, running, {"onSharedStorage": False}, version="2.1")
        assert resp.status_code == 200, resp.text
        assert resp.json()["adminPass"]
        server = settled(ops, running, "ACTIVE")
        dest = server["OS-EXT-SRV-ATTR:host"]
        assert dest != SOURCE
        assert server["OS-EXT-STS:power_state"] == 1
        migration = migration_of(ops, running)
        assert (migration["migration_type"], migration["status"]) == ("evacuation", "done")
        assert (migration["source_compute"], migration["dest_compute"]) == (SOURCE, dest)
        assert allocations(ops, running) == {provider_of(ops, dest): SMALL}
        assert allocations(ops, migration["uuid"]) == {}
        assert [(e["event"], e["result"]) for e in events(ops, running, "evacuate")] == [
            ("conductor_rebuild_server", "Success"), ("compute_rebuild_instance", "Success")]
        assert uuid.UUID(running) in guests_on(dest)

        # 2.95: to a chosen host, and it stays stopped there.
        resp = evacuate(ops, stopped, {"host": "fake-1"}, version="2.95")
        assert resp.status_code == 200, resp.text
        assert resp.content == b""
        server = settled(ops, stopped, "SHUTOFF")
        assert server["OS-EXT-SRV-ATTR:host"] == "fake-1"
        assert server["OS-EXT-STS:power_state"] == 4
        assert allocations(ops, stopped) == {provider_of(ops, "fake-1"): SMALL}
    finally:
        set_service(ops, SOURCE, forced_down=False)
    # The source's agent still runs (only forced down): its reconciliation removes the
    # guests now recorded elsewhere instead of running them twice.
    wait_guest_gone(SOURCE, running)
    wait_guest_gone(SOURCE, stopped)
    assert uuid.UUID(running) in guests_on(dest)


def test_a_failed_evacuation_leaves_the_server_in_error_on_its_host(
        ops: CloudClient, on_source: Any) -> None:
    server_id = on_source(metadata={"fake:fail_spawn": "fake-2"})
    set_service(ops, SOURCE, forced_down=True)
    try:
        resp = evacuate(ops, server_id, {"host": "fake-2"})
        assert resp.status_code == 200, resp.text
        server = settled(ops, server_id, "ERROR")
        assert server["OS-EXT-SRV-ATTR:host"] == SOURCE
        assert "Evacuation to fake-2 failed" in server["fault"]["message"]
        migration = migration_of(ops, server_id)
        assert migration["status"] == "error"
        # The source's share is the server's again; nothing held on fake-2.
        assert allocations(ops, server_id) == {provider_of(ops, SOURCE): SMALL}
        assert allocations(ops, migration["uuid"]) == {}
        assert uuid.UUID(server_id) not in guests_on("fake-2")
    finally:
        set_service(ops, SOURCE, forced_down=False)
