"""Floating IPs over HTTP: allocation on external networks, association through routers."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from cli.embedded import EmbeddedCloud
from common.context import RequestContext
from common.db import transaction
from compute_api.network import floating_ips, ports
from compute_api.network.faults import ExternalGatewayForFloatingIPNotFound
from tests.functional.network.conftest import Net, neutron_error


@pytest.fixture
def external(admin: Net) -> dict[str, Any]:
    net = admin.network(**{"router:external": True})
    admin.subnet(net["id"], "203.0.113.0/24")
    return admin.get(f"/networks/{net['id']}").json()["network"]


def _routed(member: Net, external: dict[str, Any], cidr: str = "10.20.0.0/24"
            ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A private network and subnet attached to a router with a gateway on ``external``."""
    net = member.network()
    sub = member.subnet(net["id"], cidr)
    router = member.made("routers", "router",
                         external_gateway_info={"network_id": external["id"]})
    resp = member.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    assert resp.status_code == 200, resp.text
    return net, sub, router


def test_floating_ip_lifecycle(member: Net, admin: Net, external: dict[str, Any]) -> None:
    net, sub, router = _routed(member, external)
    port = member.port(net["id"])
    fixed = port["fixed_ips"][0]["ip_address"]
    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"],
                      description="web")
    assert fip["floating_ip_address"].startswith("203.0.113.")
    assert (fip["status"], fip["port_id"], fip["router_id"], fip["fixed_ip_address"]) == (
        "DOWN", None, None, None)
    assert fip["project_id"] == member.project and fip["description"] == "web"
    path = f"/floatingips/{fip['id']}"
    resp = member.put(path, {"floatingip": {"port_id": port["id"]}})
    assert resp.status_code == 200, resp.text
    body = resp.json()["floatingip"]
    assert (body["status"], body["port_id"], body["router_id"], body["fixed_ip_address"]) == (
        "ACTIVE", port["id"], router["id"], fixed)
    assert body["port_details"]["network_id"] == net["id"]
    assert member.get("/floatingips", params={"port_id": port["id"]}).json()[
        "floatingips"][0]["id"] == fip["id"]
    # The interface the floating IP goes through cannot be removed.
    resp = member.put(f"/routers/{router['id']}/remove_router_interface",
                      {"subnet_id": sub["id"]})
    neutron_error(resp, 409, "RouterInterfaceInUseByFloatingIP")
    resp = member.put(f"/routers/{router['id']}", {"router": {"external_gateway_info": None}})
    neutron_error(resp, 409, "RouterExternalGatewayInUseByFloatingIp")
    resp = member.put(path, {"floatingip": {"port_id": None}})
    body = resp.json()["floatingip"]
    assert (body["status"], body["port_id"], body["router_id"]) == ("DOWN", None, None)
    fip_port = admin.get("/ports", params={"device_owner": "network:floatingip",
                                           "device_id": fip["id"]}).json()["ports"]
    assert fip_port[0]["fixed_ips"][0]["ip_address"] == fip["floating_ip_address"]
    neutron_error(admin.delete(f"/ports/{fip_port[0]['id']}"), 409, "L3PortInUse")
    assert member.delete(path).status_code == 204
    neutron_error(member.get(path), 404, "FloatingIPNotFound")
    assert admin.get(f"/ports/{fip_port[0]['id']}").status_code == 404
    assert member.put(f"/routers/{router['id']}/remove_router_interface",
                      {"subnet_id": sub["id"]}).status_code == 200
    assert member.delete(f"/routers/{router['id']}").status_code == 204


def test_create_associated_and_delete_the_port(member: Net, external: dict[str, Any]) -> None:
    net, _, router = _routed(member, external, "10.21.0.0/24")
    port = member.port(net["id"])
    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"],
                      port_id=port["id"])
    assert fip["status"] == "ACTIVE" and fip["router_id"] == router["id"]
    assert member.delete(f"/ports/{port['id']}").status_code == 204
    shown = member.get(f"/floatingips/{fip['id']}").json()["floatingip"]
    assert (shown["status"], shown["port_id"], shown["fixed_ip_address"]) == (
        "DOWN", None, None)


