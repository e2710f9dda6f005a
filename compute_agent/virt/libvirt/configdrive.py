"""The config drive: an ISO 9660 image labelled config-2, built in Python with pycdlib."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pycdlib

from common import metadata
from common.messages import InstancePayload

LABEL = "config-2"
# Where an LXC guest finds the config drive's files: cloud-init's ConfigDrive datasource
# reads this seed directory when there is no config-2 device.
LXC_SEED_DIR = "var/lib/cloud/seed/config_drive"


def files(instance: InstancePayload, network_data: dict[str, Any] | None = None
          ) -> dict[str, bytes]:
    """The files of ``openstack/latest`` on the config drive, by name: the metadata
    service's (``network_data.json`` from the ports the build sent; ``network_data``
    replaces it)."""
    out = metadata.openstack_files(instance)
    if network_data is not None:
        out[metadata.NETWORK_DATA] = json.dumps(network_data).encode()
    return out


def write_tree(instance: InstancePayload, rootfs: Path) -> Path:
    """The config drive's files under ``rootfs``/LXC_SEED_DIR (LXC guests have no
    block devices to attach an ISO to); returns the seed directory."""
    seed = rootfs / LXC_SEED_DIR
    latest = seed / "openstack" / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    for name, content in files(instance).items():
        (latest / name).write_bytes(content)
    return seed


def build(instance: InstancePayload, dest: Path,
          network_data: dict[str, Any] | None = None) -> None:
    """Write the config drive ISO of ``instance`` to ``dest``."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, rock_ridge="1.09", joliet=3, vol_ident=LABEL)
    iso.add_directory("/OPENSTAC", rr_name="openstack", joliet_path="/openstack")
    iso.add_directory("/OPENSTAC/LATEST", rr_name="latest", joliet_path="/openstack/latest")
    for index, (name, content) in enumerate(sorted(files(instance, network_data).items())):
        iso_name = f"/OPENSTAC/LATEST/F{index}.;1"
        iso.add_fp(io.BytesIO(content), len(content), iso_name, rr_name=name,
                   joliet_path=f"/openstack/latest/{name}")
    try:
        iso.write(str(dest))
    finally:
        iso.close()
