"""A server's security groups and floating IPs with an external Neutron
(``[network] backend = neutron``), as Nova proxies them.

Groups and floating IPs are looked up and changed with the caller's token, so Neutron
decides what the caller may use and change; the server's ports are found with the
service's (the caller's right to the server is checked first, by ``servers.find``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from common.compute_db.models import Instance
from common.context import RequestContext
from common.errors import BadRequest, Conflict, ControlPlaneError, NotFound
from common.neutron import NeutronClient, NeutronView
from compute_api import neutron_networks, servers
from compute_api.images.source import callers_token


def _ports(neutron: NeutronClient, inst: Instance) -> list[dict[str, Any]]:
    """The server's ports, in its guest's interface order."""
    return neutron.server_ports(str(inst.uuid), inst.project_id, inst.network_request)


def _group(neutron: NeutronClient, ctx: RequestContext, name: str) -> dict[str, Any]:
    """The caller's project's group named (or with the id) ``name``. Raises NotFound."""
    try:
        return neutron_networks.group_named(neutron_networks.project_groups(neutron, ctx),
                                            name)
    except NotFound:
        raise NotFound(f"Security group {name} not found for project "
                       f"{ctx.project_id}.") from None


def server_groups(session: Session, ctx: RequestContext, neutron: NeutronClient,
                  server_id: str) -> list[dict[str, Any]]:
    """The security groups of the server's ports as os-security-groups shows them."""
    inst = servers.find(session, ctx, server_id)
    ids = {g for p in _ports(neutron, inst) for g in p.get("security_groups", [])}
    if not ids:
        return []
    groups = neutron.by_ids("security-groups", ids)
    names = {g["id"]: g.get("name", "") for g in groups}
    return [group_view(g, names) for g in sorted(groups, key=lambda g: g.get("name", ""))]


