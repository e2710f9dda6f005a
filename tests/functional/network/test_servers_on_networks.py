"""Servers on networks: the compute API makes, shows and releases their ports."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.cloud import CloudClient
from tests.functional.network.conftest import Net


def _boot(compute: CloudClient, refs: tuple[str, str], networks: Any, **extra: Any
          ) -> dict[str, Any]:
    resp = compute.compute("POST", "/servers", json={"server": {
        "name": f"vm-{uuid.uuid4().hex[:6]}", "flavorRef": refs[0], "imageRef": refs[1],
        "networks": networks, **extra}})
    return {"status": resp.status_code, "body": resp.json()}


def _ports_of(client: Net, server_id: str) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = client.get("/ports", params={"device_id": server_id}).json()[
        "ports"]
    return ports


def _servers(compute: CloudClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = compute.compute("GET", "/servers").json()["servers"]
    return found


def test_a_server_on_a_network_shows_the_address_of_its_bound_port(
    compute: CloudClient, member: Net, admin: Net, boot_refs: tuple[str, str]
) -> None:
    net = member.network(name="private")
    subnet = member.subnet(net["id"], "192.168.50.0/24")
    booted = _boot(compute, boot_refs, [{"uuid": net["id"]}])
    assert booted["status"] == 202, booted
    server_id = booted["body"]["server"]["id"]
    server = compute.wait_status(server_id, {"ACTIVE"})
    [port] = _ports_of(member, server_id)
    [fixed] = port["fixed_ips"]
    assert fixed["subnet_id"] == subnet["id"]
    assert server["addresses"] == {"private": [{
        "version": 4, "addr": fixed["ip_address"], "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    ips = compute.compute("GET", f"/servers/{server_id}/ips").json()["addresses"]
    assert ips == {"private": [{"version": 4, "addr": fixed["ip_address"]}]}
    assert port["device_owner"] == "compute:nova"
    assert port["status"] == "ACTIVE"
    bound = admin.get(f"/ports/{port['id']}").json()["port"]
    shown = compute.server(server_id)
    admin_view = CloudClient(compute.http.base_url.__str__().rstrip("/"))
    try:
        host = admin_view.server(server_id)["OS-EXT-SRV-ATTR:host"]
    finally:
        admin_view.close()
    assert bound["binding:host_id"] == host
    assert shown["addresses"] == server["addresses"]


def test_deleting_the_server_deletes_its_ports_and_detaches_the_one_handed_in(
    compute: CloudClient, member: Net, boot_refs: tuple[str, str]
) -> None:
    net = member.network(name="keep")
    member.subnet(net["id"], "192.168.51.0/29")
    mine = member.port(net["id"], name="mine")
    booted = _boot(compute, boot_refs, [{"port": mine["id"]}, {"uuid": net["id"]}])
    assert booted["status"] == 202, booted
    server_id = booted["body"]["server"]["id"]
    server = compute.wait_status(server_id, {"ACTIVE"})
    held = _ports_of(member, server_id)
    assert {p["id"] for p in held} >= {mine["id"]} and len(held) == 2
    assert len(server["addresses"]["keep"]) == 2
    made = next(p for p in held if p["id"] != mine["id"])
    assert compute.compute("DELETE", f"/servers/{server_id}").status_code == 204
    compute.wait_gone(server_id)
    assert member.get(f"/ports/{made['id']}").status_code == 404
    kept = member.get(f"/ports/{mine['id']}").json()["port"]
    assert (kept["device_id"], kept["device_owner"]) == ("", "")
    assert kept["fixed_ips"] == mine["fixed_ips"]
    # The address the made port held is free again.
    again = member.port(net["id"], fixed_ips=[made["fixed_ips"][0]])
    assert again["fixed_ips"] == made["fixed_ips"]


def test_auto_makes_one_network_per_project_on_first_use(
    compute: CloudClient, member: Net, boot_refs: tuple[str, str]
) -> None:
    first = _boot(compute, boot_refs, "auto")
    assert first["status"] == 202, first
    second = _boot(compute, boot_refs, "auto")
    assert second["status"] == 202, second
    nets = member.get("/networks", params={"name": "auto_allocated_network"}).json()["networks"]
    assert len(nets) == 1 and nets[0]["project_id"] == member.project
    for booted in (first, second):
        server = compute.wait_status(booted["body"]["server"]["id"], {"ACTIVE"})
        assert list(server["addresses"]) == ["auto_allocated_network"]


def test_auto_with_several_networks_asks_for_one(
    compute: CloudClient, member: Net, boot_refs: tuple[str, str]
) -> None:
    for name in ("a", "b"):
        member.network(name=name)
    booted = _boot(compute, boot_refs, "auto")
    assert booted["status"] == 409, booted
    assert "Multiple possible networks" in booted["body"]["conflictingRequest"]["message"]
    assert _servers(compute) == []


@pytest.mark.parametrize("case", ["foreign network", "foreign port", "used address",
                                  "unknown group", "two servers one port"])
def test_a_refused_create_leaves_no_server_and_no_port(
    compute: CloudClient, member: Net, other: Net, boot_refs: tuple[str, str], case: str
) -> None:
    net = member.network(name="mine")
    member.subnet(net["id"], "192.168.52.0/29")
    theirs = other.network(name="theirs")
    other.subnet(theirs["id"], "192.168.53.0/29")
    taken = member.port(net["id"])
    extra: dict[str, Any] = {}
    networks: Any
    if case == "foreign network":
        networks = [{"uuid": theirs["id"]}]
    elif case == "foreign port":
        networks = [{"port": other.port(theirs["id"])["id"]}]
    elif case == "used address":
        networks = [{"uuid": net["id"], "fixed_ip": taken["fixed_ips"][0]["ip_address"]}]
    elif case == "unknown group":
        networks, extra = [{"uuid": net["id"]}], {"security_groups": [{"name": "nope"}]}
    else:
        networks, extra = [{"port": taken["id"]}], {"min_count": 2}
    booted = _boot(compute, boot_refs, networks, **extra)
    assert booted["status"] == 400, booted
    assert "badRequest" in booted["body"]
    assert _servers(compute) == []
    assert [p["id"] for p in member.get("/ports").json()["ports"]] == [taken["id"]]


def test_a_port_already_used_by_a_server_is_refused(
    compute: CloudClient, member: Net, boot_refs: tuple[str, str]
) -> None:
    net = member.network(name="busy")
    member.subnet(net["id"], "192.168.54.0/29")
    port = member.port(net["id"])
    first = _boot(compute, boot_refs, [{"port": port["id"]}])
    assert first["status"] == 202, first
    second = _boot(compute, boot_refs, [{"port": port["id"]}])
    assert second["status"] == 409, second
    assert len(_servers(compute)) == 1


def test_named_security_groups_go_on_the_servers_ports(
    compute: CloudClient, member: Net, boot_refs: tuple[str, str]
) -> None:
    net = member.network(name="guarded")
    member.subnet(net["id"], "192.168.55.0/29")
    web = member.made("security-groups", "security_group", name="web")
    booted = _boot(compute, boot_refs, [{"uuid": net["id"]}],
                   security_groups=[{"name": "web"}])
    assert booted["status"] == 202, booted
    [port] = _ports_of(member, booted["body"]["server"]["id"])
    assert port["security_groups"] == [web["id"]]