def test_association_without_a_router_path_is_not_found(
        member: Net, external: dict[str, Any]) -> None:
    net = member.network()
    sub = member.subnet(net["id"], "10.22.0.0/24")
    port = member.port(net["id"])
    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"])
    resp = member.put(f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}})
    msg = neutron_error(resp, 404, "ExternalGatewayForFloatingIPNotFound")
    assert msg == (f"External network {external['id']} is not reachable from subnet "
                   f"{sub['id']}.  Therefore, cannot associate Port {port['id']} with a "
                   "Floating IP.")
    # A router with the interface but no gateway is not a path either.
    router = member.made("routers", "router")
    member.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    resp = member.put(f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}})
    neutron_error(resp, 404, "ExternalGatewayForFloatingIPNotFound")


def test_floating_network_must_be_external(member: Net) -> None:
    net = member.network()
    member.subnet(net["id"], "10.23.0.0/24")
    resp = member.post("/floatingips", {"floatingip": {"floating_network_id": net["id"]}})
    msg = neutron_error(resp, 400, "BadRequest")
    assert msg == f"Bad floatingip request: Network {net['id']} is not a valid external network."


def test_one_fixed_address_one_floating_ip(member: Net, external: dict[str, Any]) -> None:
    net, _, _ = _routed(member, external, "10.24.0.0/24")
    port = member.port(net["id"])
    member.made("floatingips", "floatingip", floating_network_id=external["id"],
                port_id=port["id"])
    second = member.made("floatingips", "floatingip", floating_network_id=external["id"])
    resp = member.put(f"/floatingips/{second['id']}", {"floatingip": {"port_id": port["id"]}})
    neutron_error(resp, 409, "FloatingIPPortAlreadyAssociated")
    resp = member.put(f"/floatingips/{second['id']}", {"floatingip": {
        "port_id": port["id"], "fixed_ip_address": "10.24.0.250"}})
    neutron_error(resp, 400, "BadRequest")


def test_other_projects_resources_are_not_found(member: Net, other: Net,
                                                external: dict[str, Any]) -> None:
    net, _, _ = _routed(member, external, "10.25.0.0/24")
    port = member.port(net["id"])
    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"])
    path = f"/floatingips/{fip['id']}"
    neutron_error(other.get(path), 404, "FloatingIPNotFound")
    neutron_error(other.delete(path), 404, "FloatingIPNotFound")
    assert other.get("/floatingips").json()["floatingips"] == []
    theirs = other.made("floatingips", "floatingip", floating_network_id=external["id"])
    resp = other.put(f"/floatingips/{theirs['id']}", {"floatingip": {"port_id": port["id"]}})
    neutron_error(resp, 404, "PortNotFound")


def test_reader_and_choosing_an_address(member: Net, reader: Net, admin: Net,
                                        external: dict[str, Any]) -> None:
    neutron_error(reader.post("/floatingips", {"floatingip": {
        "floating_network_id": external["id"]}}), 403, "PolicyNotAuthorized")
    resp = member.post("/floatingips", {"floatingip": {
        "floating_network_id": external["id"], "floating_ip_address": "203.0.113.77"}})
    assert resp.status_code == 403, resp.text
    chosen = admin.made("floatingips", "floatingip", floating_network_id=external["id"],
                        floating_ip_address="203.0.113.77", project_id=member.project)
    assert chosen["floating_ip_address"] == "203.0.113.77"
    assert reader.get(f"/floatingips/{chosen['id']}").status_code == 200
    resp = admin.post("/floatingips", {"floatingip": {
        "floating_network_id": external["id"], "floating_ip_address": "203.0.113.77"}})
    neutron_error(resp, 409, "IpAddressAlreadyAllocated")


def test_floating_ip_quota(member: Net, admin: Net, external: dict[str, Any]) -> None:
    assert admin.put(f"/quotas/{member.project}",
                     {"quota": {"floatingip": 1}}).status_code == 200
    member.made("floatingips", "floatingip", floating_network_id=external["id"])
    resp = member.post("/floatingips", {"floatingip": {"floating_network_id": external["id"]}})
    neutron_error(resp, 409, "OverQuota")


