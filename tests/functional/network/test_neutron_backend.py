"""``[network] backend = neutron``: servers' ports in an external Neutron.

The "Neutron" is another cloud's network API (the package's ``net_cloud``); the compute
cloud under test serves no /networking of its own. Both run the development auth mode,
so a caller's token means the same project at both, and the conductor acts as admin.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from cli.embedded import EmbeddedCloud
from common.compute_db.models import Instance, InstanceFault
from common.db import create_engine, session_factory, transaction
from common.errors import Conflict, ServiceUnavailable
from common.neutron import NeutronClient
from conductor.neutron_ports import NeutronPorts
from tests.cloud import CloudClient
from tests.functional.compute.helpers import ensure_flavor, public_image
from tests.functional.network.conftest import Net


@pytest.fixture(scope="module")
def nova_db(nova: EmbeddedCloud) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(nova.settings.compute_db_url, pool_size=2, max_pool=4)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def image(nova_admin: CloudClient) -> str:
    return public_image(nova_admin)


@pytest.fixture(scope="module")
def flavor(nova_admin: CloudClient) -> str:
    return ensure_flavor(nova_admin, "neutron-small")


@pytest.fixture
def servers(nova: EmbeddedCloud, member: Net) -> Iterator[CloudClient]:
    """The compute cloud as ``member``'s project."""
    client = CloudClient(nova.base_url, token=f"alice:{member.project}", version="2.37")
    yield client
    client.close()


def _boot(servers: CloudClient, flavor: str, image: str, networks: Any,
          **extra: Any) -> Any:
    return servers.compute("POST", "/servers", json={"server": {
        "name": f"vm-{uuid.uuid4().hex[:6]}", "flavorRef": flavor, "imageRef": image,
        "networks": networks, **extra}})


def _active(servers: CloudClient, flavor: str, image: str, networks: Any,
            **extra: Any) -> dict[str, Any]:
    resp = _boot(servers, flavor, image, networks, **extra)
    assert resp.status_code == 202, resp.text
    return servers.wait_status(resp.json()["server"]["id"], {"ACTIVE"})


def _ports_of(admin: Net, server_id: str) -> list[dict[str, Any]]:
    resp = admin.get("/ports", params={"device_id": server_id})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["ports"])


