"""Force-completing (2.22) and aborting (2.24, 2.65) a live migration in progress, with
simulated hosts whose live migrations stay running until they are steered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from common.states import PowerState
from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import (
    act,
    action_names,
    allocations,
    migration_of,
    provider_of,
    settled,
)
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image, set_quota

SMALL = {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}
HELD = {"fake:hold_live_migration": "*"}


@pytest.fixture(scope="module")
def lena(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "lena:proj-steer")
    yield c
    c.close()


@pytest.fixture(scope="module")
def root(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "admin:admin", "2.65")
    yield c
    c.close()


@pytest.fixture(scope="module")
def boot(lena: CloudClient, root: CloudClient) -> Iterator[Any]:
    flavor = ensure_flavor(root, "steer.small", ram=64, vcpus=1)
    image = public_image(root, "steer-img")
    set_quota(root, "proj-steer", instances=20, cores=20)
    booted: list[str] = []

    def make(**extra: Any) -> str:
        server_id = lena.boot(flavor, image, **extra)
        booted.append(server_id)
        settled(lena, server_id, "ACTIVE")
        return server_id

    yield make
    for server_id in booted:
        lena.compute("DELETE", f"/servers/{server_id}")
    for server_id in booted:
        lena.wait_gone(server_id)
    for server_id in booted:
        assert allocations(root, server_id) == {}


def host_of(root: CloudClient, server_id: str) -> str:
    return str(root.server(server_id)["OS-EXT-SRV-ATTR:host"])


def running_migration(root: CloudClient, server_id: str, timeout: float = 30
                      ) -> dict[str, Any]:
    """The server's live migration once the source runs it."""
    deadline = time.monotonic() + timeout
    while True:
        rows = root.compute("GET", f"/servers/{server_id}/migrations").json()["migrations"]
        if rows and rows[0]["status"] == "running":
            return dict(rows[0])
        assert time.monotonic() < deadline, f"no running migration of {server_id}: {rows}"
        time.sleep(0.05)


