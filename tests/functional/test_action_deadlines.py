"""Server actions that overrun their deadline end: the task clears, the step is an error."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.states import PowerState
from scheduler.manager import SchedulerManager
from tests.cloud import CloudClient
from tests.conftest import cloud_settings, running_cloud
from tests.functional.compute.actions_helpers import (
    act,
    actions,
    allocations,
    events,
    migration_of,
    provider_of,
    settled,
)


@pytest.fixture
def slow_cloud(tmp_path: Path, backend: str) -> Iterator[CloudClient]:
    # Tasks may take 1 s; the servers below take 3 s per power operation.
    settings = cloud_settings(tmp_path, backend, conductor={"task_timeout": 1})
    with running_cloud(settings) as cloud:
        client = CloudClient(cloud.base_url, version="2.73")
        yield client
        client.close()


def test_overdue_power_actions_and_moves_are_ended_by_the_sweeper(
        slow_cloud: CloudClient) -> None:
    client = slow_cloud
    small = client.create_flavor("small", ram=64)
    client.create_flavor("large", ram=128)
    image = client.create_image()
    server_id = client.boot(small, image, metadata={"fake:power_seconds": "3"})
    settled(client, server_id, "ACTIVE")
    source = client.server(server_id)["OS-EXT-SRV-ATTR:host"]

    assert act(client, server_id, {"os-stop": None}).status_code == 202
    assert client.server(server_id)["OS-EXT-STS:task_state"] == "powering-off"
    settled(client, server_id, "ACTIVE", timeout=5)  # the sweeper ended the task
    [step] = events(client, server_id, "stop")
    assert (step["event"], step["result"]) == ("compute_stop_instance", "Error")
    assert actions(client, server_id)[0]["message"] == "Error"

    # The late stop lands on an idle server: only its power state is recorded.
    wait_power(client, server_id, PowerState.SHUTDOWN)
    assert client.server(server_id)["status"] == "ACTIVE"

    assert act(client, server_id, {"resize": {"flavorRef": "large"}}).status_code == 202
    server = settled(client, server_id, "ERROR", timeout=10)
    assert "did not finish in time" in server["fault"]["message"]
    migration = wait_migration(client, server_id, "error")
    # Still recorded on the source, holding only the source's resources.
    assert server["OS-EXT-SRV-ATTR:host"] == source
    assert allocations(client, server_id) == {
        provider_of(client, source): {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}}
    assert allocations(client, migration["uuid"]) == {}
    # The late move finds its task gone, goes no further and restarts the source guest.
    wait_power(client, server_id, PowerState.RUNNING, timeout=20)
    assert client.server(server_id)["OS-EXT-SRV-ATTR:host"] == source

    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)
    assert client.total_usage() == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}


def test_a_resize_claim_landing_after_its_deadline_leaves_the_server_its_source_share(
        slow_cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    client = slow_cloud
    small = client.create_flavor("small", ram=64)
    client.create_flavor("large", ram=128)
    server_id = client.boot(small, client.create_image())
    source = settled(client, server_id, "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    claimed = threading.Event()
    claim_move = SchedulerManager.claim_move

    def slow_claim(self: SchedulerManager, *args: Any, **kw: Any) -> Any:
        time.sleep(2.5)  # the sweeper ends the resize (1 s) meanwhile
        try:
            return claim_move(self, *args, **kw)
        finally:
            claimed.set()

    monkeypatch.setattr(SchedulerManager, "claim_move", slow_claim)
    assert act(client, server_id, {"resize": {"flavorRef": "large"}}).status_code == 202
    server = settled(client, server_id, "ERROR", timeout=10)
    assert "did not finish in time" in server["fault"]["message"]
    assert claimed.wait(10)
    # The late claim moved the source share to the migration and claimed a destination:
    # the conductor, finding the task gone, gives the share back to the server.
    expected = {provider_of(client, source): {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}}
    migration = wait_migration(client, server_id, "error")
    deadline = time.monotonic() + 10
    while allocations(client, server_id) != expected \
            or allocations(client, migration["uuid"]) != {}:
        assert time.monotonic() < deadline, (allocations(client, server_id),
                                             allocations(client, migration["uuid"]))
        time.sleep(0.1)
    assert client.total_usage() == {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}
    assert client.server(server_id)["OS-EXT-SRV-ATTR:host"] == source


def wait_power(client: CloudClient, server_id: str, power: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while client.server(server_id)["OS-EXT-STS:power_state"] != power:
        assert time.monotonic() < deadline, client.server(server_id)
        time.sleep(0.1)


def wait_migration(client: CloudClient, server_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while (migration := migration_of(client, server_id))["status"] != status:
        assert time.monotonic() < deadline, migration
        time.sleep(0.1)
    return migration


def test_an_overdue_evacuation_gives_the_destination_back(slow_cloud: CloudClient) -> None:
    client = slow_cloud
    v = {"OpenStack-API-Version": "compute 2.95"}
    small = client.create_flavor("small", ram=64)
    image = client.create_image()
    # Stopping the rebuilt guest (2.95 leaves it stopped) takes 3 s: past the deadline.
    server_id = client.boot(small, image, metadata={"fake:power_seconds": "3"})
    source = settled(client, server_id, "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    services = client.compute("GET", "/os-services", params={"host": source}, headers=v)
    [svc] = [s for s in services.json()["services"] if s["binary"] == "nova-compute"]
    assert client.compute("PUT", f"/os-services/{svc['id']}", json={"forced_down": True},
                          headers=v).status_code == 200
    resp = client.compute("POST", f"/servers/{server_id}/action", json={"evacuate": {}},
                          headers=v)
    assert resp.status_code == 200, resp.text
    server = settled(client, server_id, "ACTIVE", timeout=10)
    assert server["OS-EXT-SRV-ATTR:host"] == source
    assert [(e["event"], e["result"]) for e in events(client, server_id, "evacuate")] == [
        ("conductor_rebuild_server", "Success"), ("compute_rebuild_instance", "Error")]
    migration = wait_migration(client, server_id, "error")
    assert migration["migration_type"] == "evacuation"
    # The late end of the rebuild on the destination changes nothing: only the source
    # holds the server, nothing is left for the migration.
    time.sleep(4)
    server = client.server(server_id)
    assert (server["status"], server["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", source)
    assert allocations(client, server_id) == {
        provider_of(client, source): {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}}
    assert allocations(client, migration["uuid"]) == {}
