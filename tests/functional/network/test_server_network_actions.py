"""Security groups and floating IPs of a server through the compute API's actions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.network.conftest import Net
from tests.functional.network.test_servers_on_networks import _boot, _ports_of


@pytest.fixture
def compute_version() -> str:
    """The network actions' microversions: ``compute`` (conftest) asks for 2.43."""
    return "2.43"


def _action(compute: CloudClient, server_id: str, body: dict[str, Any]) -> Any:
    return compute.compute("POST", f"/servers/{server_id}/action", json=body)


def _server_on_private(compute: CloudClient, member: Net, refs: tuple[str, str],
                       cidr: str) -> tuple[str, dict[str, Any]]:
    net = member.network(name="private")
    subnet = member.subnet(net["id"], cidr)
    booted = _boot(compute, refs, [{"uuid": net["id"]}])
    assert booted["status"] == 202, booted
    server_id = booted["body"]["server"]["id"]
    compute.wait_status(server_id, {"ACTIVE"})
    return server_id, subnet


def test_security_groups_are_added_to_and_removed_from_the_servers_ports(
    compute: CloudClient, member: Net, boot_refs: tuple[str, str]
) -> None:
    server_id, _ = _server_on_private(compute, member, boot_refs, "10.70.0.0/24")
    web = member.made("security-groups", "security_group", name="web")
    assert _action(compute, server_id, {"addSecurityGroup": {"name": "web"}}).status_code == 202
    [port] = _ports_of(member, server_id)
    assert web["id"] in port["security_groups"] and len(port["security_groups"]) == 2
    listed = compute.compute("GET", f"/servers/{server_id}/os-security-groups").json()
    assert sorted(g["name"] for g in listed["security_groups"]) == ["default", "web"]
    again = _action(compute, server_id, {"addSecurityGroup": {"name": "web"}})
    assert again.status_code == 400, again.text
    assert _action(compute, server_id,
                   {"removeSecurityGroup": {"name": "web"}}).status_code == 202
    [port] = _ports_of(member, server_id)
    assert web["id"] not in port["security_groups"]
    gone = _action(compute, server_id, {"removeSecurityGroup": {"name": "web"}})
    assert gone.status_code == 400, gone.text
    unknown = _action(compute, server_id, {"addSecurityGroup": {"name": "nope"}})
    assert unknown.status_code == 404, unknown.text
    assert "itemNotFound" in unknown.json()


def test_another_projects_group_is_not_found(
    compute: CloudClient, member: Net, other: Net, boot_refs: tuple[str, str]
) -> None:
    server_id, _ = _server_on_private(compute, member, boot_refs, "10.71.0.0/24")
    theirs = other.made("security-groups", "security_group", name="theirs")
    for name in ("theirs", theirs["id"]):
        refused = _action(compute, server_id, {"addSecurityGroup": {"name": name}})
        assert refused.status_code == 404, refused.text
    [port] = _ports_of(member, server_id)
    assert theirs["id"] not in port["security_groups"]


def test_a_floating_ip_is_added_to_a_server_behind_a_router_and_removed(
    compute: CloudClient, member: Net, admin: Net, boot_refs: tuple[str, str]
) -> None:
    public = admin.network(name=f"public-{uuid.uuid4().hex[:6]}", **{"router:external": True})
    admin.subnet(public["id"], "172.30.0.0/24")
    server_id, subnet = _server_on_private(compute, member, boot_refs, "10.72.0.0/24")
    fip = member.made("floatingips", "floatingip", floating_network_id=public["id"])
    address = fip["floating_ip_address"]
    # No router joins the server's network to the floating IP's: refused, nothing set.
    lonely = _action(compute, server_id, {"addFloatingIp": {"address": address}})
    assert lonely.status_code == 400, lonely.text
    router = member.made("routers", "router", name="r",
                         external_gateway_info={"network_id": public["id"]})
    added = member.put(f"/routers/{router['id']}/add_router_interface",
                       {"subnet_id": subnet["id"]})
    assert added.status_code == 200, added.text
    assert _action(compute, server_id,
                   {"addFloatingIp": {"address": address}}).status_code == 202
    shown = compute.server(server_id)["addresses"]["private"]
    assert [(a["addr"], a["OS-EXT-IPS:type"]) for a in shown][1] == (address, "floating")
    assert member.get(f"/floatingips/{fip['id']}").json()["floatingip"]["port_id"]
    assert _action(compute, server_id,
                   {"removeFloatingIp": {"address": address}}).status_code == 202
    shown = compute.server(server_id)["addresses"]["private"]
    assert [a["OS-EXT-IPS:type"] for a in shown] == ["fixed"]
    twice = _action(compute, server_id, {"removeFloatingIp": {"address": address}})
    assert twice.status_code == 409, twice.text
    missing = _action(compute, server_id, {"addFloatingIp": {"address": "172.30.0.250"}})
    assert missing.status_code == 404, missing.text
    # Associated through the network API, the server shows it too.
    [port] = _ports_of(member, server_id)
    put = member.put(f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}})
    assert put.status_code == 200, put.text
    shown = compute.server(server_id)["addresses"]["private"]
    assert address in [a["addr"] for a in shown]


