"""What a port looks like to a client (binding attributes only for those allowed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common import policy
from common.compute_db.network_models import IpAllocation, Port, PortSecurityGroup
from common.context import RequestContext
from compute_api.network.common import standard


def views(session: Session, ctx: RequestContext, ports: Sequence[Port]
          ) -> list[dict[str, Any]]:
    ids = [p.id for p in ports]
    ips: dict[Any, list[dict[str, str]]] = {}
    groups: dict[Any, list[str]] = {}
    if ids:
        for alloc in session.scalars(sa.select(IpAllocation).where(
                IpAllocation.port_id.in_(ids)).order_by(IpAllocation.id)):
            ips.setdefault(alloc.port_id, []).append(
                {"subnet_id": str(alloc.subnet_id), "ip_address": alloc.ip_address})
        for link in session.scalars(sa.select(PortSecurityGroup).where(
                PortSecurityGroup.port_id.in_(ids))):
            groups.setdefault(link.port_id, []).append(str(link.security_group_id))
    binding = policy.allowed(ctx, "get_port:binding:vif_type")
    return [_view(p, ips.get(p.id, []), sorted(groups.get(p.id, [])), binding)
            for p in ports]


def _view(port: Port, fixed_ips: list[dict[str, str]], groups: list[str], binding: bool
          ) -> dict[str, Any]:
    out = {**standard(port), "name": port.name, "description": port.description,
           "network_id": str(port.network_id), "mac_address": port.mac_address,
           "admin_state_up": port.admin_state_up, "status": port.status,
           "device_id": port.device_id, "device_owner": port.device_owner,
           "fixed_ips": fixed_ips, "security_groups": groups,
           "allowed_address_pairs": list(port.allowed_address_pairs or []),
           "port_security_enabled": port.port_security_enabled}
    if binding:
        out.update({"binding:host_id": port.binding_host_id,
                    "binding:vif_type": port.binding_vif_type,
                    "binding:vnic_type": port.binding_vnic_type,
                    "binding:profile": dict(port.binding_profile or {}),
                    "binding:vif_details": dict(port.binding_vif_details or {})})
    return out
