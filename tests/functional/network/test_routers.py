"""Routers over HTTP: gateways on external networks, interfaces, and what they protect."""

from __future__ import annotations

from typing import Any

import pytest

from compute_api.network.floating_ips import FLOATINGIP
from compute_api.network.routers import ROUTER
from tests.functional.network.conftest import Net, neutron_error


@pytest.fixture
def external(admin: Net) -> dict[str, Any]:
    """An external network with one /24 (admin-owned, visible to every project)."""
    net = admin.network(**{"router:external": True})
    admin.subnet(net["id"], "172.24.4.0/24")
    return admin.get(f"/networks/{net['id']}").json()["network"]


def _private(member: Net, cidr: str = "10.10.0.0/24") -> tuple[dict[str, Any], dict[str, Any]]:
    net = member.network()
    return net, member.subnet(net["id"], cidr)


def test_router_created_with_a_gateway_on_an_external_network(
        member: Net, admin: Net, external: dict[str, Any]) -> None:
    router = member.made("routers", "router", name="r1",
                         external_gateway_info={"network_id": external["id"]})
    info = router["external_gateway_info"]
    assert info["network_id"] == external["id"] and info["enable_snat"] is True
    assert info["external_fixed_ips"][0]["subnet_id"] == external["subnets"][0]
    assert info["external_fixed_ips"][0]["ip_address"].startswith("172.24.4.")
    assert (router["status"], router["routes"], router["distributed"], router["ha"]) == (
        "ACTIVE", [], False, False)
    assert router["project_id"] == member.project and router["revision_number"] == 0
    ports = admin.get("/ports", params={"device_id": router["id"]}).json()["ports"]
    assert [(p["device_owner"], p["project_id"]) for p in ports] == [
        ("network:router_gateway", "")]
    # The gateway port is the router's: not deletable through the port API.
    msg = neutron_error(admin.delete(f"/ports/{ports[0]['id']}"), 409, "L3PortInUse")
    assert "network:router_gateway" in msg
    assert member.delete(f"/routers/{router['id']}").status_code == 204
    assert admin.get(f"/ports/{ports[0]['id']}").status_code == 404


def test_gateway_on_a_network_that_is_not_external_is_refused(member: Net) -> None:
    net, _ = _private(member)
    resp = member.post("/routers", {"router": {"external_gateway_info": {
        "network_id": net["id"]}}})
    msg = neutron_error(resp, 400, "BadRequest")
    assert msg == f"Bad router request: Network {net['id']} is not an external network."
    router = member.made("routers", "router")
    resp = member.put(f"/routers/{router['id']}", {"router": {"external_gateway_info": {
        "network_id": net["id"]}}})
    neutron_error(resp, 400, "BadRequest")


def test_disabling_snat_needs_admin(member: Net, external: dict[str, Any]) -> None:
    resp = member.post("/routers", {"router": {"external_gateway_info": {
        "network_id": external["id"], "enable_snat": False}}})
    assert resp.status_code == 403, resp.text


