"""Operator APIs beyond their schemas: who may call them, what each microversion
removed, errors, and what placement and the scheduler make of an operator's changes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from placement.client import PlacementClient
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image

PROJECT = "proj-operator"
ADMIN = f"admin:{PROJECT}"
MEMBER = f"op-member:{PROJECT}"


@pytest.fixture(scope="module")
def op(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, ADMIN, version="2.53")
    yield c
    c.close()


@pytest.fixture(scope="module")
def member(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, MEMBER, version="2.53")
    yield c
    c.close()


def call(c: CloudClient, method: str, path: str, version: str = "2.1",
         **kw: Any) -> httpx.Response:
    return c.http.request(method, f"/compute/v2.1{path}", **kw,
                          headers={"OpenStack-API-Version": f"compute {version}"})


def eventually(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def provider(c: CloudClient, name: str) -> str:
    rps = c.placement("GET", f"/resource_providers?name={name}").json()["resource_providers"]
    return str(rps[0]["uuid"])


def traits(c: CloudClient, name: str) -> set[str]:
    return set(c.placement("GET", f"/resource_providers/{provider(c, name)}/traits")
               .json()["traits"])


ADMIN_ONLY = [
    ("GET", "/os-services", "2.1", None), ("PUT", "/os-services/disable", "2.1",
                                            {"host": "fake-1", "binary": "nova-compute"}),
    ("DELETE", "/os-services/1", "2.1", None), ("GET", "/os-hypervisors", "2.1", None),
    ("GET", "/os-hypervisors/detail", "2.1", None), ("GET", "/os-hypervisors/1", "2.1", None),
    ("GET", "/os-hypervisors/statistics", "2.1", None),
    ("GET", "/os-hypervisors/1/uptime", "2.1", None),
    ("GET", "/os-hypervisors/fake/search", "2.1", None),
    ("GET", "/os-hypervisors/fake/servers", "2.1", None),
    ("GET", "/os-aggregates", "2.1", None), ("POST", "/os-aggregates", "2.1",
                                             {"aggregate": {"name": "nope"}}),
    ("GET", "/os-aggregates/1", "2.1", None), ("PUT", "/os-aggregates/1", "2.1",
                                               {"aggregate": {"name": "x"}}),
    ("DELETE", "/os-aggregates/1", "2.1", None),
    ("POST", "/os-aggregates/1/action", "2.1", {"add_host": {"host": "fake-1"}}),
    ("POST", "/os-aggregates/1/action", "2.1", {"remove_host": {"host": "fake-1"}}),
    ("POST", "/os-aggregates/1/action", "2.1", {"set_metadata": {"metadata": {"a": "b"}}}),
    ("GET", "/os-simple-tenant-usage", "2.1", None),
    ("GET", "/os-simple-tenant-usage/other-project", "2.1", None),
    ("GET", "/os-hosts", "2.1", None), ("GET", "/os-hosts/fake-1", "2.1", None),
    ("PUT", "/os-hosts/fake-1", "2.1", {"status": "disable"}),
    ("GET", "/os-hosts/fake-1/reboot", "2.1", None),
    ("GET", "/os-quota-class-sets/default", "2.1", None),
    ("PUT", "/os-quota-class-sets/default", "2.1", {"quota_class_set": {"cores": 1}}),
    ("GET", "/os-availability-zone/detail", "2.1", None),
]


@pytest.mark.parametrize(("method", "path", "version", "body"), ADMIN_ONLY)
def test_non_admins_are_refused(member: CloudClient, method: str, path: str, version: str,
                                body: Any) -> None:
    resp = call(member, method, path, version, json=body)
    assert resp.status_code == 403, resp.text
    assert "forbidden" in resp.json()


def test_members_see_zones_extensions_and_their_own_usage(member: CloudClient) -> None:
    assert call(member, "GET", "/os-availability-zone").status_code == 200
    assert call(member, "GET", "/extensions").status_code == 200
    resp = call(member, "GET", f"/os-simple-tenant-usage/{PROJECT}")
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(("method", "path", "version"), [
    ("GET", "/os-hypervisors/statistics", "2.88"),
    ("GET", "/os-hypervisors/1/uptime", "2.88"),
    ("GET", "/os-hypervisors/fake/search", "2.53"),
    ("GET", "/os-hypervisors/fake/servers", "2.53"),
    ("GET", "/os-hosts", "2.43"), ("GET", "/os-hosts/fake-1", "2.43"),
    ("PUT", "/os-services/enable", "2.53"),
])
def test_what_a_microversion_removed(op: CloudClient, method: str, path: str,
                                     version: str) -> None:
    resp = call(op, method, path, version,
                json={"host": "fake-1", "binary": "nova-compute"} if method == "PUT" else None)
    # The legacy actions are uuids that do not parse from 2.53 on.
    assert resp.status_code == (400 if method == "PUT" else 404), resp.text


def test_hypervisor_views_at_2_88(op: CloudClient) -> None:
    listed = call(op, "GET", "/os-hypervisors/detail", "2.88").json()["hypervisors"]
    shown = call(op, "GET", f"/os-hypervisors/{listed[0]['id']}", "2.88").json()["hypervisor"]
    for view in (listed[0], shown):
        assert set(view) == {"id", "hypervisor_hostname", "state", "status", "host_ip",
                             "hypervisor_type", "hypervisor_version", "service", "uptime",
                             "cpu_info"}
        assert view["uptime"]


def test_hypervisor_errors(op: CloudClient) -> None:
    assert call(op, "GET", "/os-hypervisors/999").status_code == 404
    assert call(op, "GET", "/os-hypervisors/not-a-uuid", "2.53").status_code == 400
    assert call(op, "GET", "/os-hypervisors/nothing-like-this/search").status_code == 404
    resp = call(op, "GET", "/os-hypervisors?hypervisor_hostname_pattern=zzz", "2.53")
    assert resp.status_code == 404
    resp = call(op, "GET", "/os-hypervisors?hypervisor_hostname_pattern=fake&limit=1", "2.53")
    assert resp.status_code == 400
    paged = call(op, "GET", "/os-hypervisors?limit=2", "2.33").json()
    assert len(paged["hypervisors"]) == 2 and paged["hypervisors_links"][0]["rel"] == "next"
    after = call(op, "GET", f"/os-hypervisors?marker={paged['hypervisors'][1]['id']}",
                 "2.33").json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in after] == ["fake-3", "fake-4"]


def test_service_errors(op: CloudClient) -> None:
    resp = call(op, "PUT", "/os-services/disable", json={"host": "nowhere",
                                                         "binary": "nova-compute"})
    assert resp.status_code == 404
    assert call(op, "PUT", "/os-services/disable", json={"host": "fake-1"}).status_code == 400
    resp = call(op, "PUT", "/os-services/force-down", json={
        "host": "fake-1", "binary": "nova-compute", "forced_down": True})
    assert resp.status_code == 404  # force-down came with 2.11
    assert call(op, "PUT", "/os-services/reboot", json={}).status_code == 404
    rows = call(op, "GET", "/os-services?binary=nova-conductor", "2.53").json()["services"]
    resp = call(op, "PUT", f"/os-services/{rows[0]['id']}", "2.53", json={"status": "disabled"})
    assert resp.status_code == 400  # only compute services are updated
    compute = call(op, "GET", "/os-services?host=fake-1", "2.53").json()["services"][0]
    for body in ({}, {"status": "enabled", "disabled_reason": "why"}, {"status": "off"}):
        resp = call(op, "PUT", f"/os-services/{compute['id']}", "2.53", json=body)
        assert resp.status_code == 400, body
    missing = "00000000-0000-0000-0000-000000000000"
    assert call(op, "PUT", f"/os-services/{missing}", "2.53",
                json={"status": "enabled"}).status_code == 404
    assert call(op, "DELETE", "/os-services/x", "2.53").status_code == 400
    assert call(op, "DELETE", f"/os-services/{missing}", "2.53").status_code == 404


def test_disabling_a_host_marks_its_provider_and_placement_skips_it(op: CloudClient) -> None:
    resp = call(op, "PUT", "/os-services/disable", json={"host": "fake-2",
                                                         "binary": "nova-compute"})
    assert resp.status_code == 200
    try:
        assert "COMPUTE_STATUS_DISABLED" in traits(op, "fake-2")
        # The host's agent publishing its traits again (a restart) keeps the mark.
        again = PlacementClient(f"{op.http.base_url}/placement", token="admin:admin")
        again.set_traits(uuid.UUID(provider(op, "fake-2")), ["COMPUTE_NODE"])
        again.close()
        assert traits(op, "fake-2") == {"COMPUTE_NODE", "COMPUTE_STATUS_DISABLED"}
        query = "resources=VCPU:1&required=!COMPUTE_STATUS_DISABLED"
        found = op.placement("GET", f"/allocation_candidates?{query}").json()
        assert provider(op, "fake-2") not in found["provider_summaries"]
        assert len(found["provider_summaries"]) == 3
    finally:
        call(op, "PUT", "/os-services/enable", json={"host": "fake-2",
                                                     "binary": "nova-compute"})
    assert "COMPUTE_STATUS_DISABLED" not in traits(op, "fake-2")


def test_servers_stay_off_disabled_hosts(op: CloudClient) -> None:
    flavor = ensure_flavor(op, "operator.small", ram=64)
    image = public_image(op, "operator-api-image")
    off = ["fake-1", "fake-2", "fake-3"]
    rows = {s["host"]: s["id"] for s in call(op, "GET", "/os-services?binary=nova-compute",
                                              "2.53").json()["services"]}
    servers = []
    try:
        for host in off:
            resp = call(op, "PUT", f"/os-services/{rows[host]}", "2.53",
                        json={"status": "disabled", "disabled_reason": "test"})
            assert resp.status_code == 200, resp.text
        servers = [op.boot(flavor, image) for _ in range(3)]
        for server in servers:
            done = op.wait_status(server, {"ACTIVE", "ERROR"})
            assert done["status"] == "ACTIVE"
        hosts = {call(op, "GET", f"/servers/{s}", "2.53").json()["server"][
            "OS-EXT-SRV-ATTR:host"] for s in servers}
        assert hosts == {"fake-4"}
    finally:
        for host in off:
            call(op, "PUT", f"/os-services/{rows[host]}", "2.53", json={"status": "enabled"})
        for server in servers:
            op.compute("DELETE", f"/servers/{server}")
        for server in servers:
            op.wait_gone(server)


def test_aggregates_are_placement_aggregates(op: CloudClient) -> None:
    made = call(op, "POST", "/os-aggregates", "2.41",
                json={"aggregate": {"name": "operator-placement"}}).json()["aggregate"]
    rp = provider(op, "fake-3")

    def members() -> list[str]:
        return list(op.placement("GET", f"/resource_providers/{rp}/aggregates")
                    .json()["aggregates"])

    action = f"/os-aggregates/{made['id']}/action"
    try:
        assert call(op, "POST", action, json={"add_host": {"host": "fake-3"}}).status_code == 200
        assert members() == [made["uuid"]]
        found = op.placement("GET", "/allocation_candidates?resources=VCPU:1"
                             f"&member_of={made['uuid']}").json()["provider_summaries"]
        assert list(found) == [rp]
        assert call(op, "POST", action, json={"add_host": {"host": "fake-3"}}
                    ).status_code == 409
        assert call(op, "POST", action, json={"add_host": {"host": "nowhere"}}
                    ).status_code == 404
        assert call(op, "DELETE", f"/os-aggregates/{made['id']}").status_code == 400
    finally:
        call(op, "POST", action, json={"remove_host": {"host": "fake-3"}})
        call(op, "DELETE", f"/os-aggregates/{made['id']}")
    assert members() == []
    assert call(op, "POST", action, json={"remove_host": {"host": "fake-3"}}
                ).status_code == 404


def test_aggregate_errors(op: CloudClient) -> None:
    made = call(op, "POST", "/os-aggregates", json={"aggregate": {"name": "operator-dup"}})
    agg = made.json()["aggregate"]["id"]
    try:
        assert call(op, "POST", "/os-aggregates", json={"aggregate": {"name": "operator-dup"}}
                    ).status_code == 409
        assert call(op, "POST", "/os-aggregates", json={"aggregate": {"name": ""}}
                    ).status_code == 400
        assert call(op, "PUT", f"/os-aggregates/{agg}", json={"aggregate": {}}
                    ).status_code == 400
        assert call(op, "POST", f"/os-aggregates/{agg}/action", json={"nothing": {}}
                    ).status_code == 400
        assert call(op, "GET", "/os-aggregates/999999").status_code == 404
        assert call(op, "GET", "/os-aggregates/abc").status_code == 404
        resp = call(op, "POST", "/os-aggregates", json={"aggregate": {
            "name": "operator-internal", "availability_zone": "internal"}})
        assert resp.status_code == 400
    finally:
        call(op, "DELETE", f"/os-aggregates/{agg}")


def test_a_host_is_in_one_zone(op: CloudClient) -> None:
    made = [call(op, "POST", "/os-aggregates", json={"aggregate": {
        "name": f"operator-zone-{n}", "availability_zone": f"opzone-{n}"}}).json()["aggregate"]
        for n in (1, 2)]
    try:
        first, second = (f"/os-aggregates/{a['id']}/action" for a in made)
        assert call(op, "POST", first, json={"add_host": {"host": "fake-1"}}).status_code == 200
        assert call(op, "POST", second, json={"add_host": {"host": "fake-1"}}
                    ).status_code == 400
        detail = call(op, "GET", "/os-availability-zone/detail").json()["availabilityZoneInfo"]
        zones = {z["zoneName"]: z["hosts"] for z in detail}
        assert "fake-1" in zones["opzone-1"] and "fake-1" not in zones["nova"]
        services = call(op, "GET", "/os-services?host=fake-1").json()["services"]
        assert services[0]["zone"] == "opzone-1"
        call(op, "POST", first, json={"remove_host": {"host": "fake-1"}})
    finally:
        for agg in made:
            call(op, "DELETE", f"/os-aggregates/{agg['id']}")


def test_usage_paging_and_bad_periods(op: CloudClient) -> None:
    base = "/os-simple-tenant-usage?start=2030-01-01T00:00:00&end=2020-01-01T00:00:00"
    assert call(op, "GET", base).status_code == 400
    assert call(op, "GET", "/os-simple-tenant-usage?start=yesterday").status_code == 400
    period = "start=2020-01-01T00:00:00&end=2099-01-01T00:00:00"
    resp = call(op, "GET", f"/os-simple-tenant-usage?{period}&limit=1", "2.40")
    assert resp.status_code == 200
    assert call(op, "GET", f"/os-simple-tenant-usage?{period}&marker=nope",
                "2.40").status_code == 400
    empty = call(op, "GET", f"/os-simple-tenant-usage/no-such-project?{period}")
    assert empty.json() == {"tenant_usage": {}}


def test_hosts_power_actions_are_not_implemented(op: CloudClient) -> None:
    for action in ("startup", "shutdown", "reboot"):
        resp = call(op, "GET", f"/os-hosts/fake-1/{action}")
        assert resp.status_code == 501 and "notImplemented" in resp.json()
    assert call(op, "GET", "/os-hosts/nowhere").status_code == 404
    resp = call(op, "PUT", "/os-hosts/fake-1", json={"maintenance_mode": "enable"})
    assert resp.status_code == 501


def test_the_version_document_lists_v2_0(shared_cloud: EmbeddedCloud) -> None:
    listed = httpx.get(f"{shared_cloud.base_url}/compute/").json()["versions"]
    assert [v["id"] for v in listed] == ["v2.0", "v2.1"]  # upstream's order
    assert listed[0]["status"] == "SUPPORTED"
    detail = httpx.get(listed[0]["links"][0]["href"]).json()["version"]
    assert detail["id"] == "v2.0" and detail["media-types"]
