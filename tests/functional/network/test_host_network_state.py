"""The desired network state of a host, computed from the database (both backends)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from conductor.network_state import host_network_state
from tests.functional.network.conftest import Net


def _bind(admin: Net, db: sessionmaker[Session], port_id: str, host: str, vtep: str) -> None:
    resp = admin.put(f"/ports/{port_id}", {"port": {"binding:host_id": host}})
    assert resp.status_code == 200, resp.text
    with db() as session:
        # The VTEP a host's agent registered with (its [network] local_ip).
        queries.upsert_service(session, host, "kilonova-compute", "compute").vtep_ip = vtep
        session.commit()


def test_a_host_gets_its_ports_networks_rules_and_the_other_hosts_vteps(
        member: Net, admin: Net, db: sessionmaker[Session]) -> None:
    h1, h2 = f"h1-{uuid.uuid4().hex[:6]}", f"h2-{uuid.uuid4().hex[:6]}"
    net = member.network()
    sub = member.subnet(net["id"], "10.30.0.0/24", dns_nameservers=["192.0.2.53"])
    group = member.made("security-groups", "security_group", name="web")
    member.made("security-group-rules", "security_group_rule", security_group_id=group["id"],
                direction="ingress", protocol="tcp", port_range_min=22, port_range_max=22,
                remote_ip_prefix="198.51.100.0/24")
    member.made("security-group-rules", "security_group_rule", security_group_id=group["id"],
                direction="ingress", protocol="icmp", remote_group_id=group["id"])
    mine = member.port(net["id"], security_groups=[group["id"]])
    theirs = member.port(net["id"], security_groups=[group["id"]])
    unbound = member.port(net["id"])
    _bind(admin, db, mine["id"], h1, "192.0.2.1")
    _bind(admin, db, theirs["id"], h2, "192.0.2.2")

    with db() as session:
        state = host_network_state(session, h1)
    assert [str(n.id) for n in state.networks] == [net["id"]]
    network = state.networks[0]
    assert network.type == "vxlan" and network.segmentation_id is not None
    assert [(str(s.id), s.cidr, s.gateway_ip, s.dns_nameservers) for s in network.subnets] \
        == [(sub["id"], "10.30.0.0/24", "10.30.0.1", ["192.0.2.53"])]
    assert [str(p.id) for p in state.ports] == [mine["id"]]
    port = state.ports[0]
    assert port.mac == mine["mac_address"]
    assert [f.ip_address for f in port.fixed_ips] == [mine["fixed_ips"][0]["ip_address"]]
    rules = {(r.direction, r.protocol, r.port_range_min, tuple(r.remote_prefixes or ()))
             for r in port.security_group_rules}
    members = tuple(sorted(p["fixed_ips"][0]["ip_address"] for p in (mine, theirs)))
    assert ("ingress", "tcp", 22, ("198.51.100.0/24",)) in rules
    assert ("ingress", "icmp", None, members) in rules
    assert state.vteps == {uuid.UUID(net["id"]): ["192.0.2.2"]}
    assert [(r.mac, r.vtep) for r in state.remote_ports] == [
        (theirs["mac_address"], "192.0.2.2")]
    assert unbound["id"] not in {str(p.id) for p in state.ports}
    assert state.routers == []

    with db() as session:
        assert host_network_state(session, f"nowhere-{uuid.uuid4().hex[:6]}").networks == []


def test_a_router_goes_to_one_host_of_its_networks_with_snat_and_floating_ips(
        member: Net, admin: Net, db: sessionmaker[Session]) -> None:
    host = f"a-{uuid.uuid4().hex[:6]}"
    external = admin.network(**{"router:external": True})
    admin.subnet(external["id"], "203.0.113.0/24")
    net = member.network()
    sub = member.subnet(net["id"], "10.40.0.0/24")
    router: dict[str, Any] = member.made("routers", "router", external_gateway_info={
        "network_id": external["id"]})
    resp = member.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    assert resp.status_code == 200, resp.text
    guest = member.port(net["id"])
    _bind(admin, db, guest["id"], host, "192.0.2.7")
    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"],
                      port_id=guest["id"])

    with db() as session:
        state = host_network_state(session, host)
    assert {str(n.id) for n in state.networks} == {net["id"], external["id"]}
    assert len(state.routers) == 1
    hosted = state.routers[0]
    assert str(hosted.id) == router["id"] and hosted.snat
    assert [i.ip_address for i in hosted.interfaces] == ["10.40.0.1/24"]
    assert hosted.gateway is not None and hosted.gateway.next_hop == "203.0.113.1"
    assert hosted.gateway.ip_address.startswith("203.0.113.")
    assert hosted.gateway.ip_address.endswith("/24")
    assert [(f.floating_ip, f.fixed_ip) for f in hosted.floating] == [
        (fip["floating_ip_address"], guest["fixed_ips"][0]["ip_address"])]
