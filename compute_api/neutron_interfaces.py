"""os-interface with an external Neutron (``[network] backend = neutron``).

A server's interfaces are its ports in Neutron (``device_id`` = the server). An attach
checks the network or port with the caller's token, makes the port for the server (or
takes over the one handed in) with the service's, records it in the server's
``network_request`` and starts the ``interface_attaching`` task, all before the request's
transaction commits: a refused attach leaves a port that carries the server's id and is
released with it. The conductor binds it to the host and has the host plug it; a detach
unplugs, then the conductor releases the port (deleted if made for the server).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from common.compute_db.models import Instance
from common.context import RequestContext
from common.errors import BadRequest, Conflict, NotFound, QuotaExceeded
from common.neutron import NeutronClient
from common.states import Action
from compute_api import neutron_networks, server_actions, servers
from compute_api.images.source import callers_token
from compute_api.runtime import Runtime
from compute_api.server_interfaces import Wanted


def view(port: dict[str, Any], show_tag: bool) -> dict[str, Any]:
    """A Neutron port as an ``interfaceAttachment``."""
    out: dict[str, Any] = {
        "net_id": port["network_id"], "port_id": port["id"],
        "mac_addr": port["mac_address"], "port_state": port.get("status", "DOWN"),
        "fixed_ips": [{"subnet_id": ip["subnet_id"], "ip_address": ip["ip_address"]}
                      for ip in port.get("fixed_ips", [])]}
    if show_tag:
        out["tag"] = None
    return out


def _ports(neutron: NeutronClient, inst: Instance) -> list[dict[str, Any]]:
    """The server's ports, in its guest's interface order."""
    return neutron.server_ports(str(inst.uuid), inst.project_id, inst.network_request)


def list_attachments(session: Session, ctx: RequestContext, neutron: NeutronClient,
                     server_id: str, show_tag: bool) -> list[dict[str, Any]]:
    inst = servers.find(session, ctx, server_id)
    return [view(p, show_tag) for p in _ports(neutron, inst)]


def show_attachment(session: Session, ctx: RequestContext, neutron: NeutronClient,
                    server_id: str, port_id: str, show_tag: bool) -> dict[str, Any]:
    inst = servers.find(session, ctx, server_id)
    port = next((p for p in _ports(neutron, inst) if p["id"] == port_id.lower()), None)
    if port is None:
        raise NotFound(f"Instance {server_id} does not have a port with id {port_id}")
    return view(port, show_tag)


def attach(session: Session, ctx: RequestContext, server_id: str, wanted: Wanted,
           runtime: Runtime) -> tuple[Instance, dict[str, Any]]:
    """Make or take over the port in Neutron and start the attach. Raises NotFound,
    BadRequest, Conflict, QuotaExceeded as upstream answers them."""
    neutron = runtime.neutron
    assert neutron is not None
    inst = servers.find(session, ctx, server_id)
    server_actions.check_lock(ctx, inst)
    server_actions.check_state(inst, Action.ATTACH_INTERFACE)
    if wanted.tag is not None:
        raise BadRequest("Tagged network interface attachments are not supported by "
                         "this compute service.")
    token = callers_token()
    if wanted.port_id is not None:
        try:
            port = neutron.call("GET", f"/ports/{wanted.port_id}", token=token)["port"]
        except NotFound:
            raise NotFound(f"Port id {wanted.port_id} could not be found.") from None
        if port.get("device_id") or port.get("device_owner"):
            raise Conflict(f"Port {wanted.port_id} is still in use.")
        neutron_networks.check_port_usable(port, ctx)
        net_id = str(port["network_id"])
    elif wanted.net_id is not None:
        try:
            net = neutron.call("GET", f"/networks/{wanted.net_id}", token=token)["network"]
        except NotFound:
            raise NotFound(f"Network {wanted.net_id} could not be found.") from None
        neutron_networks.check_network_usable(net, ctx)
        if wanted.fixed_ip:
            neutron_networks.check_fixed_ip(net, ctx)
        net_id = str(net["id"])
    else:
        try:
            found = neutron_networks.requested(neutron, ctx, None, 1)
        except Conflict:
            raise BadRequest("More than one possible network found. Specify network ID(s) "
                             "to select which one(s) to connect to.") from None
        if not found:
            raise BadRequest("No specific network was requested and none are available "
                             f"for project '{ctx.project_id}'.")
        net_id = str(found[0]["network_id"])
    server_actions.begin(session, ctx, inst, Action.ATTACH_INTERFACE, runtime)
    owner = f"compute:{inst.availability_zone or 'nova'}"
    if wanted.port_id is not None:
        port = neutron.call("PUT", f"/ports/{wanted.port_id}", {"port": {
            "device_id": str(inst.uuid), "device_owner": owner}})["port"]
        made = False
    else:
        body: dict[str, Any] = {"network_id": net_id, "project_id": inst.project_id,
                                "device_id": str(inst.uuid), "device_owner": owner}
        if wanted.fixed_ip:
            body["fixed_ips"] = [{"ip_address": wanted.fixed_ip}]
        groups = sorted({g for p in _ports(neutron, inst) for g in p.get("security_groups",
                                                                         [])})
        if groups:
            body["security_groups"] = groups
        try:
            port = neutron.call("POST", "/ports", {"port": body})["port"]
        except QuotaExceeded:
            raise QuotaExceeded("Maximum number of ports exceeded") from None
        except Conflict as exc:
            raise Conflict(f"Fixed IP address {wanted.fixed_ip} is already in use on "
                           f"instance {inst.uuid}." if wanted.fixed_ip else exc.message
                           ) from None
        except BadRequest as exc:
            raise BadRequest(exc.message) from None
        made = True
    request = dict(inst.network_request or {"interfaces": [], "security_groups": None})
    request["interfaces"] = [*request.get("interfaces", []),
                             {"port_id": port["id"], "network_id": net_id, "made": made}]
    inst.network_request = request
    flag_modified(inst, "network_request")
    return inst, port


def detach(session: Session, ctx: RequestContext, server_id: str, port_id: str,
           runtime: Runtime) -> Instance:
    """Start detaching one of the server's ports. Raises NotFound, Conflict."""
    neutron = runtime.neutron
    assert neutron is not None
    inst = servers.find(session, ctx, server_id)
    server_actions.check_lock(ctx, inst)
    if not any(p["id"] == port_id.lower() for p in _ports(neutron, inst)):
        raise NotFound(f"Port {port_id} is not attached")
    server_actions.check_state(inst, Action.DETACH_INTERFACE)
    server_actions.begin(session, ctx, inst, Action.DETACH_INTERFACE, runtime)
    return inst
