"""Statements on the network tables that outlive a request of the network API."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.network_models import IpAllocation, Port, PortSecurityGroup
from common.db import utcnow


def release_server_ports(session: Session, instance_uuid: uuid.UUID) -> None:
    """Delete the ports made for a server and free their addresses; detach and unbind
    the ports its user handed in (they stay, as upstream keeps them)."""
    device = str(instance_uuid)
    made = sa.select(Port.id).where(Port.device_id == device,
                                    Port.delete_with_device.is_(True))
    session.execute(sa.delete(IpAllocation).where(IpAllocation.port_id.in_(made)))
    session.execute(sa.delete(PortSecurityGroup).where(PortSecurityGroup.port_id.in_(made)))
    session.execute(sa.delete(Port).where(Port.device_id == device,
                                          Port.delete_with_device.is_(True))
                    .execution_options(synchronize_session=False))
    session.execute(
        sa.update(Port).where(Port.device_id == device)
        .values(device_id="", device_owner="", status="DOWN", binding_host_id="",
                binding_vif_type="unbound", binding_vif_details={},
                revision_number=Port.revision_number + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False))


def bind_server_ports(session: Session, instance_uuid: uuid.UUID, host: str,
                      status: str) -> None:
    """Bind the server's ports to ``host``: BUILD while it is being placed there,
    ACTIVE once its guest runs (the host has wired the port)."""
    session.execute(
        sa.update(Port).where(Port.device_id == str(instance_uuid))
        .values(binding_host_id=host, binding_vif_type="ovs",
                binding_vif_details={"port_filter": True, "connectivity": "l2"},
                status=status, revision_number=Port.revision_number + 1,
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
