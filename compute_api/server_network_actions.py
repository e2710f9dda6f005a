"""What a server's owner does to its networking through the compute API: security groups
(addSecurityGroup, removeSecurityGroup, os-security-groups) and floating IPs
(addFloatingIp, removeFloatingIp, before 2.44)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.network_models import Port, PortSecurityGroup, SecurityGroup
from common.context import RequestContext
from common.errors import BadRequest, ControlPlaneError, NotFound
from compute_api import servers
from compute_api.network import floating_ips, ports, security_groups
from compute_api.network.faults import FloatingIPNotFound


def _group(session: Session, ctx: RequestContext, name: str) -> SecurityGroup:
    """The caller's security group named (or with the id) ``name``. Raises NotFound."""
    security_groups.ensure_default(session, ctx.project_id or "")
    for group in security_groups.list_visible(session, ctx):
        if name in (group.name, str(group.id)) and group.project_id == ctx.project_id:
            return group
    raise NotFound(f"Security group {name} not found for project {ctx.project_id}.")


def _ports(session: Session, ctx: RequestContext, server_id: str) -> tuple[str, list[Port]]:
    inst = servers.find(session, ctx, server_id)
    return str(inst.uuid), ports.list_for_server(session, inst.uuid)


def server_groups(session: Session, ctx: RequestContext, server_id: str
                  ) -> list[SecurityGroup]:
    """The security groups of the server's ports, each once. Raises NotFound."""
    _, held = _ports(session, ctx, server_id)
    seen: dict[str, SecurityGroup] = {}
    for port in held:
        for group_id in ports.group_ids(session, port):
            group = session.get(SecurityGroup, group_id)
            if group is not None:
                seen.setdefault(str(group.id), group)
    return list(seen.values())


def add_security_group(session: Session, ctx: RequestContext, server_id: str, name: str
                       ) -> None:
    """Put the group on every port of the server. Raises NotFound, BadRequest (no ports,
    port security off, already there)."""
    instance, held = _ports(session, ctx, server_id)
    group = _group(session, ctx, name)
    if not held:
        raise BadRequest(f"Server {instance} has no network interface to apply security "
                         "group {name} to.")
    if any(not p.port_security_enabled for p in held):
        raise BadRequest("Network requires port_security_enabled and subnet associated in "
                         "order to apply security groups.")
    current = {p.id: [str(g) for g in ports.group_ids(session, p)] for p in held}
    if all(str(group.id) in groups for groups in current.values()):
        raise BadRequest(f"Security group {name} is already associated with the instance "
                         f"{instance}")
    for port in held:
        if str(group.id) not in current[port.id]:
            _set(session, ctx, port, [*current[port.id], str(group.id)])


def remove_security_group(session: Session, ctx: RequestContext, server_id: str, name: str
                          ) -> None:
    """Take the group off every port of the server. Raises NotFound, BadRequest (not
    there)."""
    instance, held = _ports(session, ctx, server_id)
    group = _group(session, ctx, name)
    current = {p.id: [str(g) for g in ports.group_ids(session, p)] for p in held}
    if not any(str(group.id) in groups for groups in current.values()):
        raise BadRequest(f"Security group {name} not associated with the instance "
                         f"{instance}")
    for port in held:
        if str(group.id) in current[port.id]:
            _set(session, ctx, port, [g for g in current[port.id] if g != str(group.id)])


def _set(session: Session, ctx: RequestContext, port: Port, groups: list[str]) -> None:
    ports.update(session, ctx, str(port.id), {"security_groups": groups})


def add_floating_ip(session: Session, ctx: RequestContext, server_id: str, address: str,
                    fixed_address: str | None) -> None:
    """Associate the caller's floating IP with the server. Raises NotFound (no such
    floating IP), BadRequest (no fixed address to use, no router to reach it)."""
    inst = servers.find(session, ctx, server_id)
    try:
        floating_ips.associate_for_server(session, ctx, address, inst.uuid, fixed_address)
    except FloatingIPNotFound:
        raise NotFound(f"floating IP {address} not found") from None
    except ControlPlaneError as exc:
        raise BadRequest(_text(exc)) from None


def remove_floating_ip(session: Session, ctx: RequestContext, server_id: str, address: str
                       ) -> None:
    """Disassociate it. Raises NotFound, Conflict (not associated with this server)."""
    inst = servers.find(session, ctx, server_id)
    try:
        floating_ips.disassociate_for_server(session, ctx, address, inst.uuid)
    except FloatingIPNotFound:
        raise NotFound(f"floating IP {address} not found") from None


def _text(exc: ControlPlaneError) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def group_names(session: Session, instance_uuids: Iterable[uuid.UUID]
                ) -> dict[uuid.UUID, list[str]]:
    """The names of the security groups on each server's ports (servers with none are
    left out), in one statement for a whole page of servers."""
    devices = {str(u): u for u in instance_uuids}
    if not devices:
        return {}
    rows = session.execute(
        sa.select(Port.device_id, SecurityGroup.name).distinct()
        .join(PortSecurityGroup, PortSecurityGroup.port_id == Port.id)
        .join(SecurityGroup, SecurityGroup.id == PortSecurityGroup.security_group_id)
        .where(Port.device_id.in_(list(devices)))
        .order_by(Port.device_id, SecurityGroup.name))
    out: dict[uuid.UUID, list[str]] = {}
    for device, name in rows:
        out.setdefault(devices[device], []).append(name)
    return out


def group_view(session: Session, group: SecurityGroup) -> dict[str, Any]:
    """A security group as the compute API's os-security-groups shows it."""
    rules = [
        {"id": str(rule.id), "parent_group_id": str(group.id),
         "ip_protocol": rule.protocol, "from_port": rule.port_range_min,
         "to_port": rule.port_range_max, "ip_range": (
             {"cidr": rule.remote_ip_prefix} if rule.remote_ip_prefix else {}),
         "group": ({"name": _name(session, rule.remote_group_id),
                    "tenant_id": group.project_id} if rule.remote_group_id else {})}
        for rule in security_groups.rules_of(session, group) if rule.direction == "ingress"
    ]
    return {"id": str(group.id), "name": group.name, "description": group.description,
            "tenant_id": group.project_id, "rules": rules}


def _name(session: Session, group_id: Any) -> str:
    group = session.get(SecurityGroup, group_id)
    return group.name if group is not None else ""
