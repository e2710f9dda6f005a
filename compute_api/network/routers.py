"""Routers: an external gateway (with SNAT or not) and interfaces on subnets.

A router owns its ports: the gateway port on an external network (owned by no project,
as Neutron's) and one port per interface. No L3 agent exists: a router is ``ACTIVE`` as
soon as it is made, and so are its ports (see ``ROUTER_PORT_STATUS``). Static routes
(``extraroute``) are not served: ``routes`` stays [].
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common import policy
from common.compute_db.network_models import (
    FloatingIP,
    IpAllocation,
    Network,
    Port,
    Router,
    RouterPort,
    Subnet,
)
from common.context import RequestContext
from compute_api.network import ipam, networks, ports, quotas, subnets
from compute_api.network import validators as v
from compute_api.network.attributes import Attr, Resource, _common
from compute_api.network.common import fetch, owns, sees_all, standard, touch
from compute_api.network.faults import (
    AttributeInvalid,
    InvalidInput,
    IpAddressGenerationFailure,
    MacAddressInUse,
    NeutronBadRequest,
    RouterExternalGatewayInUseByFloatingIp,
    RouterInUse,
    RouterNotFound,
)

GATEWAY_OWNER = "network:router_gateway"
INTERFACE_OWNER = "network:router_interface"
FLOATINGIP_OWNER = "network:floatingip"
# Ports their router or floating IP owns: DELETE /ports refuses them (L3PortInUse).
L3_OWNED = (GATEWAY_OWNER, INTERFACE_OWNER, FLOATINGIP_OWNER)
# A router's gateway and interface ports, from the moment they join it, whatever the
# router's admin_state_up (which only decides whether the data plane programs it): what
# Neutron reports once its backend has wired them, and no agent here would report it.
ROUTER_PORT_STATUS = "ACTIVE"
_MAC_TRIES = 16
_GATEWAY_KEYS = {"network_id", "enable_snat", "external_fixed_ips"}


def _gateway_info(name: str, value: Any) -> dict[str, Any] | None:
    """``external_gateway_info``: None or {} clears the gateway."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AttributeInvalid(name, f"'{value}' is not a dictionary")
    unknown = sorted(set(value) - _GATEWAY_KEYS)
    if unknown:
        raise AttributeInvalid(name, f"Unexpected keys supplied: {', '.join(unknown)}")
    if not value:
        return None
    if "network_id" not in value:
        raise AttributeInvalid(name, "Validation of dictionary's keys failed. Expected "
                               f"keys: {{'network_id'}} Provided keys: {set(value)}")
    out: dict[str, Any] = {"network_id": v.uuid_str(name, value["network_id"])}
    if "enable_snat" in value:
        out["enable_snat"] = v.to_boolean(name, value["enable_snat"])
    if "external_fixed_ips" in value:
        out["external_fixed_ips"] = v.fixed_ips(name, value["external_fixed_ips"])
    return out


def _routes(name: str, value: Any) -> list[Any]:
    if value is None or value == []:
        return []
    raise NeutronBadRequest("router", "Static routes are not supported (no extraroute)")


ROUTER = Resource("router", "routers", _common(
    admin_state_up=Attr(check=v.to_boolean, default=True),
    status=Attr(post=False, put=False),
    external_gateway_info=Attr(check=_gateway_info, default=None),
    routes=Attr(check=_routes, default=[]),
    distributed=Attr(post=False, put=False),
    ha=Attr(post=False, put=False),
    availability_zone_hints=Attr(put=False, check=v.string_list, default=[]),
    availability_zones=Attr(post=False, put=False),
))


def visible(ctx: RequestContext, router: Router) -> bool:
    return owns(ctx, router.project_id)


def get(session: Session, ctx: RequestContext, router_id: Any) -> Router:
    """The caller's router (any, for admins). Raises RouterNotFound."""
    return fetch(session, Router, router_id, lambda r: visible(ctx, r), RouterNotFound)


def list_visible(session: Session, ctx: RequestContext) -> Sequence[Router]:
    stmt = sa.select(Router).order_by(Router.created_at, Router.id)
    if not sees_all(ctx):
        stmt = stmt.where(Router.project_id == ctx.project_id)
    return session.scalars(stmt).all()


# --- ports a router or a floating IP owns ----------------------------------------------


