"""The compute API's proxies of security groups and floating IPs, until 2.35."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.network.conftest import Net


@pytest.fixture
def proxy(net_cloud: EmbeddedCloud, member: Net) -> Iterator[CloudClient]:
    client = CloudClient(net_cloud.base_url, token=f"alice:{member.project}", version="2.35")
    yield client
    client.close()


def test_security_groups_are_created_listed_shown_and_deleted(proxy: CloudClient) -> None:
    made = proxy.compute("POST", "/os-security-groups",
                         json={"security_group": {"name": "web", "description": "w"}})
    assert made.status_code == 200, made.text
    group = made.json()["security_group"]
    assert (group["name"], group["description"], group["rules"]) == ("web", "w", [])
    listed = proxy.compute("GET", "/os-security-groups").json()["security_groups"]
    assert sorted(g["name"] for g in listed) == ["default", "web"]
    shown = proxy.compute("GET", f"/os-security-groups/{group['id']}")
    assert shown.json()["security_group"]["tenant_id"] == group["tenant_id"]
    put = proxy.compute("PUT", f"/os-security-groups/{group['id']}",
                        json={"security_group": {"name": "www", "description": "x"}})
    assert put.status_code == 200 and put.json()["security_group"]["name"] == "www"
    missing = proxy.compute("POST", "/os-security-groups",
                            json={"security_group": {"name": "x"}})
    assert missing.status_code == 400, missing.text
    assert proxy.compute("DELETE", f"/os-security-groups/{group['id']}").status_code == 202
    assert proxy.compute("GET", f"/os-security-groups/{group['id']}").status_code == 404
    [default] = [g for g in listed if g["name"] == "default"]
    refused = proxy.compute("DELETE", f"/os-security-groups/{default['id']}")
    assert refused.status_code == 400, refused.text
    assert proxy.compute("GET", "/os-security-groups/not-a-uuid").status_code == 404


def test_rules_are_created_refused_twice_and_deleted(proxy: CloudClient) -> None:
    group = proxy.compute("POST", "/os-security-groups", json={
        "security_group": {"name": "ssh", "description": ""}}).json()["security_group"]
    body = {"security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp",
                                    "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"}}
    made = proxy.compute("POST", "/os-security-group-rules", json=body)
    assert made.status_code == 200, made.text
    rule = made.json()["security_group_rule"]
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"], rule["ip_range"],
            rule["group"]) == ("tcp", 22, 22, {"cidr": "10.0.0.0/8"}, {})
    twice = proxy.compute("POST", "/os-security-group-rules", json=body)
    assert twice.status_code == 400 and "already exists" in twice.text
    shown = proxy.compute("GET", f"/os-security-groups/{group['id']}").json()
    assert [r["id"] for r in shown["security_group"]["rules"]] == [rule["id"]]
    for bad in ({"from_port": 30, "to_port": 20}, {"ip_protocol": "gre"},
                {"from_port": "x"}, {"cidr": "nonsense"}):
        resp = proxy.compute("POST", "/os-security-group-rules", json={
            "security_group_rule": {**body["security_group_rule"], **bad}})
        assert resp.status_code == 400, (bad, resp.text)
    orphan = proxy.compute("POST", "/os-security-group-rules", json={
        "security_group_rule": {**body["security_group_rule"],
                                "parent_group_id": str(uuid.uuid4())}})
    assert orphan.status_code == 404, orphan.text
    by_group = proxy.compute("POST", "/os-security-group-rules", json={
        "security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "icmp",
                                "from_port": -1, "to_port": -1, "group_id": group["id"]}})
    assert by_group.status_code == 200, by_group.text
    assert by_group.json()["security_group_rule"]["group"]["name"] == "ssh"
    assert proxy.compute("DELETE",
                         f"/os-security-group-rules/{rule['id']}").status_code == 202
    assert proxy.compute("DELETE",
                         f"/os-security-group-rules/{rule['id']}").status_code == 404


def test_floating_ips_are_allocated_from_a_pool_listed_and_released(
    proxy: CloudClient, admin: Net
) -> None:
    name = f"public-{uuid.uuid4().hex[:6]}"
    public = admin.network(name=name, **{"router:external": True})
    admin.subnet(public["id"], "172.31.0.0/24")
    made = proxy.compute("POST", "/os-floating-ips", json={"pool": name})
    assert made.status_code == 200, made.text
    fip = made.json()["floating_ip"]
    assert fip["pool"] == name and fip["ip"].startswith("172.31.0.")
    assert fip["fixed_ip"] is None and fip["instance_id"] is None
    listed = proxy.compute("GET", "/os-floating-ips").json()["floating_ips"]
    assert fip in listed
    assert proxy.compute("GET", f"/os-floating-ips/{fip['id']}").json()["floating_ip"] == fip
    unknown = proxy.compute("POST", "/os-floating-ips", json={"pool": "no-such-pool"})
    assert unknown.status_code == 404, unknown.text
    assert proxy.compute("DELETE", f"/os-floating-ips/{fip['id']}").status_code == 202
    assert proxy.compute("GET", f"/os-floating-ips/{fip['id']}").status_code == 404


def test_the_proxies_are_gone_from_2_36(net_cloud: EmbeddedCloud, member: Net) -> None:
    client = CloudClient(net_cloud.base_url, token=f"alice:{member.project}", version="2.36")
    try:
        for method, path in (("GET", "/os-security-groups"), ("GET", "/os-floating-ips"),
                             ("POST", "/os-floating-ips")):
            assert client.compute(method, path).status_code == 404, path
        made = client.compute("POST", "/os-security-groups",
                              json={"security_group": {"name": "a", "description": ""}})
        assert made.status_code == 404, made.text
    finally:
        client.close()


def test_names_and_cidrs_are_kept_as_given_and_bad_ids_are_client_errors(
        proxy: CloudClient) -> None:
    made = proxy.compute("POST", "/os-security-groups", json={"security_group": {
        "name": " spaced name ", "description": "d"}})
    assert made.status_code == 200, made.text
    group = made.json()["security_group"]
    assert group["name"] == " spaced name "
    assert proxy.compute("GET", f"/os-security-groups/{group['id']}").json()[
        "security_group"] == group
    blank = proxy.compute("POST", "/os-security-groups", json={"security_group": {
        "name": "   ", "description": "d"}})
    assert blank.status_code == 400, blank.text
    rule = proxy.compute("POST", "/os-security-group-rules", json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22,
        "to_port": 22, "cidr": "10.2.3.124/24"}})
    assert rule.status_code == 200, rule.text
    assert rule.json()["security_group_rule"]["ip_range"] == {"cidr": "10.2.3.124/24"}
    for bad in ({"parent_group_id": "not-a-uuid"},
                {"parent_group_id": group["id"], "group_id": "not-a-uuid"}):
        refused = proxy.compute("POST", "/os-security-group-rules", json={
            "security_group_rule": {"ip_protocol": "tcp", "from_port": 80, "to_port": 80,
                                    **bad}})
        assert refused.status_code == 400, refused.text
        assert "badRequest" in refused.json()
    # An empty id names no group (upstream: 404, not 405).
    empty = proxy.compute("DELETE", "/os-security-groups/")
    assert empty.status_code == 404, empty.text
    assert empty.json()["itemNotFound"]["code"] == 404
    assert proxy.compute("GET", f"/os-security-groups/{group['id']}").status_code == 200
