"""A host's data plane through the conductor: its network state (for itself only), its
VTEP from registration, DHCP ports made once, ports reported wired (both backends)."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from cli.embedded import EmbeddedCloud
from common.compute_db.models import Service
from common.compute_db.network_models import IpAllocation, Port
from common.context import RequestContext, admin_context
from common.errors import Forbidden
from common.messages import NodeReport
from compute_agent.virt.fake import FAIL_PLUG_KEY
from conductor.dhcp_ports import dhcp_port_id
from conductor.rpc.client import ConductorClient
from tests.cloud import CloudClient
from tests.functional.network.conftest import Net
from tests.functional.network.test_metadata import _host_of
from tests.functional.network.test_servers_on_networks import _boot, _ports_of


def _node(host: str) -> NodeReport:
    return NodeReport(uuid=uuid.uuid4(), hypervisor_hostname=host, hypervisor_type="fake",
                      vcpus=1, memory_mb=512, local_gb=1, cpu_allocation_ratio=1.0,
                      ram_allocation_ratio=1.0, disk_allocation_ratio=1.0)


def _bind(admin: Net, port_id: str, host: str) -> None:
    resp = admin.put(f"/ports/{port_id}", {"port": {"binding:host_id": host}})
    assert resp.status_code == 200, resp.text


def _host_ctx(*hosts: str) -> RequestContext:
    return dataclasses.replace(admin_context(), service_hosts=frozenset(hosts))


def test_a_host_credential_gets_only_its_own_network_state(
        conductor: ConductorClient, member: Net, admin: Net) -> None:
    mine, theirs = f"w1-{uuid.uuid4().hex[:6]}", f"w2-{uuid.uuid4().hex[:6]}"
    net = member.network()
    member.subnet(net["id"], "10.61.0.0/24")
    port = member.port(net["id"])
    _bind(admin, port["id"], mine)
    state = conductor.host_network_state(_host_ctx(mine), mine)
    assert [str(p.id) for p in state.ports] == [port["id"]]
    with pytest.raises(Forbidden):
        conductor.host_network_state(_host_ctx(mine), theirs)


def test_the_vtep_a_host_registered_with_reaches_the_other_hosts(
        conductor: ConductorClient, member: Net, admin: Net) -> None:
    h1, h2 = f"v1-{uuid.uuid4().hex[:6]}", f"v2-{uuid.uuid4().hex[:6]}"
    conductor.register_compute(admin_context(), h2, _node(h2), vtep_ip="192.0.2.42")
    net = member.network()
    member.subnet(net["id"], "10.62.0.0/24")
    here, there = member.port(net["id"]), member.port(net["id"])
    _bind(admin, here["id"], h1)
    _bind(admin, there["id"], h2)
    state = conductor.host_network_state(admin_context(), h1)
    assert state.vteps == {uuid.UUID(net["id"]): ["192.0.2.42"]}
    assert [(r.mac, r.vtep) for r in state.remote_ports] == [
        (there["mac_address"], "192.0.2.42")]


def test_two_hosts_asking_at_once_make_one_dhcp_port(
        conductor: ConductorClient, member: Net, admin: Net,
        db: sessionmaker[Session]) -> None:
    net = member.network()
    sub = member.subnet(net["id"], "10.63.0.0/24")
    hosts = [f"d{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    for host in hosts:
        _bind(admin, member.port(net["id"])["id"], host)
    answers: dict[str, Any] = {}

    def ask(host: str) -> None:
        try:
            answers[host] = conductor.host_network_state(admin_context(), host)
        except Exception as exc:
            answers[host] = exc

    threads = [threading.Thread(target=ask, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with db() as session:
        dhcp = session.scalars(sa.select(Port).where(
            Port.network_id == uuid.UUID(net["id"]), Port.device_owner == "network:dhcp")).all()
        assert [p.id for p in dhcp] == [dhcp_port_id(uuid.UUID(net["id"]))]
        assert (dhcp[0].project_id, dhcp[0].device_id) == (member.project, "dhcp")
        [address] = session.scalars(sa.select(IpAllocation.ip_address).where(
            IpAllocation.port_id == dhcp[0].id)).all()
    for host in hosts:
        state = answers[host]
        assert not isinstance(state, Exception), state
        [subnet] = state.networks[0].subnets
        assert (str(subnet.id), subnet.dhcp_server_ip) == (sub["id"], address)


def test_a_full_pool_leaves_the_subnet_without_dhcp(
        conductor: ConductorClient, member: Net, admin: Net) -> None:
    net = member.network()
    member.subnet(net["id"], "10.64.0.0/24", allocation_pools=[
        {"start": "10.64.0.10", "end": "10.64.0.10"}])
    port = member.port(net["id"])
    host = f"f-{uuid.uuid4().hex[:6]}"
    _bind(admin, port["id"], host)
    state = conductor.host_network_state(admin_context(), host)
    assert [s.dhcp_server_ip for s in state.networks[0].subnets] == [None]


def test_a_booted_server_has_its_ports_wired_and_active(
        net_cloud: EmbeddedCloud, conductor: ConductorClient, compute: CloudClient,
        member: Net, boot_refs: tuple[str, str]) -> None:
    net = member.network()
    member.subnet(net["id"], "10.65.0.0/24")
    booted = _boot(compute, boot_refs, [{"uuid": net["id"]}])
    server = compute.wait_status(booted["body"]["server"]["id"], {"ACTIVE"})
    [port] = _ports_of(member, server["id"])
    assert port["status"] == "ACTIVE"
    host = _host_of(net_cloud, server["id"])
    stranger = member.port(net["id"])
    with pytest.raises(Forbidden):
        conductor.ports_wired(admin_context(), f"not-{host}", uuid.UUID(server["id"]),
                              [uuid.UUID(port["id"])])
    with pytest.raises(Forbidden):
        conductor.ports_wired(admin_context(), host, uuid.UUID(server["id"]),
                              [uuid.UUID(stranger["id"])])
    with pytest.raises(Forbidden):
        conductor.ports_wired(_host_ctx(f"not-{host}"), host, uuid.UUID(server["id"]),
                              [uuid.UUID(port["id"])])
    conductor.ports_wired(_host_ctx(host), host, uuid.UUID(server["id"]),
                          [uuid.UUID(port["id"])])


def test_ports_not_wired_fail_the_build_with_a_fault_naming_the_port(
        compute: CloudClient, member: Net, boot_refs: tuple[str, str]) -> None:
    net = member.network()
    member.subnet(net["id"], "10.66.0.0/24")
    port = member.port(net["id"])
    booted = _boot(compute, boot_refs, [{"port": port["id"]}], metadata={FAIL_PLUG_KEY: "*"})
    assert booted["status"] == 202, booted
    server = compute.wait_status(booted["body"]["server"]["id"], {"ERROR"})
    assert f"port {port['id']} was not wired" in server["fault"]["message"]


def test_the_registered_vtep_is_recorded(conductor: ConductorClient,
                                         db: sessionmaker[Session]) -> None:
    host = f"r-{uuid.uuid4().hex[:6]}"
    conductor.register_compute(admin_context(), host, _node(host), vtep_ip="192.0.2.77")
    with db() as session:
        assert session.scalar(sa.select(Service.vtep_ip).where(Service.host == host)) \
            == "192.0.2.77"
