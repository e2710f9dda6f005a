"""What the operation mixins of LibvirtDriver rely on."""

from __future__ import annotations

import uuid
from pathlib import Path

import libvirt

from common.settings import LibvirtSettings
from compute_agent.images import ImageTransfer
from compute_agent.virt.libvirt.connection import Connection


class DriverBase:
    _cfg: LibvirtSettings
    conn: Connection
    hostname: str
    transfer: ImageTransfer | None

    def _domain(self, instance_uuid: uuid.UUID) -> libvirt.virDomain:
        raise NotImplementedError

    def instance_dir(self, instance_uuid: uuid.UUID) -> Path:
        raise NotImplementedError

    def power_off(self, instance_uuid: uuid.UUID, timeout: float | None = None) -> int:
        raise NotImplementedError
