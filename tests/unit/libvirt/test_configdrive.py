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
