"""os-interface: a server's ports as interface attachments, attached (hot-plugged by its
host) and detached; their binding follows the server when it moves or is offloaded."""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from compute_agent.virt.fake import FAIL_ATTACH_INTERFACE_KEY, FakeDriver
from tests.cloud import CloudClient
from tests.functional.network.conftest import Net
from tests.functional.network.test_servers_on_networks import _boot

Boot = Callable[..., str]


@pytest.fixture
def ops(net_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    client = CloudClient(net_cloud.base_url, token="admin:admin", version="2.74")
    yield client
    client.close()


@pytest.fixture
def boot(compute: CloudClient, boot_refs: tuple[str, str]) -> Iterator[Boot]:
    """Boot one of the project's servers and wait until it is ACTIVE."""
    made: list[str] = []

    def run(networks: Any, **extra: Any) -> str:
        booted = _boot(compute, boot_refs, networks, **extra)
        assert booted["status"] == 202, booted
        server_id = str(booted["body"]["server"]["id"])
        made.append(server_id)
        settled(compute, server_id, "ACTIVE")
        return server_id

    yield run
    for server_id in made:
        compute.compute("DELETE", f"/servers/{server_id}")


def settled(client: CloudClient, server_id: str, status: str, timeout: float = 30
            ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        server = client.server(server_id)
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return server
        assert time.monotonic() < deadline, (server["status"],
                                             server["OS-EXT-STS:task_state"])
        time.sleep(0.05)


def interfaces(client: CloudClient, server_id: str, version: str | None = None
               ) -> list[dict[str, Any]]:
    headers = {"OpenStack-API-Version": f"compute {version}"} if version else {}
    resp = client.compute("GET", f"/servers/{server_id}/os-interface", headers=headers)
    assert resp.status_code == 200, resp.text
    found: list[dict[str, Any]] = resp.json()["interfaceAttachments"]
    return found


def attach(client: CloudClient, server_id: str, body: Any, version: str | None = None
           ) -> httpx.Response:
    headers = {"OpenStack-API-Version": f"compute {version}"} if version else {}
    return client.compute("POST", f"/servers/{server_id}/os-interface", json=body,
                          headers=headers)


def detach(client: CloudClient, server_id: str, port_id: str) -> httpx.Response:
    return client.compute("DELETE", f"/servers/{server_id}/os-interface/{port_id}")


def error(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    [(_, body)] = resp.json().items()
    assert body["code"] == status
    return str(body["message"])


def guest_ports(server_id: str) -> list[str]:
    """The ports the simulated guest has interfaces on (any fake host of this process)."""
    found: list[str] = []
    for driver in (o for o in gc.get_objects() if isinstance(o, FakeDriver)):
        found += [str(p.id) for p in driver.interfaces.get(uuid.UUID(server_id), [])]
    return found


def binding(admin: Net, port_id: str) -> tuple[str, str]:
    port = admin.get(f"/ports/{port_id}").json()["port"]
    return port["binding:host_id"], port["status"]


def host_of(ops: CloudClient, server_id: str) -> str:
    return str(ops.server(server_id)["OS-EXT-SRV-ATTR:host"])


def test_attach_by_network_hot_plugs_a_new_port_and_detach_deletes_it(
    compute: CloudClient, member: Net, admin: Net, ops: CloudClient, boot: Boot
) -> None:
    first = member.network(name="first")
    member.subnet(first["id"], "10.61.0.0/24")
    second = member.network(name="second")
    subnet = member.subnet(second["id"], "10.62.0.0/24")
    server_id = boot([{"uuid": first["id"]}])
    [existing] = interfaces(compute, server_id)
    assert existing["net_id"] == first["id"] and existing["port_state"] == "ACTIVE"
    assert "tag" not in existing
    assert [i.get("tag") for i in interfaces(compute, server_id, "2.70")] == [None]

    resp = attach(compute, server_id, {"interfaceAttachment": {
        "net_id": second["id"], "fixed_ips": [{"ip_address": "10.62.0.20"}]}})
    assert resp.status_code == 200, resp.text
    made = resp.json()["interfaceAttachment"]
    assert made["net_id"] == second["id"]
    assert made["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.62.0.20"}]
    assert set(made) == {"net_id", "port_id", "mac_addr", "port_state", "fixed_ips"}
    server = settled(compute, server_id, "ACTIVE")
    assert [a["addr"] for a in server["addresses"]["second"]] == ["10.62.0.20"]
    shown = compute.compute("GET", f"/servers/{server_id}/os-interface/{made['port_id']}")
    assert shown.status_code == 200
    assert shown.json()["interfaceAttachment"]["port_state"] == "ACTIVE"
    assert binding(admin, made["port_id"]) == (host_of(ops, server_id), "ACTIVE")
    assert guest_ports(server_id) == [existing["port_id"], made["port_id"]]
    assert [i["port_id"] for i in interfaces(compute, server_id)] == [
        existing["port_id"], made["port_id"]]
    actions = compute.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    assert actions["instanceActions"][0]["action"] == "attach_interface"

    assert detach(compute, server_id, made["port_id"]).status_code == 202
    server = settled(compute, server_id, "ACTIVE")
    assert "second" not in server["addresses"]
    assert member.get(f"/ports/{made['port_id']}").status_code == 404
    assert guest_ports(server_id) == [existing["port_id"]]
    gone = compute.compute("GET", f"/servers/{server_id}/os-interface/{made['port_id']}")
    assert error(gone, 404).endswith(f"does not have a port with id {made['port_id']}")
    assert error(detach(compute, server_id, made["port_id"]), 404) == (
        f"Port {made['port_id']} is not attached")


def test_a_port_handed_in_is_attached_and_kept_when_detached(
    compute: CloudClient, member: Net, admin: Net, boot: Boot
) -> None:
    net = member.network(name="handed")
    member.subnet(net["id"], "10.63.0.0/24")
    server_id = boot("none")
    assert interfaces(compute, server_id) == []
    mine = member.port(net["id"], name="mine")
    resp = attach(compute, server_id, {"interfaceAttachment": {"port_id": mine["id"]}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["interfaceAttachment"]["port_id"] == mine["id"]
    server = settled(compute, server_id, "ACTIVE")
    assert server["addresses"]["handed"][0]["addr"] == mine["fixed_ips"][0]["ip_address"]
    port = member.get(f"/ports/{mine['id']}").json()["port"]
    assert (port["device_id"], port["device_owner"]) == (server_id, "compute:nova")
    in_use = attach(compute, server_id, {"interfaceAttachment": {"port_id": mine["id"]}})
    assert error(in_use, 409) == f"Port {mine['id']} is still in use."

    assert detach(compute, server_id, mine["id"]).status_code == 202
    server = settled(compute, server_id, "ACTIVE")
    assert server["addresses"] == {}
    kept = member.get(f"/ports/{mine['id']}").json()["port"]
    assert (kept["device_id"], kept["device_owner"], kept["status"]) == ("", "", "DOWN")
    assert kept["fixed_ips"] == mine["fixed_ips"]
    assert binding(admin, mine["id"]) == ("", "DOWN")


def test_refused_attachments_answer_as_upstream(
    compute: CloudClient, member: Net, other: Net, boot: Boot, net_cloud: EmbeddedCloud
) -> None:
    net = member.network(name="refusals")
    member.subnet(net["id"], "10.64.0.0/29")
    server_id = boot([{"uuid": net["id"]}])
    [held] = interfaces(compute, server_id)
    ip = held["fixed_ips"][0]["ip_address"]
    theirs = other.network(name="theirs")
    other.subnet(theirs["id"], "10.65.0.0/24")
    their_port = other.port(theirs["id"])
    missing = str(uuid.uuid4())

    def refused(body: Any, status: int, version: str | None = None) -> str:
        return error(attach(compute, server_id, body, version), status)

    assert refused({"interfaceAttachment": {"net_id": theirs["id"]}}, 404) == (
        f"Network {theirs['id']} could not be found.")
    assert refused({"interfaceAttachment": {"port_id": their_port["id"]}}, 404) == (
        f"Port id {their_port['id']} could not be found.")
    assert refused({"interfaceAttachment": {"port_id": missing}}, 404)
    assert refused({"interfaceAttachment": {"net_id": net["id"], "port_id": missing}},
                   400) == "Must not input both network_id and port_id"
    assert refused({"interfaceAttachment": {"fixed_ips": [{"ip_address": ip}]}}, 400) == (
        "Must input network_id when request IP address")
    assert refused({"interfaceAttachment": {"net_id": net["id"],
                                            "fixed_ips": [{"ip_address": ip}]}}, 409) == (
        f"Fixed IP address {ip} is already in use on instance {server_id}.")
    assert "is not a 'uuid'" in refused({"interfaceAttachment": {"net_id": "x"}}, 400)
    assert "not a 'ipv4'" in refused({"interfaceAttachment": {
        "net_id": net["id"], "fixed_ips": [{"ip_address": "nope"}]}}, 400)
    assert refused({"interfaceAttachment": {"bogus": 1}}, 400)
    assert refused({"interfaceAttachment": {"net_id": net["id"], "tag": "t"}}, 400,
                   "2.48")
    assert "Tagged" in refused({"interfaceAttachment": {"net_id": net["id"], "tag": "t"}},
                               400, "2.49")
    # The /29 holds five addresses: four more ports fill it.
    for _ in range(4):
        member.port(net["id"])
    assert refused({"interfaceAttachment": {"net_id": net["id"]}}, 400) == (
        f"No fixed IP addresses available for network: {net['id']}")
    # A port another server holds.
    other_server = boot("none")
    taken = member.port(member.network(name="taken")["id"])
    assert attach(compute, other_server, {"interfaceAttachment": {
        "port_id": taken["id"]}}).status_code == 200
    assert refused({"interfaceAttachment": {"port_id": taken["id"]}}, 409) == (
        f"Port {taken['id']} is still in use.")
    # Another project's server is not found at all.
    stranger = CloudClient(net_cloud.base_url, token=f"bob:{other.project}", version="2.37")
    try:
        assert error(attach(stranger, server_id, {"interfaceAttachment": {}}), 404)
        assert error(detach(stranger, server_id, held["port_id"]), 404)
        assert stranger.compute("GET", f"/servers/{server_id}/os-interface"
                                ).status_code == 404
    finally:
        stranger.close()
    assert [i["port_id"] for i in interfaces(compute, server_id)] == [held["port_id"]]


def test_with_nothing_named_the_only_network_is_used_and_several_are_refused(
    compute: CloudClient, member: Net, boot: Boot
) -> None:
    server_id = boot("none")
    none_yet = attach(compute, server_id, {"interfaceAttachment": {}})
    assert error(none_yet, 400) == ("No specific network was requested and none are "
                                    f"available for project '{member.project}'.")
    only = member.network(name="only")
    member.subnet(only["id"], "10.66.0.0/24")
    resp = attach(compute, server_id, {"interfaceAttachment": {}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["interfaceAttachment"]["net_id"] == only["id"]
    settled(compute, server_id, "ACTIVE")
    member.network(name="another")
    assert error(attach(compute, server_id, {}), 400).startswith(
        "More than one possible network found.")


def test_attach_and_detach_follow_the_server_state_and_its_lock(
    compute: CloudClient, member: Net, admin: Net, boot: Boot
) -> None:
    net = member.network(name="states")
    member.subnet(net["id"], "10.67.0.0/24")
    server_id = boot("none")
    body = {"interfaceAttachment": {"net_id": net["id"]}}
    stopping = compute.compute("POST", f"/servers/{server_id}/action", json={"os-stop": None})
    assert stopping.status_code == 202
    settled(compute, server_id, "SHUTOFF")
    resp = attach(compute, server_id, body)
    assert resp.status_code == 200, resp.text
    port_id = resp.json()["interfaceAttachment"]["port_id"]
    settled(compute, server_id, "SHUTOFF")
    assert binding(admin, port_id)[1] == "DOWN"  # no guest runs to carry traffic

    assert compute.compute("POST", f"/servers/{server_id}/action",
                           json={"lock": None}).status_code == 202
    assert "locked" in error(attach(compute, server_id, body), 409)
    assert "locked" in error(detach(compute, server_id, port_id), 409)
    assert compute.compute("POST", f"/servers/{server_id}/action",
                           json={"unlock": None}).status_code == 202

    assert compute.compute("POST", f"/servers/{server_id}/action",
                           json={"rescue": None}).status_code == 200
    settled(compute, server_id, "RESCUE")
    assert error(attach(compute, server_id, body), 409) == (
        f"Cannot 'attach_interface' instance {server_id} while it is in vm_state rescued")
    assert error(detach(compute, server_id, port_id), 409) == (
        f"Cannot 'detach_interface' instance {server_id} while it is in vm_state rescued")


def test_a_failed_hot_plug_leaves_no_port_behind(
    compute: CloudClient, member: Net, boot: Boot
) -> None:
    net = member.network(name="fails")
    member.subnet(net["id"], "10.68.0.0/24")
    server_id = boot("none", metadata={FAIL_ATTACH_INTERFACE_KEY: "*"})
    resp = attach(compute, server_id, {"interfaceAttachment": {"net_id": net["id"]}})
    assert resp.status_code == 200, resp.text
    port_id = resp.json()["interfaceAttachment"]["port_id"]
    server = settled(compute, server_id, "ACTIVE")
    deadline = time.monotonic() + 10
    while interfaces(compute, server_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert interfaces(compute, server_id) == []
    assert compute.server(server_id)["addresses"] == {} == server["addresses"]
    assert member.get(f"/ports/{port_id}").status_code == 404
    assert guest_ports(server_id) == []
    [action] = [a for a in compute.compute(
        "GET", f"/servers/{server_id}/os-instance-actions").json()["instanceActions"]
        if a["action"] == "attach_interface"]
    assert action["message"] == "Error"


def test_the_binding_follows_a_cold_migration_and_an_offload(
    compute: CloudClient, member: Net, admin: Net, ops: CloudClient, boot: Boot
) -> None:
    net = member.network(name="moves")
    member.subnet(net["id"], "10.69.0.0/24")
    server_id = boot([{"uuid": net["id"]}])
    [port] = interfaces(compute, server_id)
    source = host_of(ops, server_id)
    assert binding(admin, port["port_id"]) == (source, "ACTIVE")
    assert ops.compute("POST", f"/servers/{server_id}/action",
                       json={"migrate": None}).status_code == 202
    settled(compute, server_id, "VERIFY_RESIZE")
    dest = host_of(ops, server_id)
    assert dest != source
    assert binding(admin, port["port_id"]) == (dest, "ACTIVE")
    assert compute.compute("POST", f"/servers/{server_id}/action",
                           json={"confirmResize": None}).status_code == 204
    settled(compute, server_id, "ACTIVE")
    assert binding(admin, port["port_id"]) == (dest, "ACTIVE")
    assert guest_ports(server_id) == [port["port_id"]]

    assert compute.compute("POST", f"/servers/{server_id}/action",
                           json={"shelve": None}).status_code == 202
    # Offloaded at once ([DEFAULT] shelved_offload_time = 0, as upstream's default).
    settled(compute, server_id, "SHELVED_OFFLOADED")
    assert binding(admin, port["port_id"]) == ("", "DOWN")
    # Attached while offloaded: nothing to plug until it has a host again.
    resp = attach(compute, server_id, {"interfaceAttachment": {"net_id": net["id"]}})
    assert resp.status_code == 200, resp.text
    added = resp.json()["interfaceAttachment"]["port_id"]
    settled(compute, server_id, "SHELVED_OFFLOADED")
    assert binding(admin, added) == ("", "DOWN")
    assert compute.compute("POST", f"/servers/{server_id}/action",
                           json={"unshelve": None}).status_code == 202
    settled(compute, server_id, "ACTIVE")
    host = host_of(ops, server_id)
    assert binding(admin, port["port_id"]) == (host, "ACTIVE")
    assert binding(admin, added) == (host, "ACTIVE")
    # The guest was spawned with both its ports.
    assert guest_ports(server_id) == [port["port_id"], added]