def test_gateway_set_changed_and_cleared(member: Net, admin: Net,
                                         external: dict[str, Any]) -> None:
    router = member.made("routers", "router")
    assert router["external_gateway_info"] is None
    path = f"/routers/{router['id']}"
    resp = member.put(path, {"router": {"external_gateway_info": {
        "network_id": external["id"]}}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["router"]["external_gateway_info"]["network_id"] == external["id"]
    resp = admin.put(path, {"router": {"external_gateway_info": {
        "network_id": external["id"], "enable_snat": False}}})
    assert resp.json()["router"]["external_gateway_info"]["enable_snat"] is False
    resp = member.put(path, {"router": {"external_gateway_info": {}}})
    assert resp.json()["router"]["external_gateway_info"] is None
    assert admin.get("/ports", params={"device_id": router["id"]}).json()["ports"] == []


def test_non_empty_routes_are_refused(member: Net) -> None:
    router = member.made("routers", "router")
    resp = member.put(f"/routers/{router['id']}", {"router": {"routes": [
        {"destination": "10.9.0.0/24", "nexthop": "10.10.0.5"}]}})
    neutron_error(resp, 400, "BadRequest")


def test_interface_add_and_remove_by_subnet(member: Net, admin: Net) -> None:
    net, sub = _private(member)
    router = member.made("routers", "router")
    path = f"/routers/{router['id']}"
    resp = member.put(f"{path}/add_router_interface", {"subnet_id": sub["id"]})
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["subnet_id"] == sub["id"] and info["subnet_ids"] == [sub["id"]]
    assert (info["id"], info["network_id"], info["project_id"], info["tenant_id"]) == (
        router["id"], net["id"], member.project, member.project)
    port = member.get(f"/ports/{info['port_id']}").json()["port"]
    assert port["device_owner"] == "network:router_interface"
    assert port["device_id"] == router["id"]
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.10.0.1"}]
    again = member.put(f"{path}/add_router_interface", {"subnet_id": sub["id"]})
    neutron_error(again, 400, "BadRequest")
    neutron_error(member.delete(f"/ports/{port['id']}"), 409, "L3PortInUse")
    neutron_error(member.delete(path), 409, "RouterInUse")
    neutron_error(member.delete(f"/subnets/{sub['id']}"), 409, "SubnetInUse")
    resp = member.put(f"{path}/remove_router_interface", {"subnet_id": sub["id"]})
    assert resp.status_code == 200 and resp.json()["port_id"] == port["id"]
    assert member.get(f"/ports/{port['id']}").status_code == 404
    resp = member.put(f"{path}/remove_router_interface", {"subnet_id": sub["id"]})
    neutron_error(resp, 404, "RouterInterfaceNotFoundForSubnet")
    resp = member.put(f"{path}/remove_router_interface", {"port_id": port["id"]})
    neutron_error(resp, 404, "RouterInterfaceNotFound")
    assert member.delete(path).status_code == 204


def test_interface_by_port_and_its_checks(member: Net) -> None:
    net, sub = _private(member, "10.11.0.0/24")
    router = member.made("routers", "router")
    path = f"/routers/{router['id']}"
    port = member.port(net["id"])
    resp = member.put(f"{path}/add_router_interface", {"port_id": port["id"]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["port_id"] == port["id"]
    shown = member.get(f"/ports/{port['id']}").json()["port"]
    assert shown["device_owner"] == "network:router_interface"
    # The subnet's gateway address is free, but the subnet is attached already.
    neutron_error(member.put(f"{path}/add_router_interface", {"subnet_id": sub["id"]}),
                  400, "BadRequest")
    used = member.port(net["id"], device_id="some-server", device_owner="compute:nova")
    neutron_error(member.put(f"{path}/add_router_interface", {"port_id": used["id"]}),
                  409, "PortInUse")
    neutron_error(member.put(f"{path}/add_router_interface", {}), 400, "BadRequest")
    resp = member.put(f"{path}/remove_router_interface", {"port_id": port["id"]})
    assert resp.status_code == 200, resp.text
    assert member.delete(path).status_code == 204


def test_gateway_address_used_by_another_router_is_a_conflict(member: Net) -> None:
    _, sub = _private(member, "10.12.0.0/24")
    first, second = member.made("routers", "router"), member.made("routers", "router")
    resp = member.put(f"/routers/{first['id']}/add_router_interface", {"subnet_id": sub["id"]})
    assert resp.status_code == 200
    resp = member.put(f"/routers/{second['id']}/add_router_interface",
                      {"subnet_id": sub["id"]})
    neutron_error(resp, 409, "IpAddressAlreadyAllocated")


def test_subnet_without_gateway_cannot_be_attached(member: Net) -> None:
    net = member.network()
    sub = member.subnet(net["id"], "10.13.0.0/24", gateway_ip=None)
    router = member.made("routers", "router")
    resp = member.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    neutron_error(resp, 400, "BadRequest")


def test_another_projects_router_is_not_found(member: Net, other: Net) -> None:
    router = member.made("routers", "router")
    path = f"/routers/{router['id']}"
    neutron_error(other.get(path), 404, "RouterNotFound")
    neutron_error(other.put(path, {"router": {"name": "x"}}), 404, "RouterNotFound")
    neutron_error(other.delete(path), 404, "RouterNotFound")
    assert other.get("/routers").json()["routers"] == []
    _, sub = _private(other, "10.14.0.0/24")
    neutron_error(other.put(f"{path}/add_router_interface", {"subnet_id": sub["id"]}),
                  404, "RouterNotFound")
    _, mine = _private(member, "10.15.0.0/24")
    theirs = other.made("routers", "router")
    neutron_error(other.put(f"/routers/{theirs['id']}/add_router_interface",
                            {"subnet_id": mine["id"]}), 404, "SubnetNotFound")


def test_reader_may_look_but_not_create(member: Net, reader: Net) -> None:
    router = member.made("routers", "router", name="seen")
    assert reader.get(f"/routers/{router['id']}").json()["router"]["name"] == "seen"
    neutron_error(reader.post("/routers", {"router": {"name": "x"}}), 403,
                  "PolicyNotAuthorized")
    neutron_error(reader.delete(f"/routers/{router['id']}"), 403, "PolicyNotAuthorized")


def test_router_quota(member: Net, admin: Net) -> None:
    resp = admin.put(f"/quotas/{member.project}", {"quota": {"router": 2}})
    assert resp.status_code == 200, resp.text
    member.made("routers", "router")
    member.made("routers", "router")
    neutron_error(member.post("/routers", {"router": {}}), 409, "OverQuota")
    details = member.get(f"/quotas/{member.project}/details").json()["quota"]
    assert details["router"] == {"limit": 2, "used": 2, "reserved": 0}


def test_router_update_and_listing(member: Net) -> None:
    router = member.made("routers", "router", name="a", description="d")
    resp = member.put(f"/routers/{router['id']}", {"router": {"name": "b",
                                                              "admin_state_up": False}})
    body = resp.json()["router"]
    assert (body["name"], body["admin_state_up"], body["revision_number"]) == ("b", False, 1)
    listed = member.get("/routers", params={"name": "b"}).json()["routers"]
    assert [r["id"] for r in listed] == [router["id"]]
    neutron_error(member.post("/routers", {"router": {"distributed": True}}), 400,
                  "HTTPBadRequest")


def test_odd_values_are_client_errors(member: Net, admin: Net,
                                      external: dict[str, Any]) -> None:
    odd: list[Any] = [None, [], {}, "x" * 300, -1, True, 1.5, "💥", [{"a": 1}],
                      {"network_id": "nope"}, {"network_id": external["id"],
                                               "external_fixed_ips": [{}]},
                      {"network_id": external["id"], "external_fixed_ips": [
                          {"ip_address": "10.0.0.1"}]},
                      [{"ip_address": "10.0.0.1", "subnet_id": "x"}], "203.0.113.5"]
    failures = []
    router = member.made("routers", "router")
    for path, resource, base in (("routers", ROUTER, {}), ("floatingips", FLOATINGIP,
                                 {"floating_network_id": external["id"]})):
        for attr in resource.attrs:
            for value in odd:
                for client in (member, admin):
                    resp = client.post(f"/{path}", {resource.singular: {**base, attr: value}})
                    if resp.status_code >= 500:
                        failures.append((path, attr, value, resp.text))
                    elif resp.status_code == 201:
                        item = resp.json()[resource.singular]
                        client.delete(f"/{path}/{item['id']}")
                    resp = client.put(f"/routers/{router['id']}", {"router": {attr: value}})
                    if resp.status_code >= 500:
                        failures.append(("put router", attr, value, resp.text))
    for value in odd:
        for verb in ("add", "remove"):
            for body in (value, {"subnet_id": value}, {"port_id": value}):
                resp = member.put(f"/routers/{router['id']}/{verb}_router_interface", body)
                if resp.status_code >= 500:
                    failures.append((verb, body, resp.text))
    assert failures == []
