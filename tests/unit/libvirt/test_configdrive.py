"""The config drive ISO, read back with pycdlib."""

from __future__ import annotations

import base64
import io
import json
import uuid
from pathlib import Path

import pycdlib

from common import metadata
from common.messages import (
    FlavorPayload,
    InstancePayload,
    MetadataFacts,
    MetadataFixedIp,
    MetadataPort,
    MetadataSubnet,
)
from compute_agent.virt.libvirt import configdrive


def read(iso_path: Path, name: str) -> bytes:
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, rr_path=f"/openstack/latest/{name}")
        return out.getvalue()
    finally:
        iso.close()


def test_config_drive_carries_metadata_user_data_and_network_data(tmp_path: Path) -> None:
    inst = InstancePayload(
        uuid=uuid.uuid4(), display_name="vm1", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", vcpus=1, memory_mb=64),
        image_ref="i", vm_state="building", task_state="spawning", power_state=0,
        host="h", node="h", metadata={"k": "v"},
        user_data=base64.b64encode(b"#!/bin/sh\necho hi\n").decode())
    iso_path = tmp_path / "disk.config"

    configdrive.build(inst, iso_path)

    meta = json.loads(read(iso_path, "meta_data.json"))
    assert meta["uuid"] == str(inst.uuid)
    assert meta["meta"] == {"k": "v"}
    assert read(iso_path, "user_data") == b"#!/bin/sh\necho hi\n"
    assert json.loads(read(iso_path, "network_data.json"))["links"] == []
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    assert iso.pvd.volume_identifier.decode().strip() == "config-2"
    iso.close()


def test_config_drive_carries_hostname_zone_and_the_public_key(tmp_path: Path) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOXt1ZK8Vb0k4d2qZ0y7bqQ3kq9k2fW0 me@host"
    inst = InstancePayload(
        uuid=uuid.uuid4(), display_name="My VM", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", vcpus=1, memory_mb=64),
        image_ref="i", vm_state="building", task_state="spawning", power_state=0,
        host="h", node="h", key_name="mykey", key_data=key, hostname="web-01",
        availability_zone="zone-a", launch_index=2)
    iso_path = tmp_path / "disk.config"

    configdrive.build(inst, iso_path)

    meta = json.loads(read(iso_path, "meta_data.json"))
    assert (meta["hostname"], meta["name"]) == ("web-01", "My VM")
    assert (meta["availability_zone"], meta["launch_index"]) == ("zone-a", 2)
    assert meta["public_keys"] == {"mykey": key}
    assert meta["keys"] == [{"name": "mykey", "type": "ssh", "data": key}]


def test_config_drive_network_data_describes_the_ports_the_build_sent(
        tmp_path: Path) -> None:
    subnet = MetadataSubnet(id=uuid.uuid4(), ip_version=4, cidr="10.2.0.0/24",
                            gateway_ip="10.2.0.1", dns_nameservers=["10.2.0.2"])
    fixed = MetadataFixedIp(ip_address="10.2.0.9", subnet=subnet)
    port = MetadataPort(id=uuid.uuid4(), network_id=uuid.uuid4(),
                        mac_address="fa:16:3e:aa:bb:cc", mtu=1450, fixed_ips=[fixed])
    inst = InstancePayload(
        uuid=uuid.uuid4(), display_name="vm1", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", vcpus=1, memory_mb=64),
        image_ref="i", vm_state="building", task_state="spawning", power_state=0,
        host="h", node="h", metadata_facts=MetadataFacts(instance_id=7, ports=[port]))
    iso_path = tmp_path / "disk.config"

    configdrive.build(inst, iso_path)

    data = json.loads(read(iso_path, "network_data.json"))
    assert data == metadata.network_data(inst)
    [link] = data["links"]
    assert (link["ethernet_mac_address"], link["type"], link["mtu"]) == (
        "fa:16:3e:aa:bb:cc", "ovs", 1450)
    [net] = data["networks"]
    assert (net["type"], net["ip_address"], net["netmask"]) == ("ipv4", "10.2.0.9",
                                                                "255.255.255.0")
    assert net["routes"][0]["gateway"] == "10.2.0.1"
    assert data["services"] == [{"type": "dns", "address": "10.2.0.2"}]
    assert json.loads(read(iso_path, "vendor_data.json")) == {}
    seed = configdrive.write_tree(inst, tmp_path / "rootfs")
    assert json.loads((seed / "openstack/latest/network_data.json").read_text()) == data
