"""A server's interfaces (os-interface): its ports as interface attachments, and attaching
and detaching them.

An attach makes (or takes over) the port, starts the ``attach_interface`` task and
rewrites the server's ``addresses`` in one transaction; the conductor then has the host
hot-plug it, binds it there, and undoes the attach if the host fails. A detach starts the
``detach_interface`` task; the conductor releases the port once the host unplugged it.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from common import validation
from common.compute_db.models import Instance
from common.compute_db.network_models import Port
from common.compute_db.network_queries import server_ports
from common.context import RequestContext
from common.errors import BadRequest, Conflict, NotFound, QuotaExceeded
from common.states import Action
from compute_api import server_actions, server_networks, servers
from compute_api.network import networks, ports
from compute_api.network.faults import (
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    MacAddressInUse,
)
from compute_api.runtime import Runtime

_ATTACHMENT = {
    "type": "object",
    "properties": {
        "net_id": {"type": "string"},
        "port_id": {"type": "string"},
        "fixed_ips": {
            "type": "array", "minItems": 1, "maxItems": 1,
            "items": {"type": "object", "properties": {"ip_address": {"type": "string"}},
                      "required": ["ip_address"], "additionalProperties": False},
        },
        "tag": {"type": "string", "maxLength": 60, "pattern": "^[^,/]*$"},
    },
    "additionalProperties": False,
}


def create_schema(with_tag: bool) -> dict[str, Any]:
    """The body of POST os-interface (``tag`` from 2.49), as upstream's schema."""
    props = dict(_ATTACHMENT["properties"])  # type: ignore[call-overload]
    if not with_tag:
        props.pop("tag")
    return {"type": "object",
            "properties": {"interfaceAttachment": {**_ATTACHMENT, "properties": props}},
            "additionalProperties": False}


@dataclass(frozen=True)
class Wanted:
    """What an attach asks for: a network (maybe an address), a port, or neither."""

    net_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


def parse(body: Any, with_tag: bool) -> Wanted:
    """The request of POST os-interface. Raises BadRequest as upstream's schema does."""
    validation.check(create_schema(with_tag), body)
    item = (body or {}).get("interfaceAttachment") or {}
    for name in ("net_id", "port_id"):
        if name in item and not _is_uuid(item[name]):
            raise BadRequest(f"Invalid input for field/attribute {name}. Value: "
                             f"{item[name]}. '{item[name]}' is not a 'uuid'")
    fixed = (item.get("fixed_ips") or [{}])[0].get("ip_address")
    if fixed is not None:
        try:
            ipaddress.ip_address(fixed)
        except ValueError:
            raise BadRequest(f"Invalid input for field/attribute ip_address. Value: "
                             f"{fixed}. '{fixed}' is not a 'ipv4' or 'ipv6'") from None
    wanted = Wanted(item.get("net_id"), item.get("port_id"), fixed, item.get("tag"))
    if wanted.net_id and wanted.port_id:
        raise BadRequest("Must not input both network_id and port_id")
    if wanted.fixed_ip and not wanted.net_id:
        raise BadRequest("Must input network_id when request IP address")
    return wanted


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- views ------------------------------------------------------------------------


def view(session: Session, port: Port, show_tag: bool) -> dict[str, Any]:
    """One port as an ``interfaceAttachment``."""
    out: dict[str, Any] = {
        "net_id": str(port.network_id), "port_id": str(port.id),
        "mac_addr": port.mac_address, "port_state": port.status,
        "fixed_ips": [{"subnet_id": s, "ip_address": ip}
                      for s, ip in ports.addresses(session, port.id)]}
    if show_tag:
        # Tagged attachments are refused (``attach``): no port carries a device tag.
        out["tag"] = None
    return out


def list_attachments(session: Session, ctx: RequestContext, server_id: str,
                     show_tag: bool) -> list[dict[str, Any]]:
    """The server's ports as interface attachments. Raises NotFound."""
    inst = servers.find(session, ctx, server_id)
    return [view(session, p, show_tag) for p in server_ports(session, inst.uuid)]


def show_attachment(session: Session, ctx: RequestContext, server_id: str, port_id: str,
                    show_tag: bool) -> dict[str, Any]:
    """One of the server's ports. Raises NotFound."""
    inst = servers.find(session, ctx, server_id)
    port = _held(session, inst, port_id)
    if port is None:
        raise NotFound(f"Instance {server_id} does not have a port with id {port_id}")
    return view(session, port, show_tag)


