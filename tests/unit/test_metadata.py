"""A guest's metadata documents, rendered from its record and metadata facts."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from common import metadata
from common.errors import NotFound
from common.messages import (
    FlavorPayload,
    InstancePayload,
    MetadataFacts,
    MetadataFixedIp,
    MetadataPort,
    MetadataSubnet,
)
from compute_agent.network.metadata import MetadataService

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOXt1ZK8Vb0k4d2qZ0y7bqQ3kq9k2fW0 me@host"
PORT = uuid.UUID("8e6a1c7d-2f4b-4c1e-9a55-0f3b2d7c9e11")
NET = uuid.UUID("1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d")
V4 = MetadataSubnet(id=uuid.uuid4(), ip_version=4, cidr="10.1.0.0/24", gateway_ip="10.1.0.1",
                    dns_nameservers=["10.1.0.53", "9.9.9.9"],
                    host_routes=[{"destination": "172.16.0.0/16", "nexthop": "10.1.0.254"}])
V6 = MetadataSubnet(id=uuid.uuid4(), ip_version=6, cidr="fd00:1::/64",
                    gateway_ip="fd00:1::1", dns_nameservers=["9.9.9.9"],
                    ipv6_address_mode="slaac")


def instance(**changes: Any) -> InstancePayload:
    facts = MetadataFacts(
        instance_id=42, reservation_id="r-abc123", security_groups=["default", "web"],
        ports=[MetadataPort(
            id=PORT, network_id=NET, mac_address="fa:16:3e:00:00:01", mtu=1450,
            vif_type="ovs", floating_ips=["203.0.113.7"],
            fixed_ips=[MetadataFixedIp(ip_address="10.1.0.5", subnet=V4),
                       MetadataFixedIp(ip_address="fd00:1::f816:3eff:fe00:1", subnet=V6)])])
    fields: dict[str, Any] = {
        "uuid": uuid.uuid4(), "display_name": "web 1", "project_id": "p", "user_id": "u",
        "flavor": FlavorPayload(flavorid="f", name="m1.tiny", vcpus=1, memory_mb=64),
        "image_ref": "c0ffee00-1111-2222-3333-444455556666", "vm_state": "active",
        "task_state": None, "power_state": 1, "host": "h", "node": "h",
        "hostname": "web-1", "availability_zone": "zone-a", "launch_index": 3,
        "metadata": {"role": "web"}, "key_name": "mykey", "key_data": KEY,
        "user_data": base64.b64encode(b"#cloud-config\n").decode(),
        "metadata_facts": facts}
    return InstancePayload(**{**fields, **changes})


def text(inst: InstancePayload, path: str) -> str:
    return metadata.lookup(inst, path, "10.1.0.5").body.decode()


def test_meta_data_json_names_the_instance_its_key_and_a_random_seed() -> None:
    inst = instance()
    doc = metadata.lookup(inst, "/openstack/latest/meta_data.json")
    assert doc.content_type == "application/json"
    meta = json.loads(doc.body)
    assert (meta["uuid"], meta["name"], meta["hostname"]) == (str(inst.uuid), "web 1",
                                                               "web-1")
    assert (meta["launch_index"], meta["availability_zone"]) == (3, "zone-a")
    assert (meta["project_id"], meta["meta"], meta["devices"]) == ("p", {"role": "web"}, [])
    assert meta["public_keys"] == {"mykey": KEY}
    assert meta["keys"] == [{"name": "mykey", "type": "ssh", "data": KEY}]
    assert len(base64.b64decode(meta["random_seed"])) == 512


def test_older_openstack_versions_lack_the_keys_added_later() -> None:
    meta = json.loads(metadata.lookup(instance(), "openstack/2012-08-10/meta_data.json").body)
    assert "random_seed" not in meta and "project_id" not in meta and "devices" not in meta
    with pytest.raises(NotFound):
        metadata.lookup(instance(), "openstack/2013-04-04/network_data.json")


def test_the_openstack_tree_lists_its_versions_and_documents() -> None:
    versions = text(instance(), "/openstack/").split("\n")
    assert versions[:2] == ["2012-08-10", "2013-04-04"]
    assert "2018-08-27" in versions and versions[-1] == "latest"
    assert text(instance(), "/openstack/latest").split("\n") == [
        "meta_data.json", "user_data", "vendor_data.json", "network_data.json",
        "vendor_data2.json"]
    assert "user_data" not in text(instance(user_data=None), "/openstack/latest/")


def test_user_data_is_decoded_and_missing_user_data_is_not_found() -> None:
    assert metadata.lookup(instance(), "openstack/latest/user_data").body == b"#cloud-config\n"
    with pytest.raises(NotFound):
        metadata.lookup(instance(user_data=None), "openstack/latest/user_data")


def test_vendor_data_is_empty_json() -> None:
    for name in ("vendor_data.json", "vendor_data2.json"):
        doc = metadata.lookup(instance(), f"openstack/latest/{name}")
        assert (json.loads(doc.body), doc.content_type) == ({}, "application/json")


def test_network_data_has_a_link_per_port_and_a_network_per_address() -> None:
    data = json.loads(metadata.lookup(instance(), "openstack/latest/network_data.json").body)
    assert data["links"] == [{"id": "tap8e6a1c7d-2f", "vif_id": str(PORT), "type": "ovs",
                              "mtu": 1450, "ethernet_mac_address": "fa:16:3e:00:00:01"}]
    v4, v6 = data["networks"]
    assert v4 == {
        "id": "network0", "type": "ipv4", "link": "tap8e6a1c7d-2f", "ip_address": "10.1.0.5",
        "netmask": "255.255.255.0", "network_id": str(NET),
        "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.1.0.1"},
                   {"network": "172.16.0.0", "netmask": "255.255.0.0",
                    "gateway": "10.1.0.254"}],
        "services": [{"type": "dns", "address": "10.1.0.53"},
                     {"type": "dns", "address": "9.9.9.9"}]}
    assert (v6["id"], v6["type"], v6["netmask"]) == ("network1", "ipv6_slaac",
                                                     "ffff:ffff:ffff:ffff::")
    assert v6["routes"] == [{"network": "::", "netmask": "::", "gateway": "fd00:1::1"}]
    assert data["services"] == [{"type": "dns", "address": "10.1.0.53"},
                                {"type": "dns", "address": "9.9.9.9"}]


def test_network_data_without_ports_is_empty() -> None:
    inst = instance(metadata_facts=None)
    assert metadata.network_data(inst) == {"links": [], "networks": [], "services": []}


def test_the_ec2_tree_serves_what_cloud_init_reads() -> None:
    inst = instance()
    assert text(inst, "/").split("\n")[-2:] == ["2009-04-04", "latest"]
    assert text(inst, "latest").split("\n") == ["meta-data/", "user-data"]
    listing = text(inst, "/latest/meta-data/").split("\n")
    assert {"instance-id", "hostname", "local-ipv4", "public-keys/", "placement/",
            "security-groups", "ami-id", "instance-type", "reservation-id"} <= set(listing)
    assert text(inst, "latest/meta-data/instance-id") == "i-0000002a"
    assert text(inst, "2009-04-04/meta-data/hostname") == "web-1"
    assert text(inst, "latest/meta-data/local-hostname") == "web-1"
    assert text(inst, "latest/meta-data/local-ipv4") == "10.1.0.5"
    assert text(inst, "latest/meta-data/public-ipv4") == "203.0.113.7"
    assert text(inst, "latest/meta-data/ami-id") == "ami-c0ffee00"
    assert text(inst, "latest/meta-data/instance-type") == "m1.tiny"
    assert text(inst, "latest/meta-data/reservation-id") == "r-abc123"
    assert text(inst, "latest/meta-data/security-groups") == "default\nweb"
    assert text(inst, "latest/meta-data/placement/availability-zone") == "zone-a"
    assert text(inst, "latest/meta-data/public-keys/") == "0=mykey"
    assert text(inst, "latest/meta-data/public-keys/0") == "openssh-key"
    assert text(inst, "latest/meta-data/public-keys/0/openssh-key") == KEY
    assert text(inst, "ec2/latest/user-data") == "#cloud-config\n"


def test_ec2_without_floating_ip_or_key() -> None:
    inst = instance(key_name=None, key_data=None, metadata_facts=MetadataFacts(instance_id=1))
    assert text(inst, "latest/meta-data/public-ipv4") == ""
    assert text(inst, "latest/meta-data/local-ipv4") == "10.1.0.5"  # the request's source
    assert "public-keys/" not in text(inst, "latest/meta-data").split("\n")
    with pytest.raises(NotFound):
        metadata.lookup(inst, "latest/meta-data/public-keys/0/openssh-key")


def test_old_ec2_versions_lack_later_keys() -> None:
    listing = text(instance(), "1.0/meta-data").split("\n")
    assert "instance-id" in listing and "placement/" not in listing


@pytest.mark.parametrize("path", [
    "/nope", "/latest/meta-data/nope", "/latest/meta-data/public-keys/0/_name",
    "/openstack/1999-01-01/meta_data.json", "/openstack/latest/password",
    "/openstack/latest/meta_data.json/x", "/latest/meta-data/hostname/x"])
def test_unknown_paths_are_not_found(path: str) -> None:
    with pytest.raises(NotFound):
        metadata.lookup(instance(), path)


def test_config_drive_files_match_the_service() -> None:
    inst = instance()
    files = metadata.openstack_files(inst)
    assert set(files) == {"meta_data.json", "user_data", "vendor_data.json",
                          "network_data.json", "vendor_data2.json"}
    assert json.loads(files["network_data.json"]) == metadata.network_data(inst)


def test_the_service_answers_by_source_address_and_never_for_strangers() -> None:
    mine, asked = instance(), []

    def lookup(network_id: uuid.UUID, address: str) -> InstancePayload:
        asked.append((network_id, address))
        if address != "10.1.0.5":
            raise NotFound("nobody")
        return mine

    service = MetadataService(NET, lookup)
    found = service.answer("10.1.0.5", "/openstack/latest/meta_data.json?x=1")
    assert (found.status, found.content_type) == (200, "application/json")
    assert json.loads(found.body)["uuid"] == str(mine.uuid)
    assert service.answer("::ffff:10.1.0.5", "/latest/meta-data/instance-id").body == \
        b"i-0000002a"
    assert asked == [(NET, "10.1.0.5")]  # one conductor call, then the cache
    assert service.answer("10.1.0.9", "/openstack/latest/meta_data.json").status == 404
    assert service.answer("10.1.0.5", "/openstack/latest/nothing").status == 404