def _until(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def _host(nova_admin: CloudClient, server_id: str) -> str:
    resp = nova_admin.compute("GET", f"/servers/{server_id}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["server"]["OS-EXT-SRV-ATTR:host"])


def test_the_compute_cloud_serves_no_network_api(nova: EmbeddedCloud,
                                                 nova_admin: CloudClient) -> None:
    assert nova_admin.http.get("/networking/v2.0/networks").status_code == 404


def test_a_server_gets_a_port_made_and_bound_in_neutron_and_shows_its_address(
        servers: CloudClient, nova_admin: CloudClient, member: Net, admin: Net,
        flavor: str, image: str) -> None:
    net = member.network(name="blue")
    member.subnet(net["id"], "10.40.0.0/24")
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    ports = _ports_of(admin, server["id"])
    assert len(ports) == 1
    port = ports[0]
    assert port["network_id"] == net["id"]
    assert port["project_id"] == member.project
    assert port["device_owner"] == "compute:nova"
    assert port["binding:host_id"] == _host(nova_admin, server["id"])
    fixed = port["fixed_ips"][0]["ip_address"]
    assert server["addresses"] == {"blue": [{
        "version": 4, "addr": fixed, "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    # The project's default group, as Neutron gives a port made without groups.
    default = member.get("/security-groups", params={"name": "default"}).json()
    assert port["security_groups"] == [default["security_groups"][0]["id"]]

    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])
    _until(lambda: not _ports_of(admin, server["id"]))
    assert member.get(f"/ports/{port['id']}").status_code == 404


def test_a_fixed_address_a_security_group_and_a_handed_in_port(
        servers: CloudClient, nova_admin: CloudClient, member: Net, admin: Net,
        flavor: str, image: str) -> None:
    net = member.network(name="green")
    member.subnet(net["id"], "10.41.0.0/24")
    web = member.made("security-groups", "security_group", name="web")
    handed = member.port(net["id"], name="mine",
                         fixed_ips=[{"ip_address": "10.41.0.20"}])
    server = _active(servers, flavor, image,
                     [{"uuid": net["id"], "fixed_ip": "10.41.0.77"}, {"port": handed["id"]}],
                     security_groups=[{"name": "web"}])
    ports = {p["id"]: p for p in _ports_of(admin, server["id"])}
    assert set(ports) >= {handed["id"]} and len(ports) == 2
    made = next(p for i, p in ports.items() if i != handed["id"])
    assert made["fixed_ips"][0]["ip_address"] == "10.41.0.77"
    assert made["security_groups"] == [web["id"]]
    host = _host(nova_admin, server["id"])
    assert {p["binding:host_id"] for p in ports.values()} == {host}
    shown = [a["addr"] for a in server["addresses"]["green"]]
    assert shown == ["10.41.0.77", handed["fixed_ips"][0]["ip_address"]]

    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])
    _until(lambda: not _ports_of(admin, server["id"]))
    # The port handed in stays, detached and unbound; the one made for it is gone.
    kept = admin.get(f"/ports/{handed['id']}").json()["port"]
    assert (kept["device_id"], kept["device_owner"], kept["binding:host_id"]) == ("", "", "")
    assert member.get(f"/ports/{made['id']}").status_code == 404


def test_another_projects_network_port_or_group_is_refused_and_nothing_is_made(
        servers: CloudClient, member: Net, other: Net, admin: Net, flavor: str,
        image: str) -> None:
    theirs = other.network(name="theirs")
    other.subnet(theirs["id"], "10.42.0.0/24")
    their_port = other.port(theirs["id"])
    other.made("security-groups", "security_group", name="theirs-only")
    before = servers.compute("GET", "/servers").json()["servers"]
    resp = _boot(servers, flavor, image, [{"uuid": theirs["id"]}])
    assert resp.status_code == 400, resp.text
    assert f"Network {theirs['id']} could not be found" in resp.json()["badRequest"]["message"]
    resp = _boot(servers, flavor, image, [{"port": their_port["id"]}])
    assert resp.status_code == 400, resp.text
    assert f"Port id {their_port['id']} could not be found" in resp.text
    mine = member.network(name="mine")
    member.subnet(mine["id"], "10.43.0.0/24")
    resp = _boot(servers, flavor, image, [{"uuid": mine["id"]}],
                 security_groups=[{"name": "theirs-only"}])
    assert resp.status_code == 400, resp.text
    assert "Security group theirs-only not found" in resp.text
    assert servers.compute("GET", "/servers").json()["servers"] == before
    ports = admin.get("/ports", params={"network_id": mine["id"]}).json()["ports"]
    assert ports == []
    their_now = other.get(f"/ports/{their_port['id']}").json()["port"]
    assert their_now["device_id"] == ""


def test_a_port_in_use_and_a_network_without_subnets_are_refused(
        servers: CloudClient, member: Net, flavor: str, image: str) -> None:
    bare = member.network(name="bare")
    resp = _boot(servers, flavor, image, [{"uuid": bare["id"]}])
    assert resp.status_code == 400, resp.text
    assert "requires a subnet" in resp.text
    net = member.network(name="used")
    member.subnet(net["id"], "10.44.0.0/24")
    busy = member.port(net["id"], device_id=str(uuid.uuid4()), device_owner="compute:nova")
    resp = _boot(servers, flavor, image, [{"port": busy["id"]}])
    assert resp.status_code == 409, resp.text
    assert "still in use" in resp.text


def test_a_network_that_cannot_give_an_address_fails_the_build_cleanly(
        servers: CloudClient, nova: EmbeddedCloud, member: Net, admin: Net, flavor: str,
        image: str) -> None:
    net = member.network(name="tiny")
    subnet = member.subnet(net["id"], "10.45.0.0/29",
                           allocation_pools=[{"start": "10.45.0.2", "end": "10.45.0.2"}])
    member.port(net["id"])  # takes the only address
    resp = _boot(servers, flavor, image, [{"uuid": net["id"]}])
    assert resp.status_code == 202, resp.text
    server = servers.wait_status(resp.json()["server"]["id"], {"ERROR"})
    assert "Network allocation" in server["fault"]["message"]
    assert subnet["id"]
    # Neither a claim nor a port is left behind.
    placement = CloudClient(nova.base_url)
    try:
        allocs = placement.placement("GET", f"/allocations/{server['id']}").json()
        assert allocs["allocations"] == {}
    finally:
        placement.close()
    assert _ports_of(admin, server["id"]) == []
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_a_migrated_server_takes_its_port_binding_along(
        servers: CloudClient, nova_admin: CloudClient, member: Net, admin: Net,
        flavor: str, image: str) -> None:
    net = member.network(name="moving")
    member.subnet(net["id"], "10.46.0.0/24")
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    source = _host(nova_admin, server["id"])
    resp = nova_admin.compute("POST", f"/servers/{server['id']}/action",
                              json={"migrate": None})
    assert resp.status_code == 202, resp.text
    nova_admin.wait_status(server["id"], {"VERIFY_RESIZE"})
    resp = nova_admin.compute("POST", f"/servers/{server['id']}/action",
                              json={"confirmResize": None})
    assert resp.status_code == 204, resp.text
    nova_admin.wait_status(server["id"], {"ACTIVE"})
    dest = _host(nova_admin, server["id"])
    assert dest != source
    _until(lambda: [p["binding:host_id"] for p in _ports_of(admin, server["id"])] == [dest])
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_the_sweep_converges_what_a_dead_conductor_left(
        servers: CloudClient, nova_admin: CloudClient, nova_db: sessionmaker[Session],
        member: Net, admin: Net, flavor: str, image: str) -> None:
    net = member.network(name="swept")
    member.subnet(net["id"], "10.47.0.0/24")
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    host = _host(nova_admin, server["id"])
    (port,) = _ports_of(admin, server["id"])
    # A conductor died after its commit, before Neutron heard: the binding is stale.
    stale = admin.put(f"/ports/{port['id']}", {"port": {"binding:host_id": "gone-host"}})
    assert stale.status_code == 200, stale.text
    with transaction(nova_db) as session:
        session.execute(sa.update(Instance).where(Instance.uuid == uuid.UUID(server["id"]))
                        .values(ports_host="gone-host"))
    _until(lambda: _ports_of(admin, server["id"])[0]["binding:host_id"] == host)
    # A server marked deleted with its ports still held: the sweep releases them.
    with transaction(nova_db) as session:
        session.execute(sa.update(Instance).where(Instance.uuid == uuid.UUID(server["id"]))
                        .values(deleted=True, vm_state="deleted", task_state=None))
    _until(lambda: not _ports_of(admin, server["id"]))

    def released() -> bool:
        # Written after Neutron answered the last delete: nothing is owed any more.
        with transaction(nova_db) as session:
            return session.scalar(sa.select(Instance.ports_host).where(
                Instance.uuid == uuid.UUID(server["id"]))) is None

    _until(released)


def test_interfaces_attach_and_detach_through_neutron(
        servers: CloudClient, nova_admin: CloudClient, member: Net, admin: Net,
        flavor: str, image: str) -> None:
    net = member.network(name="first")
    member.subnet(net["id"], "10.48.0.0/24")
    second = member.network(name="second")
    member.subnet(second["id"], "10.49.0.0/24")
    handed = member.port(second["id"], fixed_ips=[{"ip_address": "10.49.0.9"}])
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    host = _host(nova_admin, server["id"])
    path = f"/servers/{server['id']}/os-interface"

    made = servers.compute("POST", path, json={"interfaceAttachment": {
        "net_id": second["id"], "fixed_ips": [{"ip_address": "10.49.0.30"}]}})
    assert made.status_code == 200, made.text
    made_id = made.json()["interfaceAttachment"]["port_id"]
    servers.wait_status(server["id"], {"ACTIVE"})
    _until(lambda: servers.server(server["id"])["OS-EXT-STS:task_state"] is None)
    taken = servers.compute("POST", path, json={"interfaceAttachment": {
        "port_id": handed["id"]}})
    assert taken.status_code == 200, taken.text
    _until(lambda: servers.server(server["id"])["OS-EXT-STS:task_state"] is None)

    listed = servers.compute("GET", path).json()["interfaceAttachments"]
    assert {i["port_id"] for i in listed} >= {made_id, handed["id"]} and len(listed) == 3
    shown = servers.compute("GET", f"{path}/{made_id}").json()["interfaceAttachment"]
    assert shown["fixed_ips"][0]["ip_address"] == "10.49.0.30"
    bound = {p["id"]: p["binding:host_id"] for p in _ports_of(admin, server["id"])}
    assert bound[made_id] == host and bound[handed["id"]] == host
    _until(lambda: sorted(a["addr"] for a in servers.server(server["id"])["addresses"].get(
        "second", [])) == ["10.49.0.30", "10.49.0.9"])
    # A port in use is refused.
    busy = servers.compute("POST", path, json={"interfaceAttachment": {
        "port_id": made_id}})
    assert busy.status_code == 409, busy.text

    for port_id in (made_id, handed["id"]):
        resp = servers.compute("DELETE", f"{path}/{port_id}")
        assert resp.status_code == 202, resp.text
        _until(lambda: servers.server(server["id"])["OS-EXT-STS:task_state"] is None)
    # Released before each detach ended.
    assert len(_ports_of(admin, server["id"])) == 1
    assert member.get(f"/ports/{made_id}").status_code == 404
    kept = admin.get(f"/ports/{handed['id']}").json()["port"]
    assert (kept["device_id"], kept["binding:host_id"]) == ("", "")
    assert list(servers.server(server["id"])["addresses"]) == ["first"]
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_a_detach_whose_release_neutron_refuses_fails_and_keeps_the_port(
        servers: CloudClient, nova_db: sessionmaker[Session], member: Net, admin: Net,
        flavor: str, image: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    net = member.network(name="sticky")
    member.subnet(net["id"], "10.47.0.0/24")
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    (port,) = _ports_of(admin, server["id"])
    path = f"/servers/{server['id']}/os-interface/{port['id']}"
    answer = NeutronClient.call

    def refusing(self: NeutronClient, method: str, where: str, *args: Any, **kw: Any
                 ) -> dict[str, Any]:
        if method == "DELETE" and where == f"/ports/{port['id']}":
            raise ServiceUnavailable("Neutron is down for maintenance")
        return answer(self, method, where, *args, **kw)

    monkeypatch.setattr(NeutronClient, "call", refusing)  # the in-process conductor's
    assert servers.compute("DELETE", path).status_code == 202
    _until(lambda: servers.server(server["id"])["OS-EXT-STS:task_state"] is None)
    # The detach failed: the port is still the server's, in Neutron and in its record.
    assert [p["id"] for p in _ports_of(admin, server["id"])] == [port["id"]]
    assert list(servers.server(server["id"])["addresses"]) == ["sticky"]
    assert servers.server(server["id"])["status"] == "ACTIVE"  # the guest runs on
    with transaction(nova_db) as session:
        fault = session.scalar(
            sa.select(InstanceFault.message)
            .join(Instance, Instance.id == InstanceFault.instance_id)
            .where(Instance.uuid == uuid.UUID(server["id"]))
            .order_by(InstanceFault.id.desc()).limit(1))
    assert fault == f"Failed to release port {port['id']}: Neutron is down for maintenance"

    monkeypatch.setattr(NeutronClient, "call", answer)
    assert servers.compute("DELETE", path).status_code == 202
    _until(lambda: _ports_of(admin, server["id"]) == [])
    # Made at its build: deleted, as Nova deletes the ports it made.
    assert member.get(f"/ports/{port['id']}").status_code == 404
    _until(lambda: servers.server(server["id"])["addresses"] == {})
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_an_attach_whose_binding_neutron_refuses_fails_with_the_port_gone(
        servers: CloudClient, nova_admin: CloudClient, member: Net, admin: Net,
        flavor: str, image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    net = member.network(name="unbound-attach")
    member.subnet(net["id"], "10.46.0.0/24")
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    host = _host(nova_admin, server["id"])
    answer = NeutronClient.call

    def refusing(self: NeutronClient, method: str, where: str,
                 body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        if method == "PUT" and body == {"port": {"binding:host_id": host}}:
            raise Conflict("Binding refused for maintenance")
        return answer(self, method, where, body, **kw)

    monkeypatch.setattr(NeutronClient, "call", refusing)  # the in-process conductor's
    made = servers.compute("POST", f"/servers/{server['id']}/os-interface", json={
        "interfaceAttachment": {"net_id": net["id"]}})
    assert made.status_code == 200, made.text
    port_id = made.json()["interfaceAttachment"]["port_id"]
    _until(lambda: servers.server(server["id"])["OS-EXT-STS:task_state"] is None)
    # Released before the task ended: no wait here.
    assert member.get(f"/ports/{port_id}").status_code == 404
    assert len(_ports_of(admin, server["id"])) == 1
    monkeypatch.setattr(NeutronClient, "call", answer)
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_security_groups_and_floating_ips_through_neutron(
        servers: CloudClient, member: Net, admin: Net, other: Net, flavor: str,
        image: str) -> None:
    external = admin.network(name="ext", **{"router:external": True})
    admin.subnet(external["id"], "198.51.100.0/24")
    net = member.network(name="edge")
    sub = member.subnet(net["id"], "10.50.0.0/24")
    router = member.made("routers", "router",
                         external_gateway_info={"network_id": external["id"]})
    resp = member.put(f"/routers/{router['id']}/add_router_interface",
                      {"subnet_id": sub["id"]})
    assert resp.status_code == 200, resp.text
    member.made("security-groups", "security_group", name="ssh")
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    action = f"/servers/{server['id']}/action"

    resp = servers.compute("POST", action, json={"addSecurityGroup": {"name": "ssh"}})
    assert resp.status_code == 202, resp.text
    names = {g["name"] for g in servers.compute(
        "GET", f"/servers/{server['id']}/os-security-groups").json()["security_groups"]}
    assert names == {"default", "ssh"}
    assert {g["name"] for g in servers.server(server["id"])["security_groups"]} == names
    again = servers.compute("POST", action, json={"addSecurityGroup": {"name": "ssh"}})
    assert again.status_code == 400, again.text
    other.made("security-groups", "security_group", name="elsewhere")
    resp = servers.compute("POST", action, json={"addSecurityGroup": {"name": "elsewhere"}})
    assert resp.status_code == 404, resp.text
    resp = servers.compute("POST", action, json={"removeSecurityGroup": {"name": "ssh"}})
    assert resp.status_code == 202, resp.text
    (port,) = _ports_of(admin, server["id"])
    assert len(port["security_groups"]) == 1

    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"])
    address = fip["floating_ip_address"]
    resp = servers.compute("POST", action, json={"addFloatingIp": {"address": address}})
    assert resp.status_code == 202, resp.text
    shown = servers.server(server["id"])["addresses"]["edge"]
    assert [a["OS-EXT-IPS:type"] for a in shown] == ["fixed", "floating"]
    assert shown[1]["addr"] == address
    theirs = other.made("floatingips", "floatingip", floating_network_id=external["id"])
    resp = servers.compute("POST", action, json={"addFloatingIp": {
        "address": theirs["floating_ip_address"]}})
    assert resp.status_code == 404, resp.text
    resp = servers.compute("POST", action, json={"removeFloatingIp": {"address": address}})
    assert resp.status_code == 202, resp.text
    assert [a["OS-EXT-IPS:type"] for a in servers.server(server["id"])["addresses"]["edge"]
            ] == ["fixed"]
    assert member.get(f"/floatingips/{fip['id']}").json()["floatingip"]["port_id"] is None
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_shelved_offloaded_ports_stay_unbound_and_unshelve_binds_them_again(
        servers: CloudClient, nova_admin: CloudClient, member: Net, admin: Net,
        flavor: str, image: str) -> None:
    net = member.network(name="shelved")
    member.subnet(net["id"], "10.51.0.0/24")
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    (port,) = _ports_of(admin, server["id"])
    address = port["fixed_ips"][0]["ip_address"]
    resp = servers.compute("POST", f"/servers/{server['id']}/action", json={"shelve": None})
    assert resp.status_code == 202, resp.text
    shelved = servers.wait_status(server["id"], {"SHELVED_OFFLOADED"})
    _until(lambda: _ports_of(admin, server["id"])[0]["binding:host_id"] == "")
    # The port and its address stay the server's while it has no host.
    assert [p["id"] for p in _ports_of(admin, server["id"])] == [port["id"]]
    assert [a["addr"] for a in shelved["addresses"]["shelved"]] == [address]
    resp = servers.compute("POST", f"/servers/{server['id']}/action", json={"unshelve": None})
    assert resp.status_code == 202, resp.text
    back = servers.wait_status(server["id"], {"ACTIVE"})
    host = _host(nova_admin, server["id"])
    _until(lambda: _ports_of(admin, server["id"])[0]["binding:host_id"] == host)
    assert [a["addr"] for a in back["addresses"]["shelved"]] == [address]
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_auto_takes_the_projects_only_network_or_is_refused_without_one(
        servers: CloudClient, member: Net, admin: Net, flavor: str, image: str) -> None:
    resp = _boot(servers, flavor, image, "auto")
    assert resp.status_code == 400, resp.text
    assert "Unable to automatically allocate a network" in resp.text
    net = member.network(name="only")
    member.subnet(net["id"], "10.52.0.0/24")
    server = _active(servers, flavor, image, "auto")
    assert [p["network_id"] for p in _ports_of(admin, server["id"])] == [net["id"]]
    assert list(server["addresses"]) == ["only"]
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_a_network_changed_event_rewrites_the_addresses_from_neutron(
        servers: CloudClient, nova_admin: CloudClient, member: Net, admin: Net,
        flavor: str, image: str) -> None:
    external = admin.network(name="ext-ev", **{"router:external": True})
    admin.subnet(external["id"], "192.0.2.0/24")
    net = member.network(name="evented")
    sub = member.subnet(net["id"], "10.53.0.0/24")
    router = member.made("routers", "router",
                         external_gateway_info={"network_id": external["id"]})
    member.put(f"/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    (port,) = _ports_of(admin, server["id"])
    fip = member.made("floatingips", "floatingip", floating_network_id=external["id"],
                      port_id=port["id"])
    # Neutron changed the port behind the compute API's back: not shown until told.
    assert len(servers.server(server["id"])["addresses"]["evented"]) == 1
    told = nova_admin.compute("POST", "/os-server-external-events", json={"events": [
        {"name": "network-changed", "server_uuid": server["id"], "tag": port["id"]}]})
    assert told.status_code == 200, told.text
    shown = servers.server(server["id"])["addresses"]["evented"]
    assert [(a["OS-EXT-IPS:type"], a["addr"]) for a in shown][1] == (
        "floating", fip["floating_ip_address"])
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


class _NoAgentThere(NeutronClient):
    """Neutron as it answers when no agent of its serves the host a port is bound to."""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
             token: str | None = None, query: Iterable[tuple[str, str]] = ()
             ) -> dict[str, Any]:
        answer = super().call(method, path, body, token=token, query=query)
        if method == "PUT" and path.startswith("/ports/") and "port" in answer:
            answer["port"]["binding:vif_type"] = "binding_failed"
        return answer


def test_a_port_whose_binding_failed_is_refused(
        servers: CloudClient, nova: EmbeddedCloud, nova_db: sessionmaker[Session],
        nova_admin: CloudClient, member: Net, admin: Net, flavor: str, image: str) -> None:
    net = member.network(name="unbindable")
    member.subnet(net["id"], "10.54.0.0/24")
    server = _active(servers, flavor, image, [{"uuid": net["id"]}])
    neutron = _NoAgentThere(nova.settings)
    try:
        with pytest.raises(Conflict, match="Binding failed for port"):
            NeutronPorts(nova_db, neutron).converge(uuid.UUID(server["id"]), host="other")
    finally:
        neutron.close()
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])


def test_a_handed_in_port_given_to_another_device_is_never_taken_back(
        servers: CloudClient, nova_admin: CloudClient, member: Net, admin: Net,
        flavor: str, image: str) -> None:
    net = member.network(name="given")
    member.subnet(net["id"], "10.55.0.0/24")
    handed = member.port(net["id"])
    server = _active(servers, flavor, image, [{"port": handed["id"]}])
    # Its owner moves the port to another device in Neutron, behind the compute API.
    elsewhere = str(uuid.uuid4())
    moved = admin.put(f"/ports/{handed['id']}", {"port": {
        "device_id": elsewhere, "binding:host_id": "their-host"}})
    assert moved.status_code == 200, moved.text
    resp = nova_admin.compute("POST", f"/servers/{server['id']}/action",
                              json={"migrate": None})
    assert resp.status_code == 202, resp.text
    nova_admin.wait_status(server["id"], {"VERIFY_RESIZE"})
    nova_admin.compute("POST", f"/servers/{server['id']}/action",
                       json={"confirmResize": None})
    nova_admin.wait_status(server["id"], {"ACTIVE"})
    port = admin.get(f"/ports/{handed['id']}").json()["port"]
    assert (port["device_id"], port["binding:host_id"]) == (elsewhere, "their-host")
    servers.compute("DELETE", f"/servers/{server['id']}")
    servers.wait_gone(server["id"])
    port = admin.get(f"/ports/{handed['id']}").json()["port"]
    assert port["device_id"] == elsewhere


def test_servers_are_filtered_by_the_addresses_neutron_gave_them(
        servers: CloudClient, member: Net, flavor: str, image: str) -> None:
    net = member.network(name="filtered")
    member.subnet(net["id"], "10.56.0.0/24")
    one = _active(servers, flavor, image, [{"uuid": net["id"], "fixed_ip": "10.56.0.11"}])
    two = _active(servers, flavor, image, [{"uuid": net["id"], "fixed_ip": "10.56.0.22"}])
    for query, wanted in (("10.56.0.11", {one["id"]}), ("10.56.0.2", {two["id"]}),
                          (r"10\.56\.0\.", {one["id"], two["id"]}), ("10.99.", set())):
        found = servers.compute("GET", "/servers", params={"ip": query}).json()["servers"]
        assert {s["id"] for s in found} == wanted, query
    assert servers.compute("GET", "/servers", params={"ip6": "10.56"}).json()[
        "servers"] == []
    for server in (one, two):
        servers.compute("DELETE", f"/servers/{server['id']}")
        servers.wait_gone(server["id"])


def test_a_shared_networks_owner_cannot_use_other_projects_ports_or_choose_addresses(
        servers: CloudClient, nova: EmbeddedCloud, nova_admin: CloudClient, member: Net,
        other: Net, admin: Net, flavor: str, image: str) -> None:
    shared = admin.network(name="lent", shared=True, project_id=member.project)
    try:
        member.subnet(shared["id"], "10.57.0.0/24")
        # Neutron shows a shared network's owner every project's ports on it: seeing one
        # is not the right to boot with it, or to attach it (this Neutron hides it).
        theirs = other.port(shared["id"])
        resp = _boot(servers, flavor, image, [{"port": theirs["id"]}])
        assert resp.status_code == 400, resp.text
        # An admin sees it, and still may not give it to a server of another project.
        resp = _boot(nova_admin, flavor, image, [{"port": theirs["id"]}])
        assert resp.status_code == 400, resp.text
        assert f"Port {theirs['id']} not usable" in resp.text
        # Another project may boot on the shared network, not pick its addresses.
        guest = CloudClient(nova.base_url, token=f"bob:{other.project}", version="2.37")
        try:
            resp = _boot(guest, flavor, image, [{"uuid": shared["id"],
                                                 "fixed_ip": "10.57.0.50"}])
            assert resp.status_code == 403, resp.text
            server = _active(guest, flavor, image, [{"uuid": shared["id"]}])
            path = f"/servers/{server['id']}/os-interface"
            taken = guest.compute("POST", path, json={"interfaceAttachment": {
                "net_id": shared["id"], "fixed_ips": [{"ip_address": "10.57.0.51"}]}})
            assert taken.status_code == 403, taken.text
            mine = member.port(shared["id"])
            taken = guest.compute("POST", path, json={"interfaceAttachment": {
                "port_id": mine["id"]}})
            assert taken.status_code in (400, 404), taken.text
            assert admin.get(f"/ports/{mine['id']}").json()["port"]["device_id"] == ""
            guest.compute("DELETE", f"/servers/{server['id']}")
            guest.wait_gone(server["id"])
        finally:
            guest.close()
        assert admin.get(f"/ports/{theirs['id']}").json()["port"]["device_id"] == ""
        for port in admin.get("/ports", params={"network_id": shared["id"]}).json()["ports"]:
            admin.delete(f"/ports/{port['id']}")
    finally:
        assert admin.delete(f"/networks/{shared['id']}").status_code == 204
