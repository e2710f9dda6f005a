"""Neutron's L3 behaviour over HTTP: router port status, interface checks and their order,
deleting an external network with floating IPs, and the (empty) agents list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.network.conftest import Net, neutron_error


@pytest.fixture
def external(admin: Net) -> dict[str, Any]:
    net = admin.network(**{"router:external": True})
    admin.subnet(net["id"], "198.51.100.0/24")
    return admin.get(f"/networks/{net['id']}").json()["network"]


def _status(client: Net, port_id: str) -> str:
    return str(client.get(f"/ports/{port_id}").json()["port"]["status"])


def _add(member: Net, router_id: str, **body: str) -> dict[str, Any]:
    resp = member.put(f"/routers/{router_id}/add_router_interface", body)
    assert resp.status_code == 200, resp.text
    info: dict[str, Any] = resp.json()
    return info


def test_router_ports_are_active_whatever_the_routers_admin_state(
        member: Net, admin: Net, external: dict[str, Any]) -> None:
    net = member.network()
    sub = member.subnet(net["id"], "10.30.0.0/24")
    other = member.network()
    member.subnet(other["id"], "10.31.0.0/24")
    # Tempest's routers are made admin-down, and wait for their ports to be ACTIVE.
    router = member.made("routers", "router", admin_state_up=False,
                         external_gateway_info={"network_id": external["id"]})
    by_subnet = _add(member, router["id"], subnet_id=sub["id"])["port_id"]
    adopted = member.port(other["id"])
    assert adopted["status"] == "DOWN"
    _add(member, router["id"], port_id=adopted["id"])
    gateway = admin.get("/ports", params={"device_id": router["id"],
                                          "device_owner": "network:router_gateway"}
                        ).json()["ports"][0]["id"]
    ids = [by_subnet, adopted["id"], gateway]
    assert [_status(admin, p) for p in ids] == ["ACTIVE"] * 3
    path = f"/routers/{router['id']}"
    assert member.put(path, {"router": {"admin_state_up": True}}).status_code == 200
    assert member.put(path, {"router": {"admin_state_up": False}}).status_code == 200
    assert [_status(admin, p) for p in ids] == ["ACTIVE"] * 3
    assert member.get(path).json()["router"]["status"] == "ACTIVE"


def test_overlapping_subnets_are_refused_and_a_router_with_interfaces_is_in_use(
        member: Net, external: dict[str, Any]) -> None:
    first, second = member.network(), member.network()
    sub1 = member.subnet(first["id"], "10.40.0.0/28")
    sub2 = member.subnet(second["id"], "10.40.0.0/28")
    router = member.made("routers", "router",
                         external_gateway_info={"network_id": external["id"]})
    path = f"/routers/{router['id']}"
    _add(member, router["id"], subnet_id=sub1["id"])
    msg = neutron_error(member.put(f"{path}/add_router_interface", {"subnet_id": sub2["id"]}),
                        400, "BadRequest")
    assert f"overlaps with cidr 10.40.0.0/28 of subnet {sub1['id']}" in msg
    neutron_error(member.delete(path), 409, "RouterInUse")
    # The gateway's network counts: its subnets are reached through the router.
    third = member.network()
    clash = member.subnet(third["id"], "198.51.100.0/25")
    msg = neutron_error(member.put(f"{path}/add_router_interface",
                                   {"subnet_id": clash["id"]}), 400, "BadRequest")
    assert external["subnets"][0] in msg
    resp = member.put(f"{path}/remove_router_interface", {"subnet_id": sub1["id"]})
    assert resp.status_code == 200, resp.text
    assert member.delete(path).status_code == 204


def test_removing_by_port_with_a_subnet_it_does_not_hold_is_a_mismatch(member: Net) -> None:
    net, elsewhere = member.network(), member.network()
    sub = member.subnet(net["id"], "10.41.0.0/24")
    foreign = member.subnet(elsewhere["id"], "10.42.0.0/24")
    router = member.made("routers", "router")
    port_id = _add(member, router["id"], subnet_id=sub["id"])["port_id"]
    path = f"/routers/{router['id']}/remove_router_interface"
    neutron_error(member.put(path, {"port_id": port_id, "subnet_id": foreign["id"]}),
                  400, "SubnetMismatchForPort")
    resp = member.put(path, {"port_id": port_id, "subnet_id": sub["id"]})
    assert resp.status_code == 200 and resp.json()["subnet_ids"] == [sub["id"]]


def test_ipv6_subnets_of_one_network_share_one_router_port(member: Net) -> None:
    net = member.network()
    a = member.subnet(net["id"], "2001:db8:50::/64")
    b = member.subnet(net["id"], "2001:db8:51::/64")
    router = member.made("routers", "router")
    first = _add(member, router["id"], subnet_id=a["id"])
    second = _add(member, router["id"], subnet_id=b["id"])
    assert second["port_id"] == first["port_id"]
    assert (second["subnet_id"], second["subnet_ids"]) == (b["id"], [b["id"]])
    port = member.get(f"/ports/{first['port_id']}").json()["port"]
    assert [f["ip_address"] for f in port["fixed_ips"]] == ["2001:db8:50::1", "2001:db8:51::1"]
    # Another port holding an IPv6 address of that network may not join.
    extra = member.port(net["id"], fixed_ips=[{"subnet_id": a["id"]}])
    neutron_error(member.put(f"/routers/{router['id']}/add_router_interface",
                             {"port_id": extra["id"]}), 400, "BadRequest")
    # Removing one subnet takes its address only; the last one takes the port.
    path = f"/routers/{router['id']}/remove_router_interface"
    assert member.put(path, {"subnet_id": a["id"]}).json()["port_id"] == port["id"]
    kept = member.get(f"/ports/{port['id']}").json()["port"]
    assert [f["subnet_id"] for f in kept["fixed_ips"]] == [b["id"]]
    assert member.put(path, {"subnet_id": b["id"]}).status_code == 200
    assert member.get(f"/ports/{port['id']}").status_code == 404


def test_deleting_an_external_network_deletes_its_unassociated_floating_ips(
        admin: Net, member: Net, external: dict[str, Any]) -> None:
    fip = admin.made("floatingips", "floatingip", floating_network_id=external["id"])
    theirs = member.made("floatingips", "floatingip", floating_network_id=external["id"])
    assert admin.delete(f"/networks/{external['id']}").status_code == 204
    for made in (fip, theirs):
        assert admin.get(f"/floatingips/{made['id']}").status_code == 404
    assert admin.get(f"/networks/{external['id']}").status_code == 404
    assert admin.get(f"/subnets/{external['subnets'][0]}").status_code == 404
    assert admin.get("/ports", params={"network_id": external["id"]}).json()["ports"] == []


def test_an_associated_floating_ip_keeps_its_network_in_use(
        admin: Net, member: Net, external: dict[str, Any]) -> None:
    net = member.network()
    sub = member.subnet(net["id"], "10.43.0.0/24")
    router = member.made("routers", "router",
                         external_gateway_info={"network_id": external["id"]})
    _add(member, router["id"], subnet_id=sub["id"])
    port = member.port(net["id"])
    used = member.made("floatingips", "floatingip", floating_network_id=external["id"],
                       port_id=port["id"])
    spare = member.made("floatingips", "floatingip", floating_network_id=external["id"])
    neutron_error(admin.delete(f"/networks/{external['id']}"), 409, "NetworkInUse")
    # The refused delete changed nothing: the spare floating IP is still there.
    for made in (used, spare):
        assert member.get(f"/floatingips/{made['id']}").status_code == 200


def test_there_are_no_network_agents(member: Net, admin: Net, reader: Net) -> None:
    for client in (member, reader, admin):
        resp = client.get("/agents", params={"agent_type": "L3 agent"})
        assert resp.status_code == 200 and resp.json() == {"agents": []}
    neutron_error(admin.get("/agents/0a1b2c3d-0000-4000-8000-000000000000"), 404,
                  "AgentNotFound")
    aliases = {e["alias"] for e in member.get("/extensions").json()["extensions"]}
    assert "agent" not in aliases