def _held(session: Session, inst: Instance, port_id: str) -> Port | None:
    return next((p for p in server_ports(session, inst.uuid)
                 if str(p.id) == port_id.lower()), None)


# --- attach and detach ---------------------------------------------------------------


def _startable(session: Session, ctx: RequestContext, server_id: str,
               action: Action) -> Instance:
    inst = servers.find(session, ctx, server_id)
    server_actions.check_lock(ctx, inst)
    server_actions.check_state(inst, action)
    return inst


def attach(session: Session, ctx: RequestContext, server_id: str, wanted: Wanted,
           runtime: Runtime) -> tuple[uuid.UUID, Port]:
    """Make or take over the port and start the attach. Raises NotFound (server, network,
    port), BadRequest, Conflict (locked, state, port in use, address in use),
    QuotaExceeded (ports)."""
    inst = _startable(session, ctx, server_id, Action.ATTACH_INTERFACE)
    if wanted.tag is not None:
        raise BadRequest("Tagged network interface attachments are not supported by "
                         "this compute service.")
    net_id = wanted.net_id
    if net_id is not None:
        try:
            net_id = str(networks.get(session, ctx, net_id).id)
        except NotFound:
            raise NotFound(f"Network {wanted.net_id} could not be found.") from None
    elif wanted.port_id is None:
        net_id = _only_network(session, ctx)
    elif _port_in_use(session, ctx, wanted.port_id, inst):
        raise Conflict(f"Port {wanted.port_id} is still in use.")
    groups = None if wanted.port_id else _groups_of(session, inst)
    server_actions.begin(session, ctx, inst, Action.ATTACH_INTERFACE, runtime)
    port = _make_port(session, ctx, inst.uuid, net_id, wanted, groups)
    server_networks.refresh_addresses(session, inst.uuid)
    return inst.uuid, port


def _only_network(session: Session, ctx: RequestContext) -> str:
    """The network a server lands on when none is named, as a create finds it."""
    try:
        found = server_networks.requested(session, ctx, None, 1) or []
    except Conflict:
        raise BadRequest("More than one possible network found. Specify network ID(s) to "
                         "select which one(s) to connect to.") from None
    if not found or found[0].network_id is None:
        raise BadRequest("No specific network was requested and none are available for "
                         f"project '{ctx.project_id}'.")
    return found[0].network_id


def _port_in_use(session: Session, ctx: RequestContext, port_id: str, inst: Instance) -> bool:
    try:
        port = ports.get(session, ctx, port_id)
    except NotFound:
        raise NotFound(f"Port id {port_id} could not be found.") from None
    # Upstream refuses a port already attached, to this server too.
    return bool(port.device_id or port.device_owner)


def _groups_of(session: Session, inst: Instance) -> list[str] | None:
    """A new port gets the security groups the server's ports have (None: the default)."""
    found: list[str] = []
    for port in server_ports(session, inst.uuid):
        found.extend(str(g) for g in ports.group_ids(session, port) if str(g) not in found)
    return found or None


def _make_port(session: Session, ctx: RequestContext, instance_uuid: uuid.UUID,
               net_id: str | None, wanted: Wanted, groups: list[str] | None) -> Port:
    try:
        return ports.create_for_server(session, ctx, instance_uuid, network_id=net_id,
                                       port_id=wanted.port_id, fixed_ip=wanted.fixed_ip,
                                       security_groups=groups)
    except IpAddressAlreadyAllocated:
        raise Conflict(f"Fixed IP address {wanted.fixed_ip} is already in use on instance "
                       f"{instance_uuid}.") from None
    except IpAddressGenerationFailure:
        raise BadRequest(f"No fixed IP addresses available for network: {net_id}") from None
    except MacAddressInUse as exc:
        raise Conflict(exc.message) from None
    except QuotaExceeded:
        raise QuotaExceeded("Maximum number of ports exceeded") from None


def detach(session: Session, ctx: RequestContext, server_id: str, port_id: str,
           runtime: Runtime) -> uuid.UUID:
    """Start detaching one of the server's ports. Raises NotFound, Conflict."""
    inst = servers.find(session, ctx, server_id)
    server_actions.check_lock(ctx, inst)
    if _held(session, inst, port_id) is None:
        raise NotFound(f"Port {port_id} is not attached")
    server_actions.check_state(inst, Action.DETACH_INTERFACE)
    server_actions.begin(session, ctx, inst, Action.DETACH_INTERFACE, runtime)
    return inst.uuid
