"""os-server-external-events (service or admin) and the /os-networks view before 2.36."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image

EVENTS = "/os-server-external-events"


@pytest.fixture(scope="module")
def ops(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "admin:proj-events", version="2.93")
    yield c
    c.close()


@pytest.fixture(scope="module")
def server(ops: CloudClient) -> Iterator[dict[str, Any]]:
    flavor = ensure_flavor(ops, "events-flavor")
    image = public_image(ops, "events-image")
    server_id = ops.boot(flavor, image)
    yield ops.wait_status(server_id, {"ACTIVE"})
    ops.compute("DELETE", f"/servers/{server_id}")
    ops.wait_gone(server_id)


def post(c: CloudClient, events: list[dict[str, Any]], version: str = "2.93",
         **headers: str) -> httpx.Response:
    return c.http.post(f"/compute/v2.1{EVENTS}", json={"events": events}, headers={
        "OpenStack-API-Version": f"compute {version}", **headers})


def test_accepted_events_are_recorded_on_the_server(ops: CloudClient,
                                                    server: dict[str, Any]) -> None:
    resp = post(ops, [{"name": "network-vif-plugged", "server_uuid": server["id"],
                       "tag": "port-1"},
                      {"name": "power-update", "server_uuid": server["id"],
                       "tag": "POWER_ON", "status": "in-progress"}])
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"events": [
        {"name": "network-vif-plugged", "server_uuid": server["id"], "tag": "port-1",
         "status": "completed", "code": 200},
        {"name": "power-update", "server_uuid": server["id"], "tag": "POWER_ON",
         "status": "completed", "code": 200}]}
    actions = ops.compute("GET", f"/servers/{server['id']}/os-instance-actions").json()[
        "instanceActions"]
    create = next(a for a in actions if a["action"] == "create")
    shown = ops.compute("GET", f"/servers/{server['id']}/os-instance-actions/"
                               f"{create['request_id']}",
                        headers={"OpenStack-API-Version": "compute 2.51"}).json()
    events = {e["event"]: e for e in shown["instanceAction"]["events"]}
    assert events["network-vif-plugged"]["result"] == "Success"
    assert events["power-update"]["finish_time"] is None


def test_unknown_servers_and_missing_tags_fail_per_event(ops: CloudClient,
                                                          server: dict[str, Any]) -> None:
    missing = str(uuid.uuid4())
    resp = post(ops, [{"name": "network-changed", "server_uuid": missing},
                      {"name": "volume-extended", "server_uuid": server["id"]},
                      {"name": "network-changed", "server_uuid": server["id"]}])
    assert resp.status_code == 207, resp.text
    codes = [(e["code"], e["status"]) for e in resp.json()["events"]]
    assert codes == [(404, "failed"), (400, "failed"), (200, "completed")]
    only_unknown = post(ops, [{"name": "network-changed", "server_uuid": missing}])
    assert only_unknown.status_code == 207
    assert only_unknown.json()["events"][0]["code"] == 404


def test_event_names_follow_the_microversion_and_bodies_are_checked(
        ops: CloudClient, server: dict[str, Any]) -> None:
    sid = server["id"]
    assert post(ops, [{"name": "power-update", "server_uuid": sid, "tag": "POWER_ON"}],
                "2.75").status_code == 400
    assert post(ops, [{"name": "volume-extended", "server_uuid": sid, "tag": "v"}],
                "2.51").status_code == 200
    assert post(ops, [{"name": "volume-reimaged", "server_uuid": sid}],
                "2.92").status_code == 400
    for bad in ([], [{"name": "network-changed"}],
                [{"name": "network-changed", "server_uuid": "nope"}],
                [{"name": "network-changed", "server_uuid": sid, "status": "done"}],
                [{"name": "network-changed", "server_uuid": sid, "extra": 1}]):
        assert post(ops, bad).status_code == 400, bad


def test_only_services_and_admins_send_events(shared_cloud: EmbeddedCloud,
                                              server: dict[str, Any]) -> None:
    event = [{"name": "network-changed", "server_uuid": server["id"]}]
    member = client_for(shared_cloud, "someone:proj-events")
    service = client_for(shared_cloud, "neutron:service")
    try:
        assert post(member, event).status_code == 403
        assert post(service, event, **{"X-Roles": "service"}).status_code == 200
    finally:
        member.close()
        service.close()


def test_networks_view_until_2_35(shared_cloud: EmbeddedCloud) -> None:
    member = client_for(shared_cloud, "someone:proj-events", version="2.35")
    try:
        assert member.compute("GET", "/os-networks").json() == {"networks": []}
        shown = member.compute("GET", f"/os-networks/{uuid.uuid4()}")
        assert shown.status_code == 404
        assert shown.json()["itemNotFound"]["message"] == "Network not found"
        later = member.http.get("/compute/v2.1/os-networks",
                                headers={"OpenStack-API-Version": "compute 2.36"})
        assert later.status_code == 404
        assert member.compute("DELETE", "/os-networks/x").status_code == 410
    finally:
        member.close()
