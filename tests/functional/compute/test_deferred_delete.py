"""Soft delete ([compute] reclaim_instance_interval), restore, forceDelete and the
reclaim; shelving that keeps the host ([compute] shelved_offload_time -1 and N)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from common.states import PowerState
from tests.cloud import CloudClient
from tests.conftest import BACKENDS, cloud_settings, running_cloud
from tests.functional.compute.actions_helpers import (
    act,
    action_names,
    allocations,
    events,
    settled,
)
from tests.functional.compute.helpers import ensure_flavor, public_image


def _cloud(tmp: Path, backend: str, reclaim: int, offload: int,
           conductor: dict[str, object] | None = None, **compute: object
           ) -> Iterator[EmbeddedCloud]:
    settings = cloud_settings(tmp, backend, conductor, reclaim_instance_interval=reclaim,
                              shelved_offload_time=offload, **compute)
    with running_cloud(settings) as running:
        yield running


@pytest.fixture(scope="module", params=BACKENDS)
def deferred(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    """Deletes are deferred for an hour; shelved servers are never offloaded."""
    yield from _cloud(tmp_path_factory.mktemp("deferred"), str(request.param), 3600, -1)


@pytest.fixture(scope="module")
def users(deferred: EmbeddedCloud) -> Iterator[tuple[CloudClient, CloudClient]]:
    owner = CloudClient(deferred.base_url, token="fay:proj-deferred", version="2.73")
    admin = CloudClient(deferred.base_url, token="admin:admin", version="2.73")
    yield owner, admin
    owner.close()
    admin.close()


def _booter(owner: CloudClient, admin: CloudClient) -> Iterator[Any]:
    flavor, image = ensure_flavor(admin, "dd.tiny", ram=64), public_image(admin, "dd-img")
    booted: list[str] = []

    def make(status: str = "ACTIVE", **extra: Any) -> str:
        server_id = owner.boot(flavor, image, **extra)
        booted.append(server_id)
        settled(owner, server_id, status)
        return server_id

    yield make
    for server_id in booted:
        admin.compute("POST", f"/servers/{server_id}/action", json={"forceDelete": None})
    for server_id in booted:
        owner.wait_gone(server_id)


@pytest.fixture(scope="module")
def boot(users: tuple[CloudClient, CloudClient]) -> Iterator[Any]:
    yield from _booter(*users)


def _instances_used(client: CloudClient) -> int:
    resp = client.compute("GET", "/limits")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["limits"]["absolute"]["totalInstancesUsed"])


def _at_once(client: CloudClient, server_id: str, bodies: list[dict[str, Any]]) -> list[int]:
    codes = [0] * len(bodies)
    start = threading.Barrier(len(bodies))

    def send(i: int) -> None:
        start.wait()
        codes[i] = act(client, server_id, bodies[i]).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


# --- soft delete, restore, forceDelete ------------------------------------------------


def test_delete_soft_deletes_and_restore_brings_the_server_back(
        users: tuple[CloudClient, CloudClient], boot: Any) -> None:
    owner, admin = users
    server_id = boot()
    held = allocations(admin, server_id)
    used = _instances_used(owner)
    assert owner.compute("DELETE", f"/servers/{server_id}").status_code == 204
    server = settled(owner, server_id, "SOFT_DELETED")
    assert server["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    # Still on its host, holding its resources and its quota.
    assert admin.server(server_id)["OS-EXT-SRV-ATTR:host"] is not None
    assert allocations(admin, server_id) == held
    assert _instances_used(owner) == used
    [step] = events(admin, server_id, "delete")
    assert (step["event"], step["result"]) == ("compute_soft_delete_instance", "Success")

    resp = act(owner, server_id, {"restore": None})
    assert resp.status_code == 202, resp.text
    server = settled(owner, server_id, "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert allocations(admin, server_id) == held
    [step] = events(admin, server_id, "restore")
    assert (step["event"], step["result"]) == ("compute_restore_instance", "Success")
    assert action_names(owner, server_id) == ["create", "delete", "restore"]


def test_force_delete_ends_a_soft_deleted_server_at_once(
        users: tuple[CloudClient, CloudClient], boot: Any) -> None:
    owner, admin = users
    server_id = boot()
    used = _instances_used(owner)
    owner.compute("DELETE", f"/servers/{server_id}")
    settled(owner, server_id, "SOFT_DELETED")
    resp = act(owner, server_id, {"forceDelete": None})
    assert resp.status_code == 202, resp.text
    owner.wait_gone(server_id)
    assert allocations(admin, server_id) == {}
    assert _instances_used(owner) == used - 1


def test_restore_is_refused_unless_soft_deleted(users: tuple[CloudClient, CloudClient],
                                                boot: Any) -> None:
    owner, _ = users
    server_id = boot()
    resp = act(owner, server_id, {"restore": None})
    assert resp.status_code == 409, resp.text
    assert resp.json() == {"conflictingRequest": {"code": 409, "message": (
        f"Cannot 'restore' instance {server_id} while it is in vm_state active")}}
    assert action_names(owner, server_id) == ["create"]
    missing = act(owner, "6d4b6f3e-0000-4000-8000-000000000000", {"restore": None})
    assert missing.status_code == 404


def test_a_server_that_never_ran_is_deleted_at_once(users: tuple[CloudClient, CloudClient],
                                                    boot: Any) -> None:
    owner, admin = users
    server_id = boot("ERROR", metadata={"fake:fail_spawn": "*"})
    assert owner.compute("DELETE", f"/servers/{server_id}").status_code == 204
    owner.wait_gone(server_id)
    assert allocations(admin, server_id) == {}


@pytest.mark.parametrize("bodies", [
    [{"restore": None}, {"restore": None}],
    [{"restore": None}, {"forceDelete": None}],
], ids=["restore-twice", "restore-and-force-delete"])
def test_two_conflicting_actions_on_a_soft_deleted_server_one_wins(
        users: tuple[CloudClient, CloudClient], boot: Any,
        bodies: list[dict[str, Any]]) -> None:
    owner, admin = users
    # Power operations on this guest take a second: the loser meets a running task.
    server_id = boot(metadata={"fake:power_seconds": "1"})
    owner.compute("DELETE", f"/servers/{server_id}")
    settled(owner, server_id, "SOFT_DELETED")
    codes = _at_once(owner, server_id, bodies)
    assert sorted(codes) == [202, 409], codes
    winner = bodies[codes.index(202)]
    if "restore" in winner:
        settled(owner, server_id, "ACTIVE")
        assert allocations(admin, server_id) != {}
    else:
        owner.wait_gone(server_id)
        assert allocations(admin, server_id) == {}


# --- shelved, kept on the host (shelved_offload_time -1) ---------------------------------


def test_a_shelved_server_keeps_its_host_until_unshelved(
        users: tuple[CloudClient, CloudClient], boot: Any) -> None:
    owner, admin = users
    server_id = boot()
    host = admin.server(server_id)["OS-EXT-SRV-ATTR:host"]
    held = allocations(admin, server_id)
    assert act(owner, server_id, {"shelve": None}).status_code == 202
    server = settled(owner, server_id, "SHELVED")
    assert server["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    assert admin.server(server_id)["OS-EXT-SRV-ATTR:host"] == host
    assert allocations(admin, server_id) == held
    [image] = [i for i in owner.http.get("/image/v2/images").json()["images"]
               if i.get("instance_uuid") == server_id]
    time.sleep(2.5)  # the reclaimer runs every second: it never offloads here
    assert owner.server(server_id)["status"] == "SHELVED"

    assert act(owner, server_id, {"unshelve": None}).status_code == 202
    server = settled(owner, server_id, "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert admin.server(server_id)["OS-EXT-SRV-ATTR:host"] == host
    assert allocations(admin, server_id) == held
    deadline = time.monotonic() + 10
    while owner.http.get(f"/image/v2/images/{image['id']}").status_code != 404:
        assert time.monotonic() < deadline, "the shelved image was not deleted"
        time.sleep(0.05)
    [step] = events(admin, server_id, "unshelve")
    assert (step["event"], step["result"]) == ("compute_start_instance", "Success")


def test_shelve_offload_releases_the_host(users: tuple[CloudClient, CloudClient],
                                          boot: Any) -> None:
    owner, admin = users
    server_id = boot()
    act(owner, server_id, {"shelve": None})
    settled(owner, server_id, "SHELVED")
    assert act(owner, server_id, {"shelveOffload": None}).status_code == 403
    codes = _at_once(admin, server_id, [{"shelveOffload": None}, {"shelveOffload": None}])
    assert sorted(codes) == [202, 409], codes
    server = settled(owner, server_id, "SHELVED_OFFLOADED")
    assert server["OS-EXT-STS:power_state"] == PowerState.NOSTATE
    assert admin.server(server_id)["OS-EXT-SRV-ATTR:host"] is None
    assert allocations(admin, server_id) == {}
    [step] = events(admin, server_id, "shelveOffload")
    assert (step["event"], step["result"]) == ("compute_shelve_offload_instance", "Success")
    assert act(owner, server_id, {"unshelve": None}).status_code == 202
    settled(owner, server_id, "ACTIVE")
    assert allocations(admin, server_id) != {}


def test_force_delete_of_a_shelved_server_drops_its_snapshot(
        users: tuple[CloudClient, CloudClient], boot: Any) -> None:
    owner, admin = users
    server_id = boot()
    act(owner, server_id, {"shelve": None})
    settled(owner, server_id, "SHELVED")
    [image] = [i for i in owner.http.get("/image/v2/images").json()["images"]
               if i.get("instance_uuid") == server_id]
    assert act(owner, server_id, {"forceDelete": None}).status_code == 202
    owner.wait_gone(server_id)
    assert allocations(admin, server_id) == {}
    assert owner.http.get(f"/image/v2/images/{image['id']}").status_code == 404


def test_unshelve_of_a_shelved_server_takes_no_zone(
        deferred: EmbeddedCloud, users: tuple[CloudClient, CloudClient], boot: Any) -> None:
    owner, _ = users
    server_id = boot()
    act(owner, server_id, {"shelve": None})
    settled(owner, server_id, "SHELVED")
    newer = CloudClient(deferred.base_url, token="fay:proj-deferred", version="2.77")
    try:
        resp = act(newer, server_id, {"unshelve": {"availability_zone": "nova"}})
        assert resp.status_code == 409, resp.text
        assert "SHELVED_OFFLOADED" in resp.json()["conflictingRequest"]["message"]
        bad = act(newer, server_id, {"unshelve": {}})
        assert bad.status_code == 400, bad.text
    finally:
        newer.close()
    assert owner.server(server_id)["OS-EXT-STS:task_state"] is None


# --- the periodic reclaim and offload -------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def hurried(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    """Soft-deleted servers are reclaimed, shelved ones offloaded, after 2 seconds."""
    yield from _cloud(tmp_path_factory.mktemp("hurried"), str(request.param), 2, 2)


@pytest.fixture(scope="module")
def hurried_users(hurried: EmbeddedCloud) -> Iterator[tuple[CloudClient, CloudClient]]:
    owner = CloudClient(hurried.base_url, token="gus:proj-hurried", version="2.73")
    admin = CloudClient(hurried.base_url, token="admin:admin", version="2.73")
    yield owner, admin
    owner.close()
    admin.close()


@pytest.fixture(scope="module")
def hurried_boot(hurried_users: tuple[CloudClient, CloudClient]) -> Iterator[Any]:
    yield from _booter(*hurried_users)


def test_soft_deleted_servers_are_reclaimed_after_the_interval(
        hurried_users: tuple[CloudClient, CloudClient], hurried_boot: Any) -> None:
    owner, admin = hurried_users
    server_id = hurried_boot()
    assert allocations(admin, server_id) != {}
    owner.compute("DELETE", f"/servers/{server_id}")
    settled(owner, server_id, "SOFT_DELETED")
    owner.wait_gone(server_id, timeout=20)
    assert allocations(admin, server_id) == {}


def test_shelved_servers_are_offloaded_after_the_offload_time(
        hurried_users: tuple[CloudClient, CloudClient], hurried_boot: Any) -> None:
    owner, admin = hurried_users
    server_id = hurried_boot()
    act(owner, server_id, {"shelve": None})
    settled(owner, server_id, "SHELVED")
    server = settled(owner, server_id, "SHELVED_OFFLOADED", timeout=20)
    assert server["OS-EXT-STS:power_state"] == PowerState.NOSTATE
    assert admin.server(server_id)["OS-EXT-SRV-ATTR:host"] is None
    assert allocations(admin, server_id) == {}


# --- an unshelve that outlives its deadline ----------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def slow(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    """Spawns take 4 seconds, tasks may last 2 (builds have their own, longer, deadline)."""
    yield from _cloud(tmp_path_factory.mktemp("slow"), str(request.param), 0, 0,
                      {"task_timeout": 2}, fake_spawn_seconds=4.0)


def test_an_expired_unshelve_gives_its_host_back_and_keeps_the_snapshot(
        slow: EmbeddedCloud) -> None:
    owner = CloudClient(slow.base_url, token="hal:proj-slow", version="2.73")
    admin = CloudClient(slow.base_url, token="admin:admin", version="2.73")
    try:
        boot = _booter(owner, admin)
        make = next(boot)
        server_id = make()
        act(owner, server_id, {"shelve": None})
        settled(owner, server_id, "SHELVED_OFFLOADED")
        [image] = [i for i in owner.http.get("/image/v2/images").json()["images"]
                   if i.get("instance_uuid") == server_id]
        assert act(owner, server_id, {"unshelve": None}).status_code == 202
        # The spawn outlives the task's deadline: the sweeper ends the task, the
        # reclaimer takes the host and the claim back.
        deadline = time.monotonic() + 30
        while True:
            shown = admin.server(server_id)
            if (shown["status"], shown["OS-EXT-STS:task_state"],
                    shown["OS-EXT-SRV-ATTR:host"]) == ("SHELVED_OFFLOADED", None, None):
                break
            assert time.monotonic() < deadline, shown
            time.sleep(0.1)
        assert allocations(admin, server_id) == {}
        [step] = events(admin, server_id, "unshelve")
        assert step["result"] == "Error"
        # The late spawn's answer changes nothing; the snapshot stays for another try.
        time.sleep(4)
        shown = admin.server(server_id)
        assert (shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == ("SHELVED_OFFLOADED", None)
        assert allocations(admin, server_id) == {}
        assert owner.http.get(f"/image/v2/images/{image['id']}").status_code == 200
        for _ in boot:
            pass
    finally:
        owner.close()
        admin.close()
