"""Server update, metadata, tags, instance actions, zones and per-version fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image


@pytest.fixture(scope="module")
def boot(admin: CloudClient) -> dict[str, str]:
    return {"flavor": ensure_flavor(admin, "items.tiny", ram=64),
            "image": public_image(admin, "items-img")}


@pytest.fixture
def server(alice: CloudClient, boot: dict[str, str]) -> Iterator[str]:
    server_id = alice.boot(boot["flavor"], boot["image"], metadata={"a": "1"})
    yield server_id
    alice.compute("DELETE", f"/servers/{server_id}")


def test_update_renames_and_returns_the_server(alice: CloudClient, server: str) -> None:
    resp = alice.compute("PUT", f"/servers/{server}", json={"server": {
        "name": "renamed", "description": "a description"}})
    assert resp.status_code == 200
    body = resp.json()["server"]
    assert (body["name"], body["description"]) == ("renamed", "a description")
    assert body["id"] == server
    bad = alice.compute("PUT", f"/servers/{server}", json={"server": {"colour": "red"}})
    assert bad.status_code == 400


def test_metadata_merge_replace_item_and_delete(alice: CloudClient, server: str) -> None:
    base = f"/servers/{server}/metadata"
    assert alice.compute("GET", base).json() == {"metadata": {"a": "1"}}
    merged = alice.compute("POST", base, json={"metadata": {"b": "2"}}).json()
    assert merged == {"metadata": {"a": "1", "b": "2"}}
    replaced = alice.compute("PUT", base, json={"metadata": {"c": "3"}}).json()
    assert replaced == {"metadata": {"c": "3"}}
    assert alice.compute("PUT", f"{base}/d", json={"meta": {"d": "4"}}).json() == {
        "meta": {"d": "4"}}
    assert alice.compute("GET", f"{base}/d").json() == {"meta": {"d": "4"}}
    assert alice.compute("PUT", f"{base}/d", json={"meta": {"e": "4"}}).status_code == 400
    assert alice.compute("DELETE", f"{base}/d").status_code == 204
    assert alice.compute("GET", f"{base}/d").status_code == 404
    assert alice.compute("GET", f"/servers/{server}").json()["server"]["metadata"] == {
        "c": "3"}


def test_metadata_quota(alice: CloudClient, admin: CloudClient, server: str) -> None:
    admin.compute("PUT", "/os-quota-sets/proj-a", json={"quota_set": {"metadata_items": 2}})
    try:
        resp = alice.compute("POST", f"/servers/{server}/metadata",
                             json={"metadata": {"x": "1", "y": "2"}})
        assert resp.status_code == 403
    finally:
        admin.compute("PUT", "/os-quota-sets/proj-a",
                      json={"quota_set": {"metadata_items": 128}})


def test_tags_lifecycle_and_filters(alice: CloudClient, server: str) -> None:
    base = f"/servers/{server}/tags"
    assert alice.compute("PUT", base, json={"tags": ["blue", "red"]}).json() == {
        "tags": ["blue", "red"]}
    assert alice.compute("PUT", f"{base}/green").status_code == 201
    assert alice.compute("PUT", f"{base}/green").status_code == 204
    assert alice.compute("GET", f"{base}/green").status_code == 204
    assert alice.compute("GET", f"{base}/pink").status_code == 404
    assert alice.compute("DELETE", f"{base}/red").status_code == 204
    assert alice.compute("GET", base).json() == {"tags": ["blue", "green"]}
    shown = alice.compute("GET", f"/servers/{server}").json()["server"]
    assert shown["tags"] == ["blue", "green"]
    for query, found in (("tags=blue,green", True), ("tags=blue,red", False),
                         ("tags-any=red,blue", True), ("not-tags=blue", False),
                         ("not-tags-any=red", True)):
        ids = [s["id"] for s in alice.compute("GET", f"/servers?{query}").json()["servers"]]
        assert (server in ids) is found, query
    assert alice.compute("PUT", base, json={"tags": ["a/b"]}).status_code == 400
    assert alice.compute("DELETE", base).status_code == 204
    assert alice.compute("GET", base).json() == {"tags": []}


def test_tags_at_create_need_2_52(shared_cloud: EmbeddedCloud, boot: dict[str, str]) -> None:
    body = {"server": {"name": "t", "flavorRef": boot["flavor"], "imageRef": boot["image"],
                       "networks": "none", "tags": ["x"]}}
    old = client_for(shared_cloud, "tagger:proj-t", "2.51")
    new = client_for(shared_cloud, "tagger:proj-t", "2.52")
    try:
        assert old.compute("POST", "/servers", json=body).status_code == 400
        resp = new.compute("POST", "/servers", json=body)
        assert resp.status_code == 202
        server_id = resp.json()["server"]["id"]
        assert new.compute("GET", f"/servers/{server_id}/tags").json() == {"tags": ["x"]}
        new.compute("DELETE", f"/servers/{server_id}")
    finally:
        old.close()
        new.close()


def test_instance_actions_record_create_and_delete(alice: CloudClient,
                                                   boot: dict[str, str]) -> None:
    server_id = alice.boot(boot["flavor"], boot["image"])
    alice.compute("DELETE", f"/servers/{server_id}")
    alice.wait_gone(server_id)
    actions = alice.compute("GET", f"/servers/{server_id}/os-instance-actions").json()[
        "instanceActions"]
    assert [a["action"] for a in actions] == ["delete", "create"]
    assert {"request_id", "user_id", "project_id", "start_time", "updated_at"} <= set(
        actions[0])
    one = alice.compute("GET", f"/servers/{server_id}/os-instance-actions/"
                               f"{actions[1]['request_id']}").json()["instanceAction"]
    assert one["action"] == "create"
    assert one["events"] == []
    page = alice.compute("GET", f"/servers/{server_id}/os-instance-actions?limit=1").json()
    assert len(page["instanceActions"]) == 1
    assert "links" in page


def test_availability_zones(alice: CloudClient, admin: CloudClient,
                            boot: dict[str, str]) -> None:
    zones = alice.compute("GET", "/os-availability-zone").json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    detail = admin.compute("GET", "/os-availability-zone/detail").json()[
        "availabilityZoneInfo"]
    nova = next(z for z in detail if z["zoneName"] == "nova")
    assert set(nova["hosts"]) == {"fake-1", "fake-2", "fake-3", "fake-4"}
    assert nova["hosts"]["fake-1"]["nova-compute"]["available"] is True
    body = {"server": {"name": "z", "flavorRef": boot["flavor"], "imageRef": boot["image"],
                       "networks": "none", "availability_zone": "elsewhere"}}
    assert alice.compute("POST", "/servers", json=body).status_code == 400


VIEW_FIELDS = [
    # (version, fields present, fields absent) in GET /servers/{id}
    ("2.47", {"tags", "description", "locked"}, {"trusted_image_certificates",
                                                 "locked_reason", "server_groups"}),
    ("2.63", {"trusted_image_certificates"}, {"locked_reason", "server_groups"}),
    ("2.71", {"server_groups"}, {"locked_reason"}),
    ("2.73", {"locked_reason", "server_groups", "trusted_image_certificates"}, set()),
]


@pytest.mark.parametrize(("version", "present", "absent"), VIEW_FIELDS,
                         ids=[v[0] for v in VIEW_FIELDS])
def test_server_fields_follow_the_microversion(shared_cloud: EmbeddedCloud, server: str,
                                               version: str, present: set[str],
                                               absent: set[str]) -> None:
    c = client_for(shared_cloud, "alice:proj-a", version)
    try:
        body = c.compute("GET", f"/servers/{server}").json()["server"]
        assert present <= set(body)
        assert not absent & set(body)
    finally:
        c.close()


@pytest.mark.parametrize(("version", "present", "absent", "swap"), [
    ("2.47", set(), {"description", "extra_specs"}, ""),
    ("2.55", {"description"}, {"extra_specs"}, ""),
    ("2.61", {"description", "extra_specs"}, set(), ""),
])
def test_flavor_fields_follow_the_microversion(shared_cloud: EmbeddedCloud,
                                               admin: CloudClient, version: str,
                                               present: set[str], absent: set[str],
                                               swap: Any) -> None:
    ensure_flavor(admin, "items.tiny", ram=64)
    c = client_for(shared_cloud, "viewer:proj-v", version)
    try:
        flavor = c.compute("GET", "/flavors/items.tiny").json()["flavor"]
        assert present <= set(flavor)
        assert not absent & set(flavor)
        assert flavor["swap"] == swap
        listed = c.compute("GET", "/flavors").json()["flavors"]
        assert all(("description" in f) is ("description" in present) for f in listed)
    finally:
        c.close()


def test_flavor_description_update_and_extra_specs(admin: CloudClient) -> None:
    ensure_flavor(admin, "items.spec", ram=64)
    before = CloudClient(str(admin.http.base_url), version="2.54")
    c = CloudClient(str(admin.http.base_url), version="2.61")
    try:
        old = before.compute("PUT", "/flavors/items.spec",
                             json={"flavor": {"description": "d"}})
        assert old.status_code == 404
        resp = c.compute("PUT", "/flavors/items.spec", json={"flavor": {"description": "d"}})
        assert resp.json()["flavor"]["description"] == "d"
        c.compute("POST", "/flavors/items.spec/os-extra_specs",
                  json={"extra_specs": {"hw:cpu_policy": "shared"}})
        assert c.compute("GET", "/flavors/items.spec").json()["flavor"]["extra_specs"] == {
            "hw:cpu_policy": "shared"}
        assert c.compute("DELETE", "/flavors/items.spec/os-extra_specs/hw:cpu_policy"
                         ).status_code == 200
    finally:
        before.close()
        c.close()


CREATE_CASES = [
    ("local image bdm", {"block_device_mapping_v2": [{
        "uuid": "{image}", "boot_index": 0, "source_type": "image",
        "destination_type": "local", "delete_on_termination": True}]}, 202),
    ("volume bdm", {"block_device_mapping_v2": [{
        "uuid": "{image}", "boot_index": 0, "source_type": "image",
        "destination_type": "volume", "volume_size": 1}]}, 400),
    ("trusted certs", {"trusted_image_certificates": ["abc"]}, 400),
    ("metadata over quota", {"metadata": {str(i): "v" for i in range(129)}}, 403),
]


@pytest.mark.parametrize(("what", "extra", "status"), CREATE_CASES,
                         ids=[c[0] for c in CREATE_CASES])
def test_server_create_variants(alice: CloudClient, boot: dict[str, str], what: str,
                                extra: dict[str, Any], status: int) -> None:
    import json

    raw = json.dumps({"server": {"name": "v", "flavorRef": boot["flavor"],
                                 "imageRef": boot["image"], "networks": "none", **extra}})
    resp = alice.compute("POST", "/servers", content=raw.replace("{image}", boot["image"]),
                         headers={"Content-Type": "application/json"})
    assert resp.status_code == status, resp.text
    if status == 202:
        alice.compute("DELETE", f"/servers/{resp.json()['server']['id']}")


def test_changes_before_and_locked_filters(alice: CloudClient, server: str) -> None:
    assert server in [s["id"] for s in alice.compute(
        "GET", "/servers?changes-before=2999-01-01T00:00:00Z").json()["servers"]]
    assert server not in [s["id"] for s in alice.compute(
        "GET", "/servers?changes-before=2000-01-01T00:00:00Z").json()["servers"]]
    assert server in [s["id"] for s in alice.compute(
        "GET", "/servers?locked=false").json()["servers"]]
    assert alice.compute("GET", "/servers?locked=true").json()["servers"] == []
    bad = alice.compute("GET", "/servers?changes-since=2020-01-02T00:00:00Z&"
                               "changes-before=2020-01-01T00:00:00Z")
    assert bad.status_code == 400


@pytest.mark.parametrize(("version", "status"), [("2.37", 200), ("2.38", 400)])
def test_unknown_status_filter_refused_from_2_38(shared_cloud: EmbeddedCloud, version: str,
                                                 status: int) -> None:
    c = client_for(shared_cloud, "alice:proj-a", version)
    try:
        assert c.compute("GET", "/servers?status=sleepy").status_code == status
    finally:
        c.close()


def test_host_status_is_shown_to_admins_from_2_16(shared_cloud: EmbeddedCloud,
                                                  alice: CloudClient, server: str) -> None:
    alice.wait_status(server, {"ACTIVE"})
    old = client_for(shared_cloud, "admin:admin", "2.15")
    new = client_for(shared_cloud, "admin:admin", "2.16")
    try:
        assert "host_status" not in old.compute("GET", f"/servers/{server}").json()["server"]
        assert new.compute("GET", f"/servers/{server}").json()["server"]["host_status"] == "UP"
        detail = new.compute("GET", "/servers/detail?all_tenants=1").json()["servers"]
        assert {s["host_status"] for s in detail if s["id"] == server} == {"UP"}
        mine = alice.compute("GET", f"/servers/{server}").json()["server"]
        assert "host_status" not in mine
    finally:
        old.close()
        new.close()
