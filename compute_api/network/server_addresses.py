"""A server's ``addresses`` as the compute API shows them, kept from its ports.

The compute API reads ``instances.addresses``; every change to a server's ports or their
floating IPs rewrites it in the same transaction, so a server list needs no join.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from common.compute_db.network_models import Port
from common.compute_db.network_queries import addresses_of, refresh_server_addresses

__all__ = ["addresses_of", "refresh", "server_devices"]

# Ports of this owner prefix belong to servers (``device_id`` is the server's uuid).
COMPUTE_OWNER = "compute:"


def refresh(session: Session, devices: Iterable[str]) -> None:
    """Rewrite the ``addresses`` of the servers among ``devices`` (port device ids)."""
    for device in set(devices):
        try:
            instance_uuid = uuid.UUID(device)
        except ValueError:
            continue
        refresh_server_addresses(session, instance_uuid)


def server_devices(ports: Iterable[Port | None]) -> list[str]:
    """The device ids of those ports that belong to servers."""
    return [p.device_id for p in ports
            if p is not None and p.device_owner.startswith(COMPUTE_OWNER) and p.device_id]