def group_view(group: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    rules = [
        {"id": r["id"], "parent_group_id": group["id"], "ip_protocol": r.get("protocol"),
         "from_port": r.get("port_range_min"), "to_port": r.get("port_range_max"),
         "ip_range": {"cidr": r["remote_ip_prefix"]} if r.get("remote_ip_prefix") else {},
         "group": ({"name": names.get(r["remote_group_id"], ""),
                    "tenant_id": group.get("project_id")}
                   if r.get("remote_group_id") else {})}
        for r in group.get("security_group_rules", []) if r.get("direction") == "ingress"]
    return {"id": group["id"], "name": group.get("name", ""),
            "description": group.get("description", ""),
            "tenant_id": group.get("project_id"), "rules": rules}


def _set_groups(neutron: NeutronClient, port: dict[str, Any], groups: list[str]) -> None:
    try:
        neutron.call("PUT", f"/ports/{port['id']}", {"port": {"security_groups": groups}},
                     token=callers_token())
    except (BadRequest, Conflict) as exc:
        raise BadRequest(exc.message) from None


def add_security_group(session: Session, ctx: RequestContext, neutron: NeutronClient,
                       server_id: str, name: str) -> None:
    """Put the group on every port of the server. Raises NotFound, BadRequest."""
    inst = servers.find(session, ctx, server_id)
    group = _group(neutron, ctx, name)
    held = _ports(neutron, inst)
    if not held:
        raise BadRequest(f"Server {inst.uuid} has no network interface to apply security "
                         f"group {name} to.")
    if any(p.get("port_security_enabled") is False for p in held):
        raise BadRequest("Network requires port_security_enabled and subnet associated in "
                         "order to apply security groups.")
    if all(group["id"] in p.get("security_groups", []) for p in held):
        raise BadRequest(f"Security group {name} is already associated with the instance "
                         f"{inst.uuid}")
    for port in held:
        current = list(port.get("security_groups", []))
        if group["id"] not in current:
            _set_groups(neutron, port, [*current, group["id"]])


def remove_security_group(session: Session, ctx: RequestContext, neutron: NeutronClient,
                          server_id: str, name: str) -> None:
    """Take the group off every port of the server. Raises NotFound, BadRequest."""
    inst = servers.find(session, ctx, server_id)
    group = _group(neutron, ctx, name)
    held = _ports(neutron, inst)
    if not any(group["id"] in p.get("security_groups", []) for p in held):
        raise BadRequest(f"Security group {name} not associated with the instance "
                         f"{inst.uuid}")
    for port in held:
        current = list(port.get("security_groups", []))
        if group["id"] in current:
            _set_groups(neutron, port, [g for g in current if g != group["id"]])


def _floating(neutron: NeutronClient, address: str) -> dict[str, Any]:
    found = neutron.call("GET", "/floatingips", token=callers_token(), query=[
        ("floating_ip_address", address)])["floatingips"]
    if not found:
        raise NotFound(f"floating IP {address} not found")
    return dict(found[0])


def add_floating_ip(session: Session, ctx: RequestContext, neutron: NeutronClient,
                    server_id: str, address: str, fixed_address: str | None) -> None:
    """Associate the caller's floating IP with the server's first port (or the port
    holding ``fixed_address``). Raises NotFound, BadRequest."""
    inst = servers.find(session, ctx, server_id)
    fip = _floating(neutron, address)
    held = _ports(neutron, inst)
    choices = [(p, ip["ip_address"]) for p in held for ip in p.get("fixed_ips", [])
               if ":" not in ip["ip_address"]]
    if fixed_address is not None:
        choices = [c for c in choices if c[1] == fixed_address]
        if not choices:
            raise BadRequest(f"Specified fixed address '{fixed_address}' not found")
    if not choices:
        raise BadRequest("No nw_info cache associated with instance")
    port, fixed = choices[0]
    try:
        neutron.call("PUT", f"/floatingips/{fip['id']}", {"floatingip": {
            "port_id": port["id"], "fixed_ip_address": fixed}}, token=callers_token())
    except ControlPlaneError as exc:
        if isinstance(exc, NotFound):
            raise NotFound(f"floating IP {address} not found") from None
        raise BadRequest(exc.message) from None
    _refresh(session, neutron, inst)


def remove_floating_ip(session: Session, ctx: RequestContext, neutron: NeutronClient,
                       server_id: str, address: str) -> None:
    """Disassociate it. Raises NotFound, Conflict (not associated with this server)."""
    inst = servers.find(session, ctx, server_id)
    fip = _floating(neutron, address)
    held = {p["id"] for p in _ports(neutron, inst)}
    if fip.get("port_id") not in held:
        raise Conflict(f"Floating IP {address} is not associated with instance "
                       f"{inst.uuid}.")
    neutron.call("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": None}},
                 token=callers_token())
    _refresh(session, neutron, inst)


def _refresh(session: Session, neutron: NeutronClient, inst: Instance) -> None:
    """The server's ``addresses`` from its ports now (floating ones included)."""
    inst.addresses = NeutronView.read(neutron, _ports(neutron, inst)).addresses()


def group_names(neutron: NeutronClient, instance_uuids: Iterable[uuid.UUID]
                ) -> dict[uuid.UUID, list[str]]:
    """The names of the security groups on each server's ports, for a page of servers
    in two queries (servers with none are left out)."""
    devices = {str(u): u for u in instance_uuids}
    if not devices:
        return {}
    ports: list[dict[str, Any]] = []
    wanted = sorted(devices)
    for start in range(0, len(wanted), 50):
        ports.extend(neutron.call("GET", "/ports", query=[
            ("device_id", d) for d in wanted[start:start + 50]])["ports"])
    ids = {g for p in ports for g in p.get("security_groups", [])}
    names = {g["id"]: str(g.get("name", "")) for g in neutron.by_ids("security-groups",
                                                                      ids)} if ids else {}
    out: dict[uuid.UUID, set[str]] = {}
    for port in ports:
        device = devices.get(str(port.get("device_id")))
        if device is not None:
            out.setdefault(device, set()).update(
                names[g] for g in port.get("security_groups", []) if g in names)
    return {device: sorted(found) for device, found in out.items() if found}
