"""Actions done on the server's own host: rebuild, rescue, unrescue, trigger_crash_dump,
changePassword; and the diagnostics and topology sub-resources."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
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
def erin(shared_cloud: EmbeddedCloud, admin: CloudClient) -> Iterator[CloudClient]:
    set_quota(admin, "proj-host", instances=40, cores=40, ram=40 * 1024)
    c = client_for(shared_cloud, "erin:proj-host")
    yield c
    c.close()


@pytest.fixture(scope="module")
def images(admin: CloudClient) -> tuple[str, str]:
    return public_image(admin, "host-img-a"), public_image(admin, "host-img-b")


@pytest.fixture(scope="module")
def boot(erin: CloudClient, admin: CloudClient, images: tuple[str, str]) -> Iterator[Any]:
    flavor = ensure_flavor(admin, "host.tiny", ram=64)
    booted: list[str] = []

    def make(**extra: Any) -> str:
        server_id = erin.boot(flavor, images[0], **extra)
        booted.append(server_id)
        settled(erin, server_id, "ACTIVE")
        return server_id

    yield make
    for server_id in booted:
        erin.compute("DELETE", f"/servers/{server_id}")
    for server_id in booted:
        erin.wait_gone(server_id)


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def act_at(client: CloudClient, server_id: str, body: dict[str, Any], version: str
           ) -> httpx.Response:
    return client.compute("POST", f"/servers/{server_id}/action", json=body,
                          headers=at(version))


def console(client: CloudClient, server_id: str) -> str:
    resp = act(client, server_id, {"os-getConsoleOutput": {}})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["output"])


def conflict(resp: httpx.Response) -> str:
    assert resp.status_code == 409, resp.text
    return str(resp.json()["conflictingRequest"]["message"])


# --- rebuild ------------------------------------------------------------------------


def test_rebuild_to_another_image_answers_the_server_and_boots_the_new_image(
        erin: CloudClient, admin: CloudClient, boot: Any, images: tuple[str, str]) -> None:
    server_id = boot(metadata={"old": "1"})
    held = allocations(admin, server_id)
    resp = act_at(erin, server_id, {"rebuild": {
        "imageRef": images[1], "name": "rebuilt", "metadata": {"new": "2"},
        "adminPass": "s3cret-pass", "accessIPv4": "192.0.2.7", "description": "again",
        "preserve_ephemeral": False}}, "2.75")
    assert resp.status_code == 202, resp.text
    server = resp.json()["server"]
    assert resp.headers["Location"].endswith(f"/servers/{server_id}")
    assert (server["id"], server["name"], server["image"]["id"]) == (
        server_id, "rebuilt", images[1])
    assert (server["status"], server["OS-EXT-STS:task_state"]) == ("REBUILD", "rebuilding")
    assert server["adminPass"] == "s3cret-pass"
    assert server["metadata"] == {"new": "2"}
    assert (server["accessIPv4"], server["description"]) == ("192.0.2.7", "again")
    assert "OS-EXT-AZ:availability_zone" in server  # 2.75: every attribute, as show
    assert "OS-EXT-SRV-ATTR:user_data" not in server and server["user_data"] is None
    assert server["key_name"] is None
    done = settled(erin, server_id, "ACTIVE")
    assert done["image"]["id"] == images[1]
    assert f"rebuilt from image {images[1]}" in console(erin, server_id)
    [step] = events(erin, server_id, "rebuild")
    assert (step["event"], step["result"]) == ("compute_rebuild_instance", "Success")
    # Same host, same flavor: the allocations did not move or change.
    assert allocations(admin, server_id) == held


def test_rebuild_with_the_same_image_and_no_password_generates_one(
        erin: CloudClient, boot: Any, images: tuple[str, str]) -> None:
    server_id = boot()
    resp = act(erin, server_id, {"rebuild": {"imageRef": images[0]}})
    assert resp.status_code == 202, resp.text
    server = resp.json()["server"]
    assert len(server["adminPass"]) >= 8
    assert "OS-EXT-AZ:availability_zone" not in server  # before 2.75: the short view
    assert settled(erin, server_id, "ACTIVE")["image"]["id"] == images[0]


def test_a_stopped_server_is_rebuilt_and_stays_stopped(erin: CloudClient, boot: Any,
                                                       images: tuple[str, str]) -> None:
    server_id = boot()
    assert act(erin, server_id, {"os-stop": None}).status_code == 202
    settled(erin, server_id, "SHUTOFF")
    resp = act(erin, server_id, {"rebuild": {"imageRef": images[1]}})
    assert resp.status_code == 202, resp.text
    assert resp.json()["server"]["status"] == "REBUILD"
    done = settled(erin, server_id, "SHUTOFF")
    assert (done["image"]["id"], done["OS-EXT-STS:power_state"]) == (images[1], 4)


def test_rebuild_sets_and_unsets_key_user_data_and_hostname_by_microversion(
        erin: CloudClient, boot: Any, images: tuple[str, str]) -> None:
    resp = erin.compute("POST", "/os-keypairs", json={"keypair": {"name": "host-key"}})
    assert resp.status_code in (200, 201), resp.text
    server_id = boot(key_name="host-key")
    user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    resp = act_at(erin, server_id, {"rebuild": {
        "imageRef": images[0], "key_name": None, "user_data": user_data,
        "hostname": "new-host"}}, "2.90")
    assert resp.status_code == 202, resp.text
    server = resp.json()["server"]
    assert server["key_name"] is None
    assert server["user_data"] == user_data
    assert server["OS-EXT-SRV-ATTR:hostname"] == "new-host"  # 2.90: every user sees it
    settled(erin, server_id, "ACTIVE")
    for body, version in (({"key_name": "host-key"}, "2.53"),
                          ({"user_data": user_data}, "2.56"),
                          ({"personality": []}, "2.57"),
                          ({"hostname": "x1"}, "2.89"),
                          ({"description": "d"}, "2.18")):
        resp = act_at(erin, server_id, {"rebuild": {"imageRef": images[0], **body}},
                      version)
        assert resp.status_code == 400, (body, version, resp.text)
        assert "Additional properties are not allowed" in resp.json()["badRequest"]["message"]
    resp = act_at(erin, server_id, {"rebuild": {"imageRef": images[0],
                                                "key_name": "no-such-key"}}, "2.54")
    assert resp.status_code == 400
    assert resp.json()["badRequest"]["message"] == "Invalid key_name provided."
    # Refused bodies changed nothing.
    assert action_names(erin, server_id).count("rebuild") == 1


def test_rebuild_refuses_an_image_the_caller_cannot_see_and_bad_bodies(
        erin: CloudClient, admin: CloudClient, boot: Any, images: tuple[str, str]) -> None:
    server_id = boot()
    private = admin.create_image("host-private")  # the admin project's, private
    bad = [({"imageRef": private}, "Cannot find image for rebuild"),
           ({"imageRef": "not-a-uuid"}, None),
           ({}, None),
           ({"imageRef": images[0], "bogus": 1}, None),
           ({"imageRef": images[0], "name": ""}, None),
           ({"imageRef": images[0], "accessIPv4": "::1"}, None),
           ({"imageRef": images[0], "preserve_ephemeral": "maybe"}, None)]
    for body, message in bad:
        resp = act(erin, server_id, {"rebuild": body})
        assert resp.status_code == 400, (body, resp.text)
        if message is not None:
            assert resp.json()["badRequest"]["message"] == message
    server = erin.server(server_id)
    assert (server["status"], server["image"]["id"]) == ("ACTIVE", images[0])
    assert "rebuild" not in action_names(erin, server_id)


def test_rebuild_refused_in_the_wrong_state_and_when_locked(
        erin: CloudClient, admin: CloudClient, boot: Any, images: tuple[str, str]) -> None:
    server_id = boot()
    assert act(erin, server_id, {"pause": None}).status_code == 202
    settled(erin, server_id, "PAUSED")
    assert conflict(act(erin, server_id, {"rebuild": {"imageRef": images[1]}})) == (
        f"Cannot 'rebuild' instance {server_id} while it is in vm_state paused")
    assert act(erin, server_id, {"unpause": None}).status_code == 202
    settled(erin, server_id, "ACTIVE")
    assert act(erin, server_id, {"lock": None}).status_code == 202
    assert conflict(act(erin, server_id, {"rebuild": {"imageRef": images[1]}})) == (
        f"Instance {server_id} is locked")
    resp = act(admin, server_id, {"rebuild": {"imageRef": images[1]}})
    assert resp.status_code == 202, resp.text
    settled(erin, server_id, "ACTIVE")
    assert act(admin, server_id, {"unlock": None}).status_code == 202


def test_a_failed_rebuild_leaves_the_server_in_error_and_a_rebuild_recovers_it(
        erin: CloudClient, boot: Any, images: tuple[str, str]) -> None:
    server_id = boot()
    resp = act(erin, server_id, {"rebuild": {"imageRef": images[1],
                                             "metadata": {"fake:fail_rebuild": "*"}}})
    assert resp.status_code == 202, resp.text
    failed = settled(erin, server_id, "ERROR")
    assert "simulated rebuild failure" in failed["fault"]["message"]
    [step] = events(erin, server_id, "rebuild")
    assert step["result"] == "Error"
    resp = act(erin, server_id, {"rebuild": {"imageRef": images[0], "metadata": {}}})
    assert resp.status_code == 202, resp.text
    assert settled(erin, server_id, "ACTIVE")["image"]["id"] == images[0]


def test_two_concurrent_actions_one_wins_the_other_conflicts(
        erin: CloudClient, boot: Any, images: tuple[str, str]) -> None:
    # Each operation on this guest takes a second, so the winner's task is still running.
    server_id = boot(metadata={"fake:power_seconds": "1"})
    bodies = [{"rebuild": {"imageRef": images[1],
                           "metadata": {"fake:power_seconds": "1"}}},
              {"rescue": None}, {"changePassword": {"adminPass": "pw"}}]
    answers: list[httpx.Response] = []
    start = threading.Barrier(len(bodies))

    def send(body: dict[str, Any]) -> None:
        start.wait()
        answers.append(act(erin, server_id, body))

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    assert codes.count(409) == 2, [(r.status_code, r.text) for r in answers]
    assert codes[0] in (200, 202)
    final = {"rebuild": "ACTIVE", "rescue": "RESCUE", "changePassword": "ACTIVE"}
    [winner] = [name for name in action_names(erin, server_id)
                if name in ("rebuild", "rescue", "changePassword")]
    settled(erin, server_id, final[winner], timeout=30)
    if winner == "rescue":
        assert act(erin, server_id, {"unrescue": None}).status_code == 202
        settled(erin, server_id, "ACTIVE", timeout=30)


@pytest.mark.parametrize("name", ["rebuild", "rescue", "changePassword"])
def test_the_same_action_twice_at_once_starts_once(erin: CloudClient, boot: Any,
                                                   images: tuple[str, str], name: str) -> None:
    server_id = boot(metadata={"fake:power_seconds": "1"})
    body: dict[str, Any] = {
        "rebuild": {"rebuild": {"imageRef": images[0],
                                "metadata": {"fake:power_seconds": "1"}}},
        "rescue": {"rescue": None},
        "changePassword": {"changePassword": {"adminPass": "pw"}}}[name]
    answers: list[httpx.Response] = []
    start = threading.Barrier(2)

    def send() -> None:
        start.wait()
        answers.append(act(erin, server_id, body))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers)[1] == 409, [r.text for r in answers]
    assert sorted(r.status_code for r in answers)[0] in (200, 202), [r.text for r in answers]
    assert action_names(erin, server_id).count(name) == 1
    if name == "rescue":
        settled(erin, server_id, "RESCUE")
        assert act(erin, server_id, {"unrescue": None}).status_code == 202
    settled(erin, server_id, "ACTIVE")


# --- rescue ---------------------------------------------------------------------------


def test_rescue_boots_the_rescue_image_and_unrescue_returns(
        erin: CloudClient, boot: Any, images: tuple[str, str]) -> None:
    server_id = boot()
    resp = act(erin, server_id, {"rescue": {"adminPass": "rescue-pw",
                                            "rescue_image_ref": images[1]}})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"adminPass": "rescue-pw"}
    rescued = settled(erin, server_id, "RESCUE")
    assert rescued["OS-EXT-STS:vm_state"] == "rescued"
    assert f"rescued with image {images[1]}" in console(erin, server_id)
    assert conflict(act(erin, server_id, {"rescue": None})) == (
        f"Cannot 'rescue' instance {server_id} while it is in vm_state rescued")
    assert conflict(act(erin, server_id, {"os-stop": None})).startswith("Cannot 'stop'")
    assert act(erin, server_id, {"unrescue": None}).status_code == 202
    settled(erin, server_id, "ACTIVE")
    assert [e["event"] for e in events(erin, server_id, "unrescue")] == [
        "compute_unrescue_instance"]
    assert conflict(act(erin, server_id, {"unrescue": None})) == (
        f"Cannot 'unrescue' instance {server_id} while it is in vm_state active")


def test_rescue_without_an_image_uses_the_servers_own(erin: CloudClient, boot: Any,
                                                      images: tuple[str, str]) -> None:
    server_id = boot()
    resp = act(erin, server_id, {"rescue": None})
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["adminPass"]) >= 8
    settled(erin, server_id, "RESCUE")
    assert f"rescued with image {images[0]}" in console(erin, server_id)
    assert act(erin, server_id, {"unrescue": None}).status_code == 202
    settled(erin, server_id, "ACTIVE")
    bad = act(erin, server_id, {"rescue": {"rescue_image_ref": "nope"}})
    assert bad.status_code == 400


# --- crash dump, password ---------------------------------------------------------------


def test_trigger_crash_dump_reaches_the_guest_and_needs_2_17(erin: CloudClient,
                                                             boot: Any) -> None:
    server_id = boot()
    assert act_at(erin, server_id, {"trigger_crash_dump": None}, "2.16").status_code == 404
    resp = act_at(erin, server_id, {"trigger_crash_dump": None}, "2.17")
    assert resp.status_code == 202, resp.text
    [step] = events(erin, server_id, "trigger_crash_dump")
    assert (step["event"], step["result"]) == ("compute_trigger_crash_dump", "Success")
    assert "NMI received" in console(erin, server_id)
    assert erin.server(server_id)["status"] == "ACTIVE"
    assert act(erin, server_id, {"os-stop": None}).status_code == 202
    settled(erin, server_id, "SHUTOFF")
    assert conflict(act_at(erin, server_id, {"trigger_crash_dump": None}, "2.17")) == (
        f"Cannot 'trigger_crash_dump' instance {server_id} while it is in vm_state stopped")


def test_change_password_is_set_on_the_host_and_refused_when_stopped(
        erin: CloudClient, boot: Any) -> None:
    server_id = boot()
    resp = act(erin, server_id, {"changePassword": {"adminPass": "n3w"}})
    assert resp.status_code == 202, resp.text
    assert erin.server(server_id)["status"] == "ACTIVE"  # the host answered already
    [step] = events(erin, server_id, "changePassword")
    assert (step["event"], step["result"]) == ("compute_set_admin_password", "Success")
    assert act(erin, server_id, {"changePassword": {}}).status_code == 400
    assert act(erin, server_id, {"changePassword": {"adminPass": 5}}).status_code == 400
    assert act(erin, server_id, {"os-stop": None}).status_code == 202
    settled(erin, server_id, "SHUTOFF")
    assert conflict(act(erin, server_id, {"changePassword": {"adminPass": "x"}})) == (
        f"Cannot 'changePassword' instance {server_id} while it is in vm_state stopped")


# --- diagnostics, topology --------------------------------------------------------------


def test_diagnostics_are_admin_only_in_the_standard_and_legacy_formats(
        erin: CloudClient, admin: CloudClient, boot: Any) -> None:
    server_id = boot()
    assert erin.compute("GET", f"/servers/{server_id}/diagnostics").status_code == 403
    resp = admin.compute("GET", f"/servers/{server_id}/diagnostics", headers=at("2.48"))
    assert resp.status_code == 200, resp.text
    diags = resp.json()
    assert {"state", "driver", "hypervisor", "hypervisor_os", "uptime", "config_drive",
            "num_cpus", "num_nics", "num_disks", "memory_details", "cpu_details",
            "nic_details", "disk_details"} <= set(diags)
    assert (diags["state"], diags["driver"], diags["hypervisor"], diags["num_cpus"]) == (
        "running", "libvirt", "fake", 1)
    assert diags["memory_details"] == {"maximum": 64, "used": 64}
    assert diags["num_disks"] == len(diags["disk_details"]) == 1
    legacy = admin.compute("GET", f"/servers/{server_id}/diagnostics", headers=at("2.47"))
    assert legacy.status_code == 200
    assert legacy.json()["cpu0_time"] == 0
    assert legacy.json()["memory"] == 64 * 1024
    missing = admin.compute("GET", "/servers/00000000-0000-0000-0000-000000000000/"
                                   "diagnostics")
    assert missing.status_code == 404


def test_topology_of_a_server_without_numa_is_empty(erin: CloudClient, admin: CloudClient,
                                                    boot: Any) -> None:
    server_id = boot()
    for client in (erin, admin):
        resp = client.compute("GET", f"/servers/{server_id}/topology", headers=at("2.78"))
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"nodes": [], "pagesize_kb": None}
    old = erin.compute("GET", f"/servers/{server_id}/topology", headers=at("2.77"))
    assert old.status_code == 404
