"""The config drive ISO, read back with pycdlib."""

from __future__ import annotations

import base64
import io
import json
import uuid
from pathlib import Path

import pycdlib

from common.messages import FlavorPayload, InstancePayload
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
