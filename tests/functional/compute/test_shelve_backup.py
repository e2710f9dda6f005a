"""createBackup, shelve (offloaded at once: upstream's default shelved_offload_time 0),
shelveOffload and unshelve through the real app, on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from common.states import PowerState
from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import (
    act,
    action_names,
    allocations,
    events,
    settled,
)
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image, set_quota


@pytest.fixture(scope="module")
def erin(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "erin:proj-shelve", version="2.91")
    yield c
    c.close()


@pytest.fixture(scope="module")
def root(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    """An admin at 2.91 (unshelve to a host)."""
    c = client_for(shared_cloud, "admin:admin", version="2.91")
    yield c
    c.close()


@pytest.fixture(scope="module")
def boot(erin: CloudClient, admin: CloudClient) -> Iterator[Any]:
    flavor, image = ensure_flavor(admin, "shelve.tiny", ram=64), public_image(admin, "sh-img")
    set_quota(admin, "proj-shelve", instances=40, cores=40)
    booted: list[str] = []

    def make(**extra: Any) -> str:
        server_id = erin.boot(flavor, image, **extra)
        booted.append(server_id)
        settled(erin, server_id, "ACTIVE")
        return server_id

    yield make
    for server_id in booted:
        erin.compute("DELETE", f"/servers/{server_id}")
    for server_id in booted:
        erin.wait_gone(server_id)


@pytest.fixture(scope="module")
def server(boot: Any) -> str:
    """One ACTIVE server the tests leave ACTIVE."""
    return str(boot())


def _image(client: CloudClient, image_id: str) -> httpx.Response:
    return client.http.get(f"/image/v2/images/{image_id}")


def _active_image(client: CloudClient, image_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        resp = _image(client, image_id)
        assert resp.status_code == 200, resp.text
        if resp.json()["status"] == "active":
            return dict(resp.json())
        assert time.monotonic() < deadline, resp.json()
        time.sleep(0.05)


def _gone(client: CloudClient, image_id: str) -> None:
    deadline = time.monotonic() + 10
    while _image(client, image_id).status_code != 404:
        assert time.monotonic() < deadline, f"image {image_id} was not deleted"
        time.sleep(0.05)


def _backups(client: CloudClient, server_id: str) -> list[str]:
    resp = client.http.get("/image/v2/images")
    assert resp.status_code == 200, resp.text
    return sorted(i["name"] for i in resp.json()["images"]
                  if i.get("image_type") == "backup" and i.get("instance_uuid") == server_id)


def _backup(client: CloudClient, server_id: str, name: str, rotation: Any,
            backup_type: str = "daily") -> str:
    resp = act(client, server_id, {"createBackup": {
        "name": name, "backup_type": backup_type, "rotation": rotation}})
    assert resp.status_code == 202, resp.text
    settled(client, server_id, "ACTIVE")
    return str(resp.json()["image_id"])


# --- createBackup ---------------------------------------------------------------------


def test_backups_rotate_out_the_oldest_of_their_type(erin: CloudClient, boot: Any) -> None:
    server_id = boot()
    first = _backup(erin, server_id, "b1", 2)
    image = _active_image(erin, first)
    assert (image["image_type"], image["backup_type"], image["instance_uuid"]) == (
        "backup", "daily", server_id)
    assert erin.http.get(f"/image/v2/images/{first}/file").content == (
        f"fake snapshot of {server_id}".encode())
    _backup(erin, server_id, "b2", "2")
    weekly = _backup(erin, server_id, "w1", 1, backup_type="weekly")
    _backup(erin, server_id, "b3", 2)
    # The oldest daily one went; the weekly one is rotated separately.
    assert _backups(erin, server_id) == ["b2", "b3", "w1"]
    assert _image(erin, first).status_code == 404
    # Listed as clients look for them: properties as filters, oldest first.
    listed = erin.http.get("/image/v2/images", params={
        "image_type": "backup", "backup_type": "daily", "instance_uuid": server_id,
        "status": "active", "sort_key": "created_at", "sort_dir": "asc"})
    assert [i["name"] for i in listed.json()["images"]] == ["b2", "b3"]
    [step] = events(erin, server_id, "createBackup")
    assert (step["event"], step["result"]) == ("compute_backup_instance", "Success")
    assert action_names(erin, server_id).count("createBackup") == 4
    # Rotation 0 keeps none of the type, not even the new one.
    _backup(erin, server_id, "w2", 0, backup_type="weekly")
    deadline = time.monotonic() + 10
    while _backups(erin, server_id) != ["b2", "b3"]:
        assert time.monotonic() < deadline, _backups(erin, server_id)
        time.sleep(0.05)
    assert _image(erin, weekly).status_code == 404


def test_backup_before_2_45_answers_a_location_unless_rotation_is_0(
        shared_cloud: EmbeddedCloud, boot: Any) -> None:
    server_id = boot()
    old = client_for(shared_cloud, "erin:proj-shelve", version="2.44")
    try:
        resp = act(old, server_id, {"createBackup": {
            "name": "loc", "backup_type": "daily", "rotation": 1}})
        assert resp.status_code == 202, resp.text
        assert resp.content == b""
        image_id = resp.headers["Location"].rsplit("/", 1)[1]
        _active_image(old, image_id)
        settled(old, server_id, "ACTIVE")
        resp = act(old, server_id, {"createBackup": {
            "name": "none", "backup_type": "daily", "rotation": 0}})
        assert resp.status_code == 202, resp.text
        assert "Location" not in resp.headers
        settled(old, server_id, "ACTIVE")
    finally:
        old.close()


BAD_BACKUPS: list[dict[str, Any]] = [
    {"name": "x", "backup_type": "daily"},
    {"name": "x", "rotation": 1},
    {"backup_type": "daily", "rotation": 1},
    {"name": "x", "backup_type": "daily", "rotation": -1},
    {"name": "x", "backup_type": "daily", "rotation": "often"},
    {"name": "x", "backup_type": "daily", "rotation": 1.5},
    {"name": "", "backup_type": "daily", "rotation": 1},
    {"name": "x", "backup_type": 7, "rotation": 1},
    {"name": "x", "backup_type": "daily", "rotation": 1, "when": "now"},
]


@pytest.mark.parametrize("args", BAD_BACKUPS, ids=[str(sorted(a)) + str(a.get("rotation"))
                                                   for a in BAD_BACKUPS])
def test_bad_backup_requests_are_400_without_side_effects(erin: CloudClient, server: str,
                                                          args: dict[str, Any]) -> None:
    before = action_names(erin, server)
    resp = act(erin, server, {"createBackup": args})
    assert resp.status_code == 400, resp.text
    assert "badRequest" in resp.json()
    assert action_names(erin, server) == before
    assert _backups(erin, server) == []


def test_backup_and_shelve_at_once_one_wins(erin: CloudClient, admin: CloudClient,
                                            boot: Any) -> None:
    # Operations on this guest take a second, so the loser meets a running task.
    server_id = boot(metadata={"fake:power_seconds": "1"})
    bodies = [{"createBackup": {"name": "race", "backup_type": "daily", "rotation": 1}},
              {"shelve": None}]
    codes = _at_once(erin, server_id, bodies)
    assert sorted(codes) == [202, 409], codes
    won = "createBackup" if codes[0] == 202 else "shelve"
    assert action_names(erin, server_id) == ["create", won]
    settled(erin, server_id, "ACTIVE" if won == "createBackup" else "SHELVED_OFFLOADED")
    if won == "createBackup":
        assert _backups(erin, server_id) == ["race"]
    else:
        assert allocations(admin, server_id) == {}


def _at_once(client: CloudClient, server_id: str, bodies: list[dict[str, Any]]) -> list[int]:
    codes: list[int] = [0] * len(bodies)
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


# --- shelve / unshelve ------------------------------------------------------------------


def test_shelve_offloads_at_once_and_unshelve_claims_again(erin: CloudClient,
                                                          admin: CloudClient,
                                                          boot: Any) -> None:
    server_id = boot()
    held = allocations(admin, server_id)
    assert held
    before = admin.total_usage()
    resp = act(erin, server_id, {"shelve": None})
    assert resp.status_code == 202, resp.text
    server = settled(erin, server_id, "SHELVED_OFFLOADED")
    assert server["OS-EXT-STS:power_state"] == PowerState.NOSTATE
    shown = admin.server(server_id)
    assert (shown["OS-EXT-SRV-ATTR:host"], shown["OS-EXT-SRV-ATTR:hypervisor_hostname"]) == (
        None, None)
    assert allocations(admin, server_id) == {}
    after = admin.total_usage()
    assert after["MEMORY_MB"] == before["MEMORY_MB"] - 64
    shelved = [i for i in erin.http.get("/image/v2/images").json()["images"]
               if i.get("instance_uuid") == server_id]
    [image] = shelved
    assert (image["name"], image["status"], image["image_type"]) == (
        f"{server['name']}-shelved", "active", "snapshot")
    assert [e["event"] for e in events(erin, server_id, "shelve")] == [
        "compute_shelve_instance", "compute_shelve_offload_instance"]

    resp = act(erin, server_id, {"unshelve": None})
    assert resp.status_code == 202, resp.text
    server = settled(erin, server_id, "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    again = allocations(admin, server_id)
    assert list(again.values()) == list(held.values())
    assert admin.total_usage()["MEMORY_MB"] == before["MEMORY_MB"]
    # The snapshot served: it goes.
    _gone(erin, image["id"])
    [step] = events(erin, server_id, "unshelve")
    assert (step["event"], step["result"]) == ("compute_unshelve_instance", "Success")
    assert action_names(erin, server_id) == ["create", "shelve", "unshelve"]


def test_unshelve_to_a_named_host_and_unpinned_zone(erin: CloudClient, root: CloudClient,
                                                    boot: Any) -> None:
    server_id = boot(availability_zone="nova")
    act(erin, server_id, {"shelve": None})
    settled(erin, server_id, "SHELVED_OFFLOADED")
    origin = root.server(server_id)
    # Only admins may name a host (2.91).
    refused = act(erin, server_id, {"unshelve": {"host": "fake-1"}})
    assert refused.status_code == 403, refused.text
    missing = act(root, server_id, {"unshelve": {"host": "no-such-host"}})
    assert missing.status_code == 400, missing.text
    bad_zone = act(root, server_id, {"unshelve": {"availability_zone": "elsewhere"}})
    assert bad_zone.status_code == 400, bad_zone.text
    assert origin["OS-EXT-STS:task_state"] is None
    resp = act(root, server_id, {"unshelve": {"host": "fake-3", "availability_zone": None}})
    assert resp.status_code == 202, resp.text
    settled(erin, server_id, "ACTIVE")
    shown = root.server(server_id)
    assert shown["OS-EXT-SRV-ATTR:host"] == "fake-3"
    assert shown["OS-EXT-AZ:availability_zone"] == "nova"
    [(provider, _)] = allocations(root, server_id).items()
    names = root.placement("GET", f"/resource_providers/{provider}").json()["name"]
    assert names == "fake-3"


def test_a_failed_unshelve_stays_offloaded_and_holds_nothing(erin: CloudClient,
                                                             admin: CloudClient,
                                                             boot: Any) -> None:
    server_id = boot()
    act(erin, server_id, {"shelve": None})
    settled(erin, server_id, "SHELVED_OFFLOADED")
    # Every host now fails to spawn this server.
    put = erin.compute("PUT", f"/servers/{server_id}/metadata/fake:fail_spawn",
                       json={"meta": {"fake:fail_spawn": "*"}})
    assert put.status_code == 200, put.text
    assert act(erin, server_id, {"unshelve": None}).status_code == 202
    settled(erin, server_id, "SHELVED_OFFLOADED")
    assert admin.server(server_id)["OS-EXT-SRV-ATTR:host"] is None
    assert allocations(admin, server_id) == {}
    [step] = events(admin, server_id, "unshelve")
    assert (step["event"], step["result"]) == ("compute_unshelve_instance", "Error")
    # The snapshot is kept for the next try.
    images = [i for i in erin.http.get("/image/v2/images").json()["images"]
              if i.get("instance_uuid") == server_id]
    assert len(images) == 1


WRONG_STATE = [({"unshelve": None}, "unshelve", "active"),
               ({"shelveOffload": None}, "shelveOffload", "active")]


@pytest.mark.parametrize(("body", "method", "state"), WRONG_STATE,
                         ids=[w[1] for w in WRONG_STATE])
def test_shelve_actions_refused_in_the_wrong_state(admin: CloudClient, erin: CloudClient,
                                                   server: str, body: dict[str, Any],
                                                   method: str, state: str) -> None:
    before = action_names(erin, server)
    resp = act(admin, server, body)
    assert resp.status_code == 409, resp.text
    assert resp.json() == {"conflictingRequest": {"code": 409, "message": (
        f"Cannot '{method}' instance {server} while it is in vm_state {state}")}}
    assert action_names(erin, server) == before


def test_shelving_a_shelved_server_conflicts(erin: CloudClient, admin: CloudClient,
                                             boot: Any) -> None:
    server_id = boot()
    act(erin, server_id, {"shelve": None})
    settled(erin, server_id, "SHELVED_OFFLOADED")
    for body, method in (({"shelve": None}, "shelve"),
                         ({"shelveOffload": None}, "shelveOffload"),
                         ({"createBackup": {"name": "b", "backup_type": "d", "rotation": 1}},
                          "createBackup")):
        resp = act(admin, server_id, body)
        assert resp.status_code == 409, (body, resp.text)
        assert resp.json()["conflictingRequest"]["message"] == (
            f"Cannot '{method}' instance {server_id} while it is in vm_state "
            "shelved_offloaded")
    # shelveOffload is for admins only, as upstream.
    assert act(erin, server_id, {"shelveOffload": None}).status_code == 403


def test_two_unshelves_at_once_one_wins(erin: CloudClient, admin: CloudClient,
                                        boot: Any) -> None:
    server_id = boot()
    act(erin, server_id, {"shelve": None})
    settled(erin, server_id, "SHELVED_OFFLOADED")
    codes = _at_once(erin, server_id, [{"unshelve": None}, {"unshelve": None}])
    assert sorted(codes) == [202, 409], codes
    settled(erin, server_id, "ACTIVE")
    assert action_names(erin, server_id) == ["create", "shelve", "unshelve"]
    assert len(allocations(admin, server_id)) == 1


def test_deleting_an_offloaded_server_frees_everything(erin: CloudClient,
                                                      admin: CloudClient, boot: Any) -> None:
    server_id = boot()
    act(erin, server_id, {"shelve": None})
    settled(erin, server_id, "SHELVED_OFFLOADED")
    [image] = [i for i in erin.http.get("/image/v2/images").json()["images"]
               if i.get("instance_uuid") == server_id]
    assert erin.compute("DELETE", f"/servers/{server_id}").status_code == 204
    erin.wait_gone(server_id)
    assert allocations(admin, server_id) == {}
    # Its snapshot goes with it, as upstream.
    assert _image(erin, image["id"]).status_code == 404
