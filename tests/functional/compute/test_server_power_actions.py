"""POST /servers/{id}/action: power actions, console output, lock, createImage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from common.states import PowerState
from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import act, action_names, events, settled
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image


@pytest.fixture(scope="module")
def carol(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "carol:proj-power")
    yield c
    c.close()


@pytest.fixture(scope="module")
def dave(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "dave:proj-other")
    yield c
    c.close()


@pytest.fixture(scope="module")
def boot(carol: CloudClient, admin: CloudClient) -> Iterator[Any]:
    flavor, image = ensure_flavor(admin, "act.tiny", ram=64), public_image(admin, "act-img")
    booted: list[str] = []

    def make(**extra: Any) -> str:
        server_id = carol.boot(flavor, image, **extra)
        booted.append(server_id)
        settled(carol, server_id, "ACTIVE")
        return server_id

    yield make
    for server_id in booted:
        carol.compute("DELETE", f"/servers/{server_id}")
    for server_id in booted:
        carol.wait_gone(server_id)


@pytest.fixture(scope="module")
def server(boot: Any) -> str:
    """One ACTIVE server the tests leave ACTIVE."""
    return str(boot())


STEPS: list[tuple[dict[str, Any], str, int, str]] = [
    ({"os-stop": None}, "SHUTOFF", PowerState.SHUTDOWN, "compute_stop_instance"),
    ({"os-start": None}, "ACTIVE", PowerState.RUNNING, "compute_start_instance"),
    ({"reboot": {"type": "SOFT"}}, "ACTIVE", PowerState.RUNNING, "compute_reboot_instance"),
    ({"reboot": {"type": "hard"}}, "ACTIVE", PowerState.RUNNING, "compute_reboot_instance"),
    ({"pause": None}, "PAUSED", PowerState.PAUSED, "compute_pause_instance"),
    ({"unpause": None}, "ACTIVE", PowerState.RUNNING, "compute_unpause_instance"),
    ({"suspend": None}, "SUSPENDED", PowerState.SUSPENDED, "compute_suspend_instance"),
    ({"resume": None}, "ACTIVE", PowerState.RUNNING, "compute_resume_instance"),
]


def test_power_actions_walk_the_server_through_its_states(carol: CloudClient,
                                                          boot: Any) -> None:
    server_id = boot()
    for body, status, power, event in STEPS:
        resp = act(carol, server_id, body)
        assert resp.status_code == 202, (body, resp.text)
        assert resp.content == b""
        server = settled(carol, server_id, status)
        assert server["OS-EXT-STS:power_state"] == power, body
        name = next(iter(body))
        recorded = {"os-stop": "stop", "os-start": "start"}.get(name, name)
        [step] = events(carol, server_id, recorded)
        assert (step["event"], step["result"]) == (event, "Success")
    assert action_names(carol, server_id) == [
        "create", "stop", "start", "reboot", "reboot", "pause", "unpause", "suspend",
        "resume"]


def test_a_reboot_shows_its_task_while_it_runs(carol: CloudClient, boot: Any) -> None:
    # The fake hypervisor takes a second per power operation on this server.
    server_id = boot(metadata={"fake:power_seconds": "1"})
    assert act(carol, server_id, {"reboot": {"type": "SOFT"}}).status_code == 202
    during = carol.server(server_id)
    assert (during["status"], during["OS-EXT-STS:task_state"]) == ("REBOOT", "rebooting")
    second = act(carol, server_id, {"os-stop": None})
    assert second.status_code == 409
    assert second.json()["conflictingRequest"]["message"] == (
        f"Cannot 'stop' instance {server_id} while it is in task_state rebooting")
    # A hard reboot may overtake a soft one, as upstream.
    assert act(carol, server_id, {"reboot": {"type": "HARD"}}).status_code == 202
    assert carol.server(server_id)["status"] == "HARD_REBOOT"
    settled(carol, server_id, "ACTIVE")


WRONG_STATE = [
    ({"os-start": None}, "start"),
    ({"unpause": None}, "unpause"),
    ({"resume": None}, "resume"),
    ({"confirmResize": None}, "confirmResize"),
    ({"revertResize": None}, "revertResize"),
]


@pytest.mark.parametrize(("body", "method"), WRONG_STATE, ids=[w[1] for w in WRONG_STATE])
def test_actions_refused_in_the_wrong_state(carol: CloudClient, server: str,
                                            body: dict[str, Any], method: str) -> None:
    before = action_names(carol, server)
    resp = act(carol, server, body)
    assert resp.status_code == 409, resp.text
    assert resp.json() == {"conflictingRequest": {"code": 409, "message": (
        f"Cannot '{method}' instance {server} while it is in vm_state active")}}
    assert action_names(carol, server) == before


def test_stopping_a_stopped_server_conflicts(carol: CloudClient, boot: Any) -> None:
    server_id = boot()
    assert act(carol, server_id, {"os-stop": None}).status_code == 202
    settled(carol, server_id, "SHUTOFF")
    resp = act(carol, server_id, {"os-stop": None})
    assert resp.status_code == 409
    assert resp.json()["conflictingRequest"]["message"] == (
        f"Cannot 'stop' instance {server_id} while it is in vm_state stopped")
    for body in ({"pause": None}, {"suspend": None}):
        assert act(carol, server_id, body).status_code == 409


EVERY_ACTION: list[dict[str, Any]] = [
    {"os-start": None}, {"os-stop": None}, {"reboot": {"type": "SOFT"}}, {"pause": None},
    {"unpause": None}, {"suspend": None}, {"resume": None}, {"lock": None},
    {"unlock": None}, {"os-getConsoleOutput": {}}, {"createImage": {"name": "x"}},
    {"resize": {"flavorRef": "act.tiny"}}, {"confirmResize": None},
    {"revertResize": None}, {"migrate": None},
    {"os-migrateLive": {"host": None, "block_migration": "auto"}},
]


@pytest.mark.parametrize("body", EVERY_ACTION, ids=[next(iter(b)) for b in EVERY_ACTION])
def test_unknown_and_other_projects_servers_are_not_found(
        carol: CloudClient, dave: CloudClient, admin: CloudClient, server: str,
        body: dict[str, Any]) -> None:
    missing = act(admin, "6d4b6f3e-0000-4000-8000-000000000000", body)
    assert missing.status_code == 404, missing.text
    assert "itemNotFound" in missing.json()
    before = action_names(carol, server)
    other = act(dave, server, body)
    # Admin-only actions may be refused by policy before the server is looked up.
    admin_only = next(iter(body)) in ("migrate", "os-migrateLive")
    assert other.status_code in ({403, 404} if admin_only else {404}), other.text
    assert action_names(carol, server) == before


BAD_BODIES: list[tuple[Any, int]] = [
    ({"reboot": {}}, 400),
    ({"reboot": {"type": "GENTLE"}}, 400),
    ({"reboot": None}, 400),
    ({"reboot": {"type": "SOFT", "when": "now"}}, 400),
    ({"os-stop": {"force": True}}, 400),
    ({"os-start": None, "os-stop": None}, 400),
    ({}, 400),
    (["os-start"], 400),
    ({"os-fly": None}, 400),  # upstream: "There is no such action", a 400
    ({"os-getConsoleOutput": {"length": "ten"}}, 400),
    ({"os-getConsoleOutput": {"length": -2}}, 400),
    ({"os-getConsoleOutput": {"length": 1.5}}, 400),
    ({"os-getConsoleOutput": {"lines": 3}}, 400),
    ({"createImage": {}}, 400),
    ({"createImage": {"name": ""}}, 400),
    ({"createImage": {"name": "x", "metadata": {"a": 1}}}, 400),
    ({"createImage": {"name": "x", "visibility": "public"}}, 400),
    ({"resize": {}}, 400),
    ({"resize": {"flavorRef": "act.tiny"}}, 400),  # the server's own flavor
    ({"resize": {"flavorRef": "no-such-flavor"}}, 400),
    ({"resize": {"flavorRef": "act.tiny", "OS-DCF:diskConfig": "SOMETIMES"}}, 400),
    ({"lock": {"locked_reason": 5}}, 400),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES, ids=[str(b[0]) for b in BAD_BODIES])
def test_bad_bodies_are_rejected_without_side_effects(carol: CloudClient, server: str,
                                                      body: Any, status: int) -> None:
    before = action_names(carol, server)
    resp = act(carol, server, body)
    assert resp.status_code == status, resp.text
    assert next(iter(resp.json())) in ("badRequest", "itemNotFound")
    after = carol.server(server)
    assert (after["status"], after["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    assert action_names(carol, server) == before
    assert after["locked"] is False


def test_console_output_takes_a_length_as_number_or_text(carol: CloudClient,
                                                         server: str) -> None:
    for args in ({}, {"length": None}, {"length": -1}, {"length": 5}, {"length": "5"}):
        resp = act(carol, server, {"os-getConsoleOutput": args})
        assert resp.status_code == 200, (args, resp.text)
        assert resp.json() == {"output": f"fake guest {server} booted\nstarting services "
                               "... done\nnetwork ... up\nlogin: "}
    # The tail: the last two lines, the prompt without a newline (clients count lines).
    resp = act(carol, server, {"os-getConsoleOutput": {"length": 2}})
    assert resp.json() == {"output": "network ... up\nlogin: "}
    resp = act(carol, server, {"os-getConsoleOutput": {"length": 0}})
    assert resp.json() == {"output": ""}


def test_a_locked_server_refuses_its_owner_but_not_an_admin(
        carol: CloudClient, admin: CloudClient, boot: Any) -> None:
    server_id = boot()
    assert act(carol, server_id, {"lock": None}).status_code == 202
    assert carol.server(server_id)["locked"] is True
    refused = act(carol, server_id, {"os-stop": None})
    assert refused.status_code == 409
    assert refused.json()["conflictingRequest"]["message"] == (
        f"Instance {server_id} is locked")
    assert act(admin, server_id, {"os-stop": None}).status_code == 202
    settled(carol, server_id, "SHUTOFF")
    assert act(carol, server_id, {"unlock": None}).status_code == 202
    assert act(carol, server_id, {"os-start": None}).status_code == 202
    settled(carol, server_id, "ACTIVE")
    assert action_names(carol, server_id)[1:] == ["lock", "stop", "unlock", "start"]


def _image(client: CloudClient, image_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        resp = client.http.get(f"/image/v2/images/{image_id}")
        assert resp.status_code == 200, resp.text
        image: dict[str, Any] = resp.json()
        if image["status"] == status:
            return image
        assert time.monotonic() < deadline, image
        time.sleep(0.05)


def test_create_image_uploads_a_snapshot_of_the_server(carol: CloudClient,
                                                       server: str) -> None:
    resp = act(carol, server, {"createImage": {"name": "snap", "metadata": {"k": "v"}}})
    assert resp.status_code == 202, resp.text
    image_id = resp.json()["image_id"]
    image = _image(carol, image_id, "active")
    assert (image["name"], image["owner"], image["visibility"]) == (
        "snap", "proj-power", "private")
    assert (image["image_type"], image["instance_uuid"], image["k"]) == (
        "snapshot", server, "v")
    data = carol.http.get(f"/image/v2/images/{image_id}/file")
    assert data.content == f"fake snapshot of {server}".encode()
    settled(carol, server, "ACTIVE")
    [step] = events(carol, server, "createImage")
    assert (step["event"], step["result"]) == ("compute_snapshot_instance", "Success")
    assert carol.http.delete(f"/image/v2/images/{image_id}").status_code == 204


def test_create_image_before_2_45_answers_a_location(shared_cloud: EmbeddedCloud,
                                                     server: str) -> None:
    old = client_for(shared_cloud, "carol:proj-power", version="2.44")
    try:
        resp = act(old, server, {"createImage": {"name": "old-snap"}})
        assert resp.status_code == 202, resp.text
        assert resp.content == b""
        image_id = resp.headers["Location"].rsplit("/", 1)[1]
        assert resp.headers["Location"].endswith(f"/image/v2/images/{image_id}")
        _image(old, image_id, "active")
        settled(old, server, "ACTIVE")
        assert old.http.delete(f"/image/v2/images/{image_id}").status_code == 204
    finally:
        old.close()