def test_concurrent_creates_hand_out_each_address_once(net_cloud: EmbeddedCloud,
                                                       admin: Net) -> None:
    net = admin.network(**{"router:external": True})
    admin.subnet(net["id"], "198.51.100.0/28")  # 13 free addresses
    requests = 24
    start = threading.Barrier(requests)

    def create(i: int) -> httpx.Response:
        with httpx.Client(base_url=f"{net_cloud.base_url}/networking", timeout=120,
                          headers={"X-Auth-Token": f"u{i}:fip-race-{i % 6}"}) as http:
            start.wait()
            return http.post("/v2.0/floatingips",
                             json={"floatingip": {"floating_network_id": net["id"]}})

    with ThreadPoolExecutor(requests) as pool:
        answers = list(pool.map(create, range(requests)))
    assert Counter(r.status_code for r in answers) == {201: 13, 409: 11}
    addresses = [r.json()["floatingip"]["floating_ip_address"] for r in answers
                 if r.status_code == 201]
    assert len(set(addresses)) == 13
    assert {r.json()["NeutronError"]["type"] for r in answers if r.status_code == 409} == {
        "IpAddressGenerationFailure"}


def test_server_interface(member: Net, admin: Net, external: dict[str, Any],
                          db: sessionmaker[Session]) -> None:
    """associate_for_server / disassociate_for_server / for_ports, as the compute API
    calls them for a server whose port carries its id."""
    net, _, router = _routed(member, external, "10.26.0.0/24")
    lonely = member.network()
    member.subnet(lonely["id"], "10.27.0.0/24")
    server = uuid.uuid4()
    unreachable = member.port(lonely["id"], device_id=str(server), device_owner="compute:nova")
    port = member.port(net["id"], device_id=str(server), device_owner="compute:nova")
    fixed = port["fixed_ips"][0]["ip_address"]
    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"])
    address = fip["floating_ip_address"]
    ctx = RequestContext(user_id="alice", project_id=member.project, roles=("member",))
    with transaction(db) as session:
        got = floating_ips.associate_for_server(session, ctx, address, server, None)
        assert (str(got.fixed_port_id), got.router_id) == (port["id"], uuid.UUID(router["id"]))
        assert floating_ips.for_ports(session, [port["id"], unreachable["id"]]) == {
            port["id"]: [(fixed, address)]}
    with transaction(db) as session, pytest.raises(ExternalGatewayForFloatingIPNotFound):
        floating_ips.associate_for_server(session, ctx, address, server,
                                          unreachable["fixed_ips"][0]["ip_address"])
    with transaction(db) as session, pytest.raises(floating_ips.FloatingIPNotAssociatedWithServer):
        floating_ips.disassociate_for_server(session, ctx, address, uuid.uuid4())
    with transaction(db) as session:
        floating_ips.disassociate_for_server(session, ctx, address, server)
    shown = member.get(f"/floatingips/{fip['id']}").json()["floatingip"]
    assert shown["status"] == "DOWN"


def test_releasing_a_servers_ports_disassociates(member: Net, external: dict[str, Any],
                                                 db: sessionmaker[Session]) -> None:
    net, _, _ = _routed(member, external, "10.28.0.0/24")
    server = uuid.uuid4()
    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"])
    ctx = RequestContext(user_id="alice", project_id=member.project, roles=("member",))
    with transaction(db) as session:
        ports.create_for_server(session, ctx, server, network_id=net["id"])
        floating_ips.associate_for_server(session, ctx, fip["floating_ip_address"], server,
                                          None)
    assert member.get(f"/floatingips/{fip['id']}").json()["floatingip"]["status"] == "ACTIVE"
    with transaction(db) as session:
        ports.release_for_server(session, server)
    shown = member.get(f"/floatingips/{fip['id']}").json()["floatingip"]
    assert (shown["status"], shown["port_id"]) == ("DOWN", None)