def finished_migration(root: CloudClient, server_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    # The record's end follows the server's task end: "cancelling" (an abort asked) is
    # not an end either.
    while (record := migration_of(root, server_id))["status"] in ("running", "cancelling"):
        assert time.monotonic() < deadline, record
        time.sleep(0.05)
    return record


def live_migrate(root: CloudClient, server_id: str) -> dict[str, Any]:
    body = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    assert act(root, server_id, body).status_code == 202
    return running_migration(root, server_id)


def test_an_aborted_live_migration_leaves_the_guest_running_on_its_source(
        root: CloudClient, lena: CloudClient, boot: Any) -> None:
    server_id = boot(metadata=HELD)
    source = host_of(root, server_id)
    mig = live_migrate(root, server_id)
    assert mig["dest_compute"] not in (None, source)
    # The destination holds a claim while the migration runs.
    assert provider_of(root, mig["dest_compute"]) in allocations(root, server_id) | \
        allocations(root, migration_of(root, server_id)["uuid"])
    assert lena.compute("DELETE", f"/servers/{server_id}/migrations/{mig['id']}"
                        ).status_code == 403
    resp = root.compute("DELETE", f"/servers/{server_id}/migrations/{mig['id']}",
                        headers={"OpenStack-API-Version": "compute 2.24"})
    assert resp.status_code == 202, resp.text
    server = settled(lena, server_id, "ACTIVE")
    assert host_of(root, server_id) == source
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert "fault" not in server
    record = migration_of(root, server_id)
    assert record["status"] == "cancelled"
    assert allocations(root, server_id) == {provider_of(root, source): SMALL}
    assert allocations(root, record["uuid"]) == {}
    assert root.compute("GET", f"/servers/{server_id}/migrations").json() == {
        "migrations": []}
    assert action_names(lena, server_id) == ["create", "live-migration",
                                             "live_migration_cancel"]
    # The guest still answers on the source.
    console = act(lena, server_id, {"os-getConsoleOutput": {}}).json()["output"]
    assert console.startswith(f"fake guest {server_id} booted")


def test_a_forced_live_migration_completes_on_the_destination(
        root: CloudClient, lena: CloudClient, boot: Any) -> None:
    server_id = boot(metadata=HELD)
    source = host_of(root, server_id)
    mig = live_migrate(root, server_id)
    path = f"/servers/{server_id}/migrations/{mig['id']}/action"
    assert lena.compute("POST", path, json={"force_complete": None}).status_code == 403
    for bad in ({"force_complete": {}}, {"force_complete": None, "x": 1}, {}):
        assert root.compute("POST", path, json=bad).status_code == 400, bad
    resp = root.compute("POST", path, json={"force_complete": None},
                        headers={"OpenStack-API-Version": "compute 2.22"})
    assert resp.status_code == 202, resp.text
    server = settled(lena, server_id, "ACTIVE")
    dest = host_of(root, server_id)
    assert dest == mig["dest_compute"] != source
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    # The flow marks the migration completed just after the server's task ends.
    record = finished_migration(root, server_id)
    assert record["status"] == "completed"
    assert allocations(root, server_id) == {provider_of(root, dest): SMALL}
    assert allocations(root, record["uuid"]) == {}
    assert "live_migration_force_complete" in action_names(lena, server_id)


def test_steering_needs_a_migration_in_progress(root: CloudClient, boot: Any) -> None:
    server_id = boot()
    mig = "1"
    assert root.compute("DELETE", f"/servers/{server_id}/migrations/{mig}"
                        ).status_code == 409
    assert root.compute("POST", f"/servers/{server_id}/migrations/{mig}/action",
                        json={"force_complete": None}).status_code == 409
    assert root.compute("DELETE", f"/servers/00000000-0000-0000-0000-000000000000/"
                        f"migrations/{mig}").status_code == 404


def test_steering_a_held_migration_by_version_and_id(root: CloudClient,
                                                      lena: CloudClient, boot: Any) -> None:
    server_id = boot(metadata=HELD)
    mig = live_migrate(root, server_id)
    base = f"/servers/{server_id}/migrations"
    try:
        old = root.compute("DELETE", f"{base}/{mig['id']}",
                           headers={"OpenStack-API-Version": "compute 2.23"})
        assert old.status_code == 404
        old = root.compute("POST", f"{base}/{mig['id']}/action",
                           json={"force_complete": None},
                           headers={"OpenStack-API-Version": "compute 2.21"})
        assert old.status_code == 404
        for unknown in ("999999", "abc"):
            assert root.compute("DELETE", f"{base}/{unknown}").status_code == 404
            assert root.compute("POST", f"{base}/{unknown}/action",
                                json={"force_complete": None}).status_code == 404
        assert running_migration(root, server_id)["id"] == mig["id"]
    finally:
        assert root.compute("DELETE", f"{base}/{mig['id']}").status_code == 202
    settled(lena, server_id, "ACTIVE")
    assert migration_of(root, server_id)["status"] == "cancelled"
    # Once it has ended there is nothing to abort or complete.
    assert root.compute("DELETE", f"{base}/{mig['id']}").status_code == 409


def preparing_migration(root: CloudClient, server_id: str) -> int:
    deadline = time.monotonic() + 30
    while True:
        rows = root.compute("GET", f"/servers/{server_id}/migrations").json()["migrations"]
        if rows and rows[0]["status"] == "preparing":
            return int(rows[0]["id"])
        assert time.monotonic() < deadline, rows
        time.sleep(0.02)


def test_a_preparing_migration_is_aborted_only_from_2_65(root: CloudClient,
                                                         lena: CloudClient,
                                                         boot: Any) -> None:
    server_id = boot(metadata={"fake:prepare_seconds": "3", **HELD})
    source = host_of(root, server_id)
    body = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    assert act(root, server_id, body).status_code == 202
    mig = preparing_migration(root, server_id)
    path = f"/servers/{server_id}/migrations/{mig}"
    early = root.compute("DELETE", path, headers={"OpenStack-API-Version": "compute 2.64"})
    assert early.status_code == 400 and "preparing" in early.text
    assert root.compute("DELETE", path).status_code == 202  # 2.65
    server = settled(lena, server_id, "ACTIVE")
    assert host_of(root, server_id) == source and "fault" not in server
    record = migration_of(root, server_id)
    assert record["status"] == "cancelled"
    assert allocations(root, server_id) == {provider_of(root, source): SMALL}
    assert allocations(root, record["uuid"]) == {}
    # The guest never left: the source's console is the one it booted with.
    console = act(lena, server_id, {"os-getConsoleOutput": {}}).json()["output"]
    assert console.startswith(f"fake guest {server_id} booted")


def test_abort_and_force_complete_at_once_one_wins(root: CloudClient, lena: CloudClient,
                                                   boot: Any) -> None:
    server_id = boot(metadata=HELD)
    source = host_of(root, server_id)
    mig = live_migrate(root, server_id)
    url = f"/servers/{server_id}/migrations/{mig['id']}"
    with ThreadPoolExecutor(2) as pool:
        abort = pool.submit(root.compute, "DELETE", url)
        force = pool.submit(root.compute, "POST", f"{url}/action",
                            json={"force_complete": None})
        codes = (abort.result().status_code, force.result().status_code)
    # Both may be accepted (the later one then finds nothing to steer) but never fail
    # as a server error; the end is one coherent outcome.
    assert all(code in (202, 400, 409) for code in codes), codes
    assert 202 in codes, codes
    server = settled(lena, server_id, "ACTIVE")
    record = finished_migration(root, server_id)
    assert record["status"] in ("cancelled", "completed"), record
    host = host_of(root, server_id)
    assert host == (source if record["status"] == "cancelled" else mig["dest_compute"])
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert allocations(root, server_id) == {provider_of(root, host): SMALL}
    assert allocations(root, record["uuid"]) == {}