def network_port(session: Session, net: Network, project_id: str, device_id: str,
                 device_owner: str) -> Port:
    """A new port without addresses that the network service itself owns."""
    for _ in range(_MAC_TRIES):
        port = Port(project_id=project_id, network_id=net.id, name="", description="",
                    admin_state_up=True, device_id=device_id, device_owner=device_owner,
                    port_security_enabled=False, allowed_address_pairs=[], tags=[],
                    binding_profile={}, binding_vif_details={}, mac_address=ports.random_mac())
        try:
            with session.begin_nested():
                session.add(port)
                session.flush()
            return port
        except IntegrityError:
            continue
    raise MacAddressInUse("(generated)", str(net.id))


def drop_port(session: Session, port_id: uuid.UUID) -> None:
    """Delete a router's or floating IP's port and free its addresses."""
    session.execute(sa.delete(IpAllocation).where(IpAllocation.port_id == port_id))
    session.execute(sa.delete(RouterPort).where(RouterPort.port_id == port_id))
    session.execute(sa.delete(Port).where(Port.id == port_id))


def allocations(session: Session, port_id: uuid.UUID) -> list[IpAllocation]:
    return list(session.scalars(sa.select(IpAllocation).where(IpAllocation.port_id == port_id)
                                .order_by(IpAllocation.id)))


# --- routers -------------------------------------------------------------------------


def create(session: Session, ctx: RequestContext, attrs: dict[str, Any]) -> Router:
    """Create a router (with its gateway). Raises OverQuota and what a gateway raises."""
    quotas.check(session, attrs["project_id"], "router")
    router = Router(project_id=attrs["project_id"], name=attrs["name"],
                    description=attrs["description"], admin_state_up=attrs["admin_state_up"],
                    enable_snat=True, tags=[])
    session.add(router)
    session.flush()
    if attrs.get("external_gateway_info"):
        _set_gateway(session, ctx, router, attrs["external_gateway_info"], "create")
    return router


def update(session: Session, ctx: RequestContext, router_id: str, attrs: dict[str, Any]
           ) -> Router:
    """Change a router. Raises RouterNotFound and what a gateway change raises."""
    router = get(session, ctx, router_id)
    for key in ("name", "description", "admin_state_up"):
        if key in attrs:
            setattr(router, key, attrs[key])
    if "external_gateway_info" in attrs:
        _update_gateway(session, ctx, router, attrs["external_gateway_info"])
    touch(router)
    session.flush()
    return router


def delete(session: Session, ctx: RequestContext, router_id: str) -> None:
    """Delete a router and its gateway. Raises RouterNotFound, RouterInUse."""
    router = get(session, ctx, router_id)
    if interface_ports(session, router.id):
        raise RouterInUse(str(router.id))
    gateway = gateway_port(session, router.id)
    if gateway is not None:
        drop_port(session, gateway.id)
    session.delete(router)
    session.flush()


def gateway_port(session: Session, router_id: uuid.UUID) -> Port | None:
    return session.scalar(sa.select(Port).join(RouterPort, RouterPort.port_id == Port.id)
                          .where(RouterPort.router_id == router_id,
                                 RouterPort.port_type == GATEWAY_OWNER))


def interface_ports(session: Session, router_id: uuid.UUID) -> list[Port]:
    return list(session.scalars(
        sa.select(Port).join(RouterPort, RouterPort.port_id == Port.id)
        .where(RouterPort.router_id == router_id, RouterPort.port_type == INTERFACE_OWNER)
        .order_by(Port.created_at, Port.id)))


def _external(session: Session, ctx: RequestContext, net_id: str, resource: str,
              message: str) -> Network:
    net = networks.get(session, ctx, net_id)
    if not net.external:
        raise NeutronBadRequest(resource, message.format(net.id))
    return net


def _set_gateway(session: Session, ctx: RequestContext, router: Router,
                 info: dict[str, Any], verb: str) -> None:
    if info.get("enable_snat") is False:
        policy.authorize(ctx, f"{verb}_router:external_gateway_info:enable_snat")
    if "external_fixed_ips" in info:
        policy.authorize(ctx, f"{verb}_router:external_gateway_info:external_fixed_ips")
    net = _external(session, ctx, info["network_id"], "router",
                    "Network {} is not an external network")
    port = network_port(session, net, "", str(router.id), GATEWAY_OWNER)
    port.status = ROUTER_PORT_STATUS
    wanted = info.get("external_fixed_ips") or []
    if wanted:
        for spec in wanted:
            subnet = _external_subnet(session, net, spec)
            ipam.allocate(session, port, subnet, spec.get("ip_address"))
    else:
        allocate_external(session, port, net, "router")
    session.add(RouterPort(port_id=port.id, router_id=router.id, port_type=GATEWAY_OWNER))
    router.enable_snat = info.get("enable_snat", True)
    session.flush()


