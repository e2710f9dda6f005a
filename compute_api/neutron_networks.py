"""The networks, ports and security groups a create names, checked in an external Neutron
(``[network] backend = neutron``).

Each is looked up with the caller's own token, so Neutron decides what the caller may
use: a network or port the caller cannot see is "not found", as Nova answers. Nothing is
created here: the conductor creates the ports once the server has a host (as Nova's
compute side does), from what is recorded in ``instances.network_request``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from common.context import RequestContext
from common.errors import BadRequest, Conflict, Forbidden, NotFound
from common.neutron import NeutronClient
from compute_api.images.source import callers_token


def _item(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def requested(neutron: NeutronClient, ctx: RequestContext, networks_field: Any,
              max_count: int) -> list[dict[str, Any]]:
    """The interfaces of each server, as recorded in ``network_request``.

    Raises BadRequest for unknown networks or ports, a network without subnets, a port
    with several servers or an invalid address; Conflict for a port in use or ``auto``
    finding several networks; Forbidden for an external network a non-admin names.
    """
    if networks_field == "none":
        return []
    if networks_field is None or networks_field == "auto":
        found = _usable(neutron, ctx)
        if len(found) > 1:
            raise Conflict("Multiple possible networks found, use a Network ID to be more "
                           "specific.")
        if found:
            return [{"network_id": str(found[0]["id"])}]
        if networks_field == "auto":
            return [{"network_id": _auto_allocated(neutron, ctx)}]
        return []
    wanted = [_interface(neutron, ctx, item) for item in networks_field]
    ports = [i["port_id"] for i in wanted if i.get("port_id")]
    if max_count > 1 and ports:
        raise BadRequest("Unable to launch multiple instances with a single configured "
                         "port ID. Please launch your instance one by one with different "
                         "ports.")
    if len(ports) != len(set(ports)):
        raise BadRequest("Port ID(s) given more than once.")
    return wanted


def _interface(neutron: NeutronClient, ctx: RequestContext, item: Any) -> dict[str, Any]:
    port_id, net_id, fixed = _item(item, "port"), _item(item, "uuid"), _item(item, "fixed_ip")
    if port_id:
        try:
            port = neutron.call("GET", f"/ports/{port_id}", token=callers_token())["port"]
        except NotFound:
            raise BadRequest(f"Port id {port_id} could not be found.") from None
        if port.get("device_id"):
            raise Conflict(f"Port {port_id} is still in use.")
        # Visible (a shared network's owner sees every port on it) is not usable.
        check_port_usable(port, ctx)
        if port.get("binding:host_id"):
            raise Conflict(f"Port {port_id} is still bound to host "
                           f"{port['binding:host_id']}.")
        return {"port_id": str(port["id"]), "network_id": str(port["network_id"])}
    if not net_id:
        raise BadRequest("Bad networks format: network uuid is not in proper format "
                         f"({net_id})")
    try:
        net = neutron.call("GET", f"/networks/{net_id}", token=callers_token())["network"]
    except NotFound:
        raise BadRequest(f"Network {net_id} could not be found.") from None
    check_network_usable(net, ctx)
    if not net.get("subnets"):
        raise BadRequest(f"Network {net_id} requires a subnet in order to boot instances "
                         "on.")
    if fixed is not None:
        try:
            ipaddress.ip_address(fixed)
        except ValueError:
            raise BadRequest(f"Invalid fixed IP address ({fixed})") from None
        check_fixed_ip(net, ctx)
    out: dict[str, Any] = {"network_id": str(net["id"])}
    if fixed is not None:
        out["fixed_ip"] = str(fixed)
    return out


def _same_project(resource: dict[str, Any], ctx: RequestContext) -> bool:
    owner = resource.get("project_id") or resource.get("tenant_id")
    return bool(ctx.is_admin) or owner == ctx.project_id


def check_fixed_ip(net: dict[str, Any], ctx: RequestContext) -> None:
    """A chosen address is the network owner's (or an admin's) to ask for, as Neutron's
    policy has it: the conductor makes the port with the service's credentials, so the
    caller's right is checked here. Raises Forbidden."""
    if not _same_project(net, ctx):
        raise Forbidden(f"Not allowed to request a fixed IP address on network "
                        f"{net['id']}.")


def check_network_usable(net: dict[str, Any], ctx: RequestContext) -> None:
    """An external network a non-admin may not put an interface on. Raises Forbidden."""
    if net.get("router:external") and not net.get("shared") and not ctx.is_admin:
        raise Forbidden(f"It is not allowed to create an interface on external network "
                        f"{net['id']}")


def check_port_usable(port: dict[str, Any], ctx: RequestContext) -> None:
    """A port handed in is the server's project's, an admin's request too (as Nova
    refuses another project's port). Raises BadRequest."""
    if (port.get("project_id") or port.get("tenant_id")) != ctx.project_id:
        raise BadRequest(f"Port {port['id']} not usable for instance.")


def _usable(neutron: NeutronClient, ctx: RequestContext) -> list[dict[str, Any]]:
    """The project's own networks and shared ones, never external ones (Nova's choice for
    a create naming none)."""
    token = callers_token()
    own = neutron.call("GET", "/networks", token=token, query=[
        ("project_id", ctx.project_id or ""), ("shared", "False")])["networks"]
    shared = neutron.call("GET", "/networks", token=token,
                          query=[("shared", "True")])["networks"]
    found = {n["id"]: n for n in [*own, *shared] if not n.get("router:external")}
    return sorted(found.values(), key=lambda n: (str(n.get("created_at") or ""),
                                                 str(n["id"])))


def _auto_allocated(neutron: NeutronClient, ctx: RequestContext) -> str:
    """The project's auto-allocated network (Neutron's auto-allocated-topology)."""
    try:
        topology = neutron.call("GET", f"/auto-allocated-topology/{ctx.project_id}",
                                token=callers_token())
        return str(topology["auto_allocated_topology"]["id"])
    except (NotFound, BadRequest, Conflict, KeyError, TypeError):
        raise BadRequest("Unable to automatically allocate a network for project "
                         f"{ctx.project_id}") from None


def group_ids(neutron: NeutronClient, ctx: RequestContext,
              wanted: list[dict[str, str]] | None) -> list[str] | None:
    """Ids of the security groups named (by name or id) in a create; None: Neutron's
    default. Raises BadRequest naming an unknown group."""
    if not wanted:
        return None
    groups = project_groups(neutron, ctx)
    found: list[str] = []
    for item in wanted:
        name = str(item.get("name", ""))
        try:
            group = group_named(groups, name)
        except NotFound:
            raise BadRequest(f"Security group {name} not found.") from None
        if str(group["id"]) not in found:
            found.append(str(group["id"]))
    return found


def project_groups(neutron: NeutronClient, ctx: RequestContext) -> list[dict[str, Any]]:
    """The caller's project's security groups, asked as the caller."""
    return list(neutron.call("GET", "/security-groups", token=callers_token(), query=[
        ("project_id", ctx.project_id or "")])["security_groups"])


def group_named(groups: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The group of ``groups`` with the id (or else the name) ``name``. Raises NotFound,
    Conflict (several have that name)."""
    match = [g for g in groups if g["id"] == name] or [
        g for g in groups if g.get("name") == name]
    if not match:
        raise NotFound(f"Security group {name} not found.")
    if len(match) > 1:
        raise Conflict(f"Multiple security groups found matching '{name}'. Use an ID to "
                       "be more specific.")
    return dict(match[0])