def test_floating_ip_actions_end_with_2_44(
    net_cloud: EmbeddedCloud, member: Net, boot_refs: tuple[str, str]
) -> None:
    client = CloudClient(net_cloud.base_url, token=f"alice:{member.project}", version="2.44")
    try:
        booted = _boot(client, boot_refs, "none")
        server_id = booted["body"]["server"]["id"]
        resp = _action(client, server_id, {"addFloatingIp": {"address": "172.30.0.9"}})
        assert resp.status_code == 404, resp.text
    finally:
        client.close()


def test_os_networks_shows_the_callers_networks_until_2_35(
    net_cloud: EmbeddedCloud, member: Net, other: Net
) -> None:
    mine = member.network(name="listed")
    theirs = other.network(name="hidden")
    client = CloudClient(net_cloud.base_url, token=f"alice:{member.project}", version="2.35")
    try:
        listed = client.compute("GET", "/os-networks").json()["networks"]
        assert [(n["id"], n["label"]) for n in listed if n["id"] in (mine["id"], theirs["id"])
                ] == [(mine["id"], "listed")]
        shown = client.compute("GET", f"/os-networks/{mine['id']}").json()["network"]
        assert shown["label"] == "listed" and shown["cidr"] is None
        assert client.compute("GET", f"/os-networks/{theirs['id']}").status_code == 404
    finally:
        client.close()


def test_os_tenant_networks_lists_and_shows_the_callers_networks_until_2_35(
    net_cloud: EmbeddedCloud, member: Net, other: Net
) -> None:
    mine = member.network(name="tenant")
    member.subnet(mine["id"], "10.72.0.0/24")
    theirs = other.network(name="hidden")
    client = CloudClient(net_cloud.base_url, token=f"alice:{member.project}", version="2.35")
    try:
        listed = client.compute("GET", "/os-tenant-networks").json()["networks"]
        assert [n for n in listed if n["id"] in (mine["id"], theirs["id"])] == [
            {"id": mine["id"], "label": "tenant", "cidr": "10.72.0.0/24"}]
        shown = client.compute("GET", f"/os-tenant-networks/{mine['id']}")
        assert shown.json()["network"]["id"] == mine["id"]
        assert client.compute("GET", f"/os-tenant-networks/{theirs['id']}").status_code == 404
        later = client.compute("GET", "/os-tenant-networks",
                               headers={"OpenStack-API-Version": "compute 2.36"})
        assert later.status_code == 404, later.text
    finally:
        client.close()


def test_servers_are_listed_by_their_addresses(
    compute: CloudClient, member: Net, boot_refs: tuple[str, str]
) -> None:
    server_id, _ = _server_on_private(compute, member, boot_refs, "10.73.0.0/24")
    [port] = _ports_of(member, server_id)
    address = port["fixed_ips"][0]["ip_address"]

    def listed(**params: str) -> list[str]:
        found = compute.compute("GET", "/servers", params=params)
        assert found.status_code == 200, found.text
        return [s["id"] for s in found.json()["servers"]]

    assert listed(ip=address) == [server_id]
    assert listed(ip=r"10\.73\.0\.") == [server_id]
    assert listed(ip="10.74.") == []
    assert listed(ip6=address) == []
    bad = compute.compute("GET", "/servers", params={"ip": "10.73.0.["})
    assert bad.status_code == 400, bad.text
    # The update answer before 2.75 leaves out the extended address keys, as upstream.
    renamed = compute.compute("PUT", f"/servers/{server_id}",
                              json={"server": {"name": "renamed"}})
    assert renamed.status_code == 200, renamed.text
    [entry] = renamed.json()["server"]["addresses"]["private"]
    assert entry == {"version": 4, "addr": address}
    shown = compute.server(server_id)
    assert shown["security_groups"] == [{"name": "default"}]