def _external_subnet(session: Session, net: Network, spec: dict[str, Any]) -> Subnet:
    for subnet in subnets.on_network(session, net.id):
        if str(subnet.id) == spec.get("subnet_id") or (
                "subnet_id" not in spec and "ip_address" in spec
                and ipaddress.ip_address(spec["ip_address"]) in ipam.network_of(subnet)):
            return subnet
    raise InvalidInput(f"Invalid external fixed IP {spec} for network {net.id}")


def allocate_external(session: Session, port: Port, net: Network, resource: str) -> str:
    """An address of the network's IPv4 subnets for ``port``. Raises NeutronBadRequest
    (no IPv4 subnet), IpAddressGenerationFailure (all exhausted)."""
    v4 = [s for s in subnets.on_network(session, net.id) if s.ip_version == 4]
    if not v4:
        raise NeutronBadRequest(resource, f"Network {net.id} does not contain any IPv4 "
                                "subnet")
    for subnet in v4[:-1]:
        try:
            return ipam.allocate(session, port, subnet)
        except IpAddressGenerationFailure:
            continue
    return ipam.allocate(session, port, v4[-1])


def _update_gateway(session: Session, ctx: RequestContext, router: Router,
                    info: dict[str, Any] | None) -> None:
    current = gateway_port(session, router.id)
    if (current is not None and info is not None
            and str(current.network_id) == info["network_id"]
            and "external_fixed_ips" not in info):
        if info.get("enable_snat") is False:
            policy.authorize(ctx, "update_router:external_gateway_info:enable_snat")
        router.enable_snat = info.get("enable_snat", True)
        return
    if current is not None:
        if (info is None or str(current.network_id) != info["network_id"]) and \
                floating_ips_through(session, router.id):
            raise RouterExternalGatewayInUseByFloatingIp(str(router.id),
                                                         str(current.network_id))
        drop_port(session, current.id)
        session.flush()
    router.enable_snat = True
    if info is not None:
        _set_gateway(session, ctx, router, info, "update")


def floating_ips_through(session: Session, router_id: uuid.UUID) -> list[FloatingIP]:
    return list(session.scalars(sa.select(FloatingIP).where(
        FloatingIP.router_id == router_id, FloatingIP.fixed_port_id.is_not(None))))


def router_between(session: Session, subnet_id: uuid.UUID, external_net_id: uuid.UUID
                   ) -> uuid.UUID | None:
    """A router with an interface on the subnet and its gateway on the external network."""
    on_subnet = (sa.select(RouterPort.router_id)
                 .join(IpAllocation, IpAllocation.port_id == RouterPort.port_id)
                 .where(RouterPort.port_type == INTERFACE_OWNER,
                        IpAllocation.subnet_id == subnet_id))
    stmt = (sa.select(RouterPort.router_id).join(Port, Port.id == RouterPort.port_id)
            .where(RouterPort.port_type == GATEWAY_OWNER, Port.network_id == external_net_id,
                   RouterPort.router_id.in_(on_subnet))
            .order_by(RouterPort.router_id).limit(1))
    return session.scalar(stmt)


# --- views ---------------------------------------------------------------------------


def views(session: Session, ctx: RequestContext, routers: Sequence[Router]
          ) -> list[dict[str, Any]]:
    gateways: dict[Any, tuple[Any, list[dict[str, str]]]] = {}
    if routers:
        rows = session.execute(
            sa.select(RouterPort.router_id, Port.network_id, IpAllocation.subnet_id,
                      IpAllocation.ip_address)
            .join(Port, Port.id == RouterPort.port_id)
            .outerjoin(IpAllocation, IpAllocation.port_id == Port.id)
            .where(RouterPort.router_id.in_([r.id for r in routers]),
                   RouterPort.port_type == GATEWAY_OWNER).order_by(IpAllocation.id))
        for router_id, net_id, subnet_id, address in rows:
            entry = gateways.setdefault(router_id, (net_id, []))
            if subnet_id is not None:
                entry[1].append({"subnet_id": str(subnet_id), "ip_address": address})
    return [_view(r, gateways.get(r.id)) for r in routers]


def _view(router: Router, gateway: tuple[Any, list[dict[str, str]]] | None
          ) -> dict[str, Any]:
    info = None if gateway is None else {
        "network_id": str(gateway[0]), "enable_snat": router.enable_snat,
        "external_fixed_ips": gateway[1]}
    return {**standard(router), "name": router.name, "description": router.description,
            "admin_state_up": router.admin_state_up, "status": router.status,
            "external_gateway_info": info, "routes": [], "distributed": False, "ha": False,
            "availability_zone_hints": [], "availability_zones": ["nova"]}
