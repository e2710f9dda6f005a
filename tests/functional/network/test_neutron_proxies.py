"""``[network] backend = neutron``: the compute API's proxies of the network API (until
2.35: os-security-groups, os-security-group-rules, os-floating-ips, os-networks,
os-tenant-networks) read and write the external Neutron, with the caller's token.

The "Neutron" is another cloud's network API (the package's ``net_cloud``), as in
``test_neutron_backend.py``; the ``member``/``other``/``admin`` clients look at it directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.network.conftest import Net

VERSION = "2.35"


@pytest.fixture(scope="module")
def nova_version() -> str:
    return VERSION


@pytest.fixture
def proxy(nova: EmbeddedCloud, member: Net) -> Iterator[CloudClient]:
    """The compute cloud's proxies as ``member``'s project."""
    client = CloudClient(nova.base_url, token=f"alice:{member.project}", version=VERSION)
    yield client
    client.close()


@pytest.fixture
def proxy_other(nova: EmbeddedCloud, other: Net) -> Iterator[CloudClient]:
    """The compute cloud's proxies as ``other``'s project."""
    client = CloudClient(nova.base_url, token=f"bob:{other.project}", version=VERSION)
    yield client
    client.close()


def test_security_groups_are_made_shown_changed_and_deleted_in_neutron(
        proxy: CloudClient, member: Net) -> None:
    made = proxy.compute("POST", "/os-security-groups",
                         json={"security_group": {"name": "web", "description": "w"}})
    assert made.status_code == 200, made.text
    group = made.json()["security_group"]
    assert (group["name"], group["description"], group["rules"], group["tenant_id"]) == (
        "web", "w", [], member.project)
    there = member.get(f"/security-groups/{group['id']}")
    assert there.status_code == 200, there.text
    assert (there.json()["security_group"]["name"],
            there.json()["security_group"]["project_id"]) == ("web", member.project)

    listed = proxy.compute("GET", "/os-security-groups").json()["security_groups"]
    assert sorted(g["name"] for g in listed) == ["default", "web"]
    [default] = [g for g in listed if g["name"] == "default"]
    # Neutron's default group: ingress from itself (IPv4 and IPv6), shown by name.
    assert [(r["group"], r["ip_range"]) for r in default["rules"]] == [
        ({"name": "default", "tenant_id": member.project}, {})] * 2
    shown = proxy.compute("GET", f"/os-security-groups/{group['id']}")
    assert shown.status_code == 200 and shown.json()["security_group"] == group

    put = proxy.compute("PUT", f"/os-security-groups/{group['id']}",
                        json={"security_group": {"name": "www", "description": "x"}})
    assert put.status_code == 200, put.text
    assert (put.json()["security_group"]["name"],
            put.json()["security_group"]["description"]) == ("www", "x")
    assert member.get(f"/security-groups/{group['id']}").json()["security_group"][
        "name"] == "www"
    reserved = proxy.compute("PUT", f"/os-security-groups/{group['id']}",
                             json={"security_group": {"name": "default", "description": ""}})
    assert reserved.status_code == 400, reserved.text
    same = proxy.compute("PUT", f"/os-security-groups/{default['id']}",
                         json={"security_group": {"name": "default", "description": "d"}})
    assert same.status_code == 200, same.text
    assert same.json()["security_group"]["description"] == "d"

    for bad in ({"name": "x"}, {"name": "  ", "description": ""},
                {"name": "default", "description": ""}):
        refused = proxy.compute("POST", "/os-security-groups", json={"security_group": bad})
        assert refused.status_code == 400, (bad, refused.text)

    assert proxy.compute("DELETE", f"/os-security-groups/{group['id']}").status_code == 202
    assert member.get(f"/security-groups/{group['id']}").status_code == 404
    gone = proxy.compute("GET", f"/os-security-groups/{group['id']}")
    assert gone.status_code == 404, gone.text
    assert gone.json()["itemNotFound"]["message"] == f"Security group {group['id']} not found."
    refused = proxy.compute("DELETE", f"/os-security-groups/{default['id']}")
    assert refused.status_code == 400, refused.text
    assert member.get(f"/security-groups/{default['id']}").status_code == 200
    assert proxy.compute("GET", "/os-security-groups/not-a-uuid").status_code == 404
    assert proxy.compute("DELETE", "/os-security-groups/").status_code == 404


def test_rules_are_made_refused_twice_and_deleted_in_neutron(
        proxy: CloudClient, member: Net) -> None:
    group = proxy.compute("POST", "/os-security-groups", json={
        "security_group": {"name": "ssh", "description": ""}}).json()["security_group"]
    body = {"security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp",
                                    "from_port": 22, "to_port": 22, "cidr": "10.0.0.0/8"}}
    made = proxy.compute("POST", "/os-security-group-rules", json=body)
    assert made.status_code == 200, made.text
    rule = made.json()["security_group_rule"]
    assert (rule["parent_group_id"], rule["ip_protocol"], rule["from_port"], rule["to_port"],
            rule["ip_range"], rule["group"]) == (
        group["id"], "tcp", 22, 22, {"cidr": "10.0.0.0/8"}, {})
    there = member.get(f"/security-group-rules/{rule['id']}")
    assert there.status_code == 200, there.text
    seen = there.json()["security_group_rule"]
    assert (seen["security_group_id"], seen["direction"], seen["ethertype"],
            seen["protocol"], seen["port_range_min"], seen["port_range_max"],
            seen["remote_ip_prefix"]) == (group["id"], "ingress", "IPv4", "tcp", 22, 22,
                                          "10.0.0.0/8")

    twice = proxy.compute("POST", "/os-security-group-rules", json=body)
    assert twice.status_code == 400, twice.text
    assert twice.json()["badRequest"]["message"] == (
        f"This rule already exists in group {group['id']}")
    shown = proxy.compute("GET", f"/os-security-groups/{group['id']}").json()
    assert [r["id"] for r in shown["security_group"]["rules"]] == [rule["id"]]
    for bad in ({"from_port": 30, "to_port": 20}, {"ip_protocol": "gre"},
                {"from_port": "x"}, {"cidr": "nonsense"}, {"parent_group_id": "not-a-uuid"}):
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
    icmp = by_group.json()["security_group_rule"]
    assert (icmp["ip_protocol"], icmp["from_port"], icmp["to_port"], icmp["ip_range"],
            icmp["group"]) == ("icmp", None, None, {},
                               {"name": "ssh", "tenant_id": member.project})
    assert member.get(f"/security-group-rules/{icmp['id']}").json()[
        "security_group_rule"]["remote_group_id"] == group["id"]

    assert proxy.compute("DELETE",
                         f"/os-security-group-rules/{rule['id']}").status_code == 202
    assert member.get(f"/security-group-rules/{rule['id']}").status_code == 404
    again = proxy.compute("DELETE", f"/os-security-group-rules/{rule['id']}")
    assert again.status_code == 404, again.text
    assert again.json()["itemNotFound"]["message"] == (
        f"Security group rule {rule['id']} not found.")
    assert proxy.compute("DELETE", "/os-security-group-rules/nonsense").status_code == 404


def test_another_projects_group_is_not_found_and_admins_list_all_tenants(
        proxy: CloudClient, proxy_other: CloudClient, nova_admin: CloudClient,
        member: Net, other: Net) -> None:
    theirs = other.made("security-groups", "security_group", name="theirs")
    mine = proxy.compute("POST", "/os-security-groups", json={
        "security_group": {"name": "mine", "description": ""}}).json()["security_group"]
    path = f"/os-security-groups/{theirs['id']}"
    for method, kw in (("GET", {}), ("DELETE", {}), ("PUT", {"json": {
            "security_group": {"name": "x", "description": ""}}})):
        resp = proxy.compute(method, path, **kw)
        assert resp.status_code == 404, (method, resp.text)
        assert resp.json()["itemNotFound"]["message"] == (
            f"Security group {theirs['id']} not found.")
    for rule in ({"parent_group_id": theirs["id"]},
                 {"parent_group_id": mine["id"], "group_id": theirs["id"]}):
        resp = proxy.compute("POST", "/os-security-group-rules", json={
            "security_group_rule": {"ip_protocol": "tcp", "from_port": 80, "to_port": 80,
                                    **rule}})
        assert resp.status_code == 404, (rule, resp.text)
    assert other.get(f"/security-groups/{theirs['id']}").json()["security_group"][
        "name"] == "theirs"

    names = {g["name"] for g in proxy.compute(
        "GET", "/os-security-groups?all_tenants=1").json()["security_groups"]}
    assert names == {"default", "mine"}
    assert {g["name"] for g in proxy_other.compute("GET", "/os-security-groups").json()[
        "security_groups"]} == {"default", "theirs"}
    everyone = nova_admin.compute("GET", "/os-security-groups?all_tenants=1")
    assert everyone.status_code == 200, everyone.text
    owners = {(g["tenant_id"], g["name"]) for g in everyone.json()["security_groups"]}
    assert {(member.project, "mine"), (other.project, "theirs")} <= owners
    own = nova_admin.compute("GET", "/os-security-groups").json()["security_groups"]
    assert {g["tenant_id"] for g in own} == {"admin"}
    # An admin reaches another project's group, as Neutron lets it.
    assert nova_admin.compute("GET", path).json()["security_group"]["tenant_id"] == (
        other.project)


def test_floating_ips_are_allocated_from_a_pool_shown_and_released_in_neutron(
        proxy: CloudClient, proxy_other: CloudClient, member: Net, other: Net,
        admin: Net) -> None:
    name = f"public-{uuid.uuid4().hex[:6]}"
    public = admin.network(name=name, **{"router:external": True})
    admin.subnet(public["id"], "172.30.0.0/24")
    made = proxy.compute("POST", "/os-floating-ips", json={"pool": name})
    assert made.status_code == 200, made.text
    fip = made.json()["floating_ip"]
    assert fip["pool"] == name and fip["ip"].startswith("172.30.0.")
    assert fip["fixed_ip"] is None and fip["instance_id"] is None
    there = member.get(f"/floatingips/{fip['id']}").json()["floatingip"]
    assert (there["floating_ip_address"], there["project_id"],
            there["floating_network_id"]) == (fip["ip"], member.project, public["id"])
    by_id = proxy.compute("POST", "/os-floating-ips", json={"pool": public["id"]})
    assert by_id.status_code == 200, by_id.text
    second = by_id.json()["floating_ip"]

    listed = proxy.compute("GET", "/os-floating-ips").json()["floating_ips"]
    assert sorted(listed, key=lambda f: f["id"]) == sorted([fip, second],
                                                           key=lambda f: f["id"])
    assert proxy.compute("GET", f"/os-floating-ips/{fip['id']}").json()["floating_ip"] == fip
    unknown = proxy.compute("POST", "/os-floating-ips", json={"pool": "no-such-pool"})
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["itemNotFound"]["message"] == "Floating IP pool no-such-pool not found."
    bad = proxy.compute("POST", "/os-floating-ips", json={"pool": 5})
    assert bad.status_code == 400, bad.text

    # Associated in Neutron with a port of a "server": its fixed address and device.
    net = member.network(name="inside")
    sub = member.subnet(net["id"], "10.60.0.0/24")
    router = member.made("routers", "router",
                         external_gateway_info={"network_id": public["id"]})
    resp = member.put(f"/routers/{router['id']}/add_router_interface",
                      {"subnet_id": sub["id"]})
    assert resp.status_code == 200, resp.text
    device = str(uuid.uuid4())
    port = member.port(net["id"], device_id=device)
    resp = member.put(f"/floatingips/{second['id']}", {"floatingip": {"port_id": port["id"]}})
    assert resp.status_code == 200, resp.text
    bound = proxy.compute("GET", f"/os-floating-ips/{second['id']}").json()["floating_ip"]
    assert (bound["fixed_ip"], bound["instance_id"]) == (
        port["fixed_ips"][0]["ip_address"], device)

    theirs = other.made("floatingips", "floatingip", floating_network_id=public["id"])
    assert proxy.compute("GET", f"/os-floating-ips/{theirs['id']}").status_code == 404
    assert proxy.compute("DELETE", f"/os-floating-ips/{theirs['id']}").status_code == 404
    assert [f["id"] for f in proxy_other.compute("GET", "/os-floating-ips").json()[
        "floating_ips"]] == [theirs["id"]]
    assert other.get(f"/floatingips/{theirs['id']}").status_code == 200

    assert proxy.compute("DELETE", f"/os-floating-ips/{fip['id']}").status_code == 202
    assert member.get(f"/floatingips/{fip['id']}").status_code == 404
    gone = proxy.compute("GET", f"/os-floating-ips/{fip['id']}")
    assert gone.status_code == 404, gone.text
    assert gone.json()["itemNotFound"]["message"] == f"Floating IP not found for ID {fip['id']}"
    assert proxy.compute("GET", "/os-floating-ips/nonsense").status_code == 404
    assert proxy.compute("DELETE", f"/os-floating-ips/{second['id']}").status_code == 202
    assert member.get(f"/floatingips/{second['id']}").status_code == 404


def test_os_networks_show_the_projects_and_shared_networks_only(
        proxy: CloudClient, member: Net, other: Net, admin: Net) -> None:
    mine = member.network(name="mine")
    member.subnet(mine["id"], "10.70.1.0/24")
    member.subnet(mine["id"], "10.70.0.0/24")
    member.subnet(mine["id"], "fd00:70::/64")
    shared = admin.network(name=f"shared-{uuid.uuid4().hex[:6]}", shared=True)
    try:
        _check_os_networks(proxy, member, other, mine, shared)
    finally:
        # Every project of the package's cloud would see it (and boot on it).
        assert admin.delete(f"/networks/{shared['id']}").status_code == 204


def _check_os_networks(proxy: CloudClient, member: Net, other: Net, mine: dict[str, Any],
                       shared: dict[str, Any]) -> None:
    theirs = other.network(name="theirs")

    nets = proxy.compute("GET", "/os-networks")
    assert nets.status_code == 200, nets.text
    ids = {n["id"] for n in nets.json()["networks"]}
    assert {mine["id"], shared["id"]} <= ids and theirs["id"] not in ids
    shown = proxy.compute("GET", f"/os-networks/{mine['id']}").json()["network"]
    assert (shown["id"], shown["label"], shown["cidr"], shown["project_id"]) == (
        mine["id"], "mine", None, None)
    for path in (f"/os-networks/{theirs['id']}", f"/os-tenant-networks/{theirs['id']}",
                 "/os-networks/not-a-uuid"):
        resp = proxy.compute("GET", path)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.json()["itemNotFound"]["message"] == "Network not found"

    tenant = proxy.compute("GET", "/os-tenant-networks").json()["networks"]
    views = {n["id"]: n for n in tenant}
    assert theirs["id"] not in views
    assert views[mine["id"]] == {"id": mine["id"], "label": "mine", "cidr": "10.70.0.0/24"}
    assert views[shared["id"]] == {"id": shared["id"], "label": shared["name"], "cidr": None}
    one = proxy.compute("GET", f"/os-tenant-networks/{mine['id']}").json()["network"]
    assert one == views[mine["id"]]


def test_the_proxies_are_gone_from_2_36(nova: EmbeddedCloud, member: Net) -> None:
    client = CloudClient(nova.base_url, token=f"alice:{member.project}", version="2.36")
    try:
        for path in ("/os-security-groups", "/os-floating-ips", "/os-networks",
                     "/os-tenant-networks"):
            assert client.compute("GET", path).status_code == 404, path
    finally:
        client.close()
