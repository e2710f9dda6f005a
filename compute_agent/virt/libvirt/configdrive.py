"""The config drive: an ISO 9660 image labelled config-2, built in Python with pycdlib."""

from __future__ import annotations

import base64
import binascii
import io
import json
from pathlib import Path
from typing import Any

import pycdlib

from common.messages import InstancePayload

LABEL = "config-2"


def meta_data(instance: InstancePayload) -> dict[str, Any]:
    return {
        "uuid": str(instance.uuid), "name": instance.display_name,
        "hostname": instance.display_name, "project_id": instance.project_id,
        "availability_zone": None, "launch_index": 0, "meta": dict(instance.metadata),
        "public_keys": {}, "files": [],
    }


def user_data(instance: InstancePayload) -> bytes | None:
    """The API stores user data base64-encoded; a guest wants the decoded bytes."""
    if instance.user_data is None:
        return None
    try:
        return base64.b64decode(instance.user_data, validate=True)
    except (binascii.Error, ValueError):
        return instance.user_data.encode()


def build(instance: InstancePayload, dest: Path,
          network_data: dict[str, Any] | None = None) -> None:
    """Write the config drive ISO of ``instance`` to ``dest``."""
    files: dict[str, bytes] = {
        "meta_data.json": json.dumps(meta_data(instance)).encode(),
        "network_data.json": json.dumps(
            network_data or {"links": [], "networks": [], "services": []}).encode(),
    }
    data = user_data(instance)
    if data is not None:
        files["user_data"] = data
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09", joliet=3, vol_ident=LABEL)
    iso.add_directory("/OPENSTAC", rr_name="openstack", joliet_path="/openstack")
    iso.add_directory("/OPENSTAC/LATEST", rr_name="latest", joliet_path="/openstack/latest")
    for index, (name, content) in enumerate(sorted(files.items())):
        iso_name = f"/OPENSTAC/LATEST/F{index}.;1"
        iso.add_fp(io.BytesIO(content), len(content), iso_name, rr_name=name,
                   joliet_path=f"/openstack/latest/{name}")
    try:
        iso.write(str(dest))
    finally:
        iso.close()
