"""The metadata service: each guest reads its own documents, by the address it asks from.

The servers' subnet is in 127.0.0.0/8, so a test client can send from a guest's very
address (``local_address``) to the service bound on 127.0.0.1: the service sees the real
source address on its socket, as it would in a network's namespace.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from common.context import admin_context
from common.errors import Forbidden, NotFound
from compute_agent.network.metadata import MetadataServer, conductor_lookup
from conductor.rpc.client import ConductorClient
from tests.cloud import CloudClient
from tests.functional.network.conftest import Net
from tests.functional.network.test_servers_on_networks import _boot, _ports_of


class Guest:
    """A booted server: its id, host, port and fixed address."""

    def __init__(self, server: dict[str, Any], host: str, port: dict[str, Any]) -> None:
        self.id = str(server["id"])
        self.host = host
        self.port = port
        self.address = str(port["fixed_ips"][0]["ip_address"])


def _host_of(cloud: EmbeddedCloud, server_id: str) -> str:
    admin = CloudClient(cloud.base_url)
    try:
        return str(admin.server(server_id)["OS-EXT-SRV-ATTR:host"])
    finally:
        admin.close()


def _guest(cloud: EmbeddedCloud, compute: CloudClient, member: Net, booted: dict[str, Any]
           ) -> Guest:
    assert booted["status"] == 202, booted
    server = compute.wait_status(booted["body"]["server"]["id"], {"ACTIVE"})
    [port] = _ports_of(member, server["id"])
    return Guest(server, _host_of(cloud, server["id"]), port)


@pytest.fixture
def two_guests(net_cloud: EmbeddedCloud, compute: CloudClient, member: Net,
               boot_refs: tuple[str, str]) -> tuple[str, Guest, Guest]:
    """A network in 127.0.0.0/8 and two servers on it, on one host."""
    net = member.network(name="md")
    member.subnet(net["id"], f"127.{uuid.uuid4().int % 200 + 20}.0.0/24",
                  dns_nameservers=["127.0.0.53"])
    first = _guest(net_cloud, compute, member, _boot(
        compute, boot_refs, [{"uuid": net["id"]}], metadata={"role": "first"},
        user_data=base64.b64encode(b"#!/bin/sh\necho first\n").decode()))
    resp = compute.compute("POST", "/servers", json={
        "server": {"name": "second", "flavorRef": boot_refs[0], "imageRef": boot_refs[1],
                   "networks": [{"uuid": net["id"]}],
                   "user_data": base64.b64encode(b"#!/bin/sh\necho second\n").decode()},
        "os:scheduler_hints": {"same_host": [first.id]}})
    second = _guest(net_cloud, compute, member, {"status": resp.status_code,
                                                  "body": resp.json()})
    assert second.host == first.host
    return str(net["id"]), first, second


@pytest.fixture
def service(conductor: ConductorClient, two_guests: tuple[str, Guest, Guest]
            ) -> Iterator[str]:
    """The metadata service of the guests' network on their host; its base URL."""
    net_id, first, _ = two_guests
    server = MetadataServer(uuid.UUID(net_id), conductor_lookup(conductor, first.host),
                            listen="127.0.0.1", port=0, cache_seconds=0).start()
    try:
        host, port = server.address
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def wget(base: str, source: str, path: str) -> httpx.Response:
    """``wget -qO- http://169.254.169.254/<path>`` as the guest at ``source`` runs it."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=30) as http:
        return http.get(f"{base}{path}")


def test_each_guest_reads_its_own_metadata(
    service: str, two_guests: tuple[str, Guest, Guest]
) -> None:
    net_id, first, second = two_guests
    for guest, script in ((first, b"echo first"), (second, b"echo second")):
        meta = wget(service, guest.address, "/openstack/latest/meta_data.json")
        assert meta.status_code == 200, meta.text
        assert meta.headers["content-type"] == "application/json"
        assert meta.json()["uuid"] == guest.id
        assert script in wget(service, guest.address, "/openstack/latest/user_data").content
        data = wget(service, guest.address, "/openstack/latest/network_data.json").json()
        [link] = data["links"]
        assert (link["vif_id"], link["ethernet_mac_address"]) == (
            guest.port["id"], guest.port["mac_address"])
        assert link["id"] == f"tap{guest.port['id'][:11]}"
        [net] = data["networks"]
        assert (net["type"], net["ip_address"], net["network_id"]) == (
            "ipv4", guest.address, net_id)
        assert net["netmask"] == "255.255.255.0"
        assert net["routes"][0]["network"] == "0.0.0.0"
        assert data["services"] == [{"type": "dns", "address": "127.0.0.53"}]
        assert wget(service, guest.address,
                    "/latest/meta-data/local-ipv4").text == guest.address
        assert wget(service, guest.address,
                    "/2009-04-04/meta-data/instance-id").text.startswith("i-")
    assert meta.json()["meta"] == {}
    assert wget(service, first.address, "/openstack/latest/meta_data.json").json()[
        "meta"] == {"role": "first"}


def test_listings_are_text_and_unknown_paths_not_found(
    service: str, two_guests: tuple[str, Guest, Guest]
) -> None:
    _, first, _ = two_guests
    listing = wget(service, first.address, "/openstack/latest/")
    assert listing.headers["content-type"] == "text/plain"
    assert "network_data.json" in listing.text.split("\n")
    assert "instance-id" in wget(service, first.address, "/latest/meta-data/").text.split()
    assert wget(service, first.address, "/openstack/latest/nothing").status_code == 404


def test_an_address_no_guest_holds_gets_nothing(
    service: str, two_guests: tuple[str, Guest, Guest]
) -> None:
    _, first, _ = two_guests
    stranger = first.address.rpartition(".")[0] + ".250"
    assert wget(service, stranger, "/openstack/latest/meta_data.json").status_code == 404
    assert wget(service, "127.0.0.1", "/latest/meta-data/instance-id").status_code == 404


def test_the_conductor_answers_a_host_only_about_its_own_guests(
    conductor: ConductorClient, two_guests: tuple[str, Guest, Guest]
) -> None:
    net_id, first, _ = two_guests
    found = conductor.metadata_for(admin_context(), first.host, uuid.UUID(net_id),
                                   first.address)
    assert str(found.uuid) == first.id
    assert found.metadata_facts is not None
    assert [str(p.id) for p in found.metadata_facts.ports] == [first.port["id"]]
    with pytest.raises(Forbidden):
        conductor.metadata_for(admin_context(), "not-" + first.host, uuid.UUID(net_id),
                               first.address)
    with pytest.raises(NotFound):
        conductor.metadata_for(admin_context(), first.host, uuid.uuid4(), first.address)
    # A spawn that reads the record (rebuild, evacuate, unshelve) gets the same facts.
    record = conductor.get_instance_for_host(admin_context(), first.host,
                                             uuid.UUID(first.id))
    assert record is not None and record.metadata_facts == found.metadata_facts


def test_a_deleted_guest_has_no_metadata(
    service: str, compute: CloudClient, two_guests: tuple[str, Guest, Guest]
) -> None:
    _, first, second = two_guests
    assert compute.compute("DELETE", f"/servers/{second.id}").status_code == 204
    compute.wait_gone(second.id)
    assert wget(service, second.address,
                "/openstack/latest/meta_data.json").status_code == 404
    assert wget(service, first.address,
                "/openstack/latest/meta_data.json").json()["uuid"] == first.id
