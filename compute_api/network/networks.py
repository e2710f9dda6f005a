"""Networks: ownership and sharing, provider segments, MTU."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common import policy
from common.compute_db.network_models import FloatingIP, IpAllocation, Network, Port, Subnet
from common.context import RequestContext
from common.policy import PolicyForbidden
from compute_api.network import quotas
from compute_api.network.common import fetch, owns, sees_all, standard, touch
from compute_api.network.faults import (
    InvalidInput,
    NetworkInUse,
    NetworkNotFound,
    NoNetworkAvailable,
    SegmentationIdInUse,
)

MTU = {"vxlan": 1450, "vlan": 1500, "flat": 1500}
SEGMENT_RANGE = {"vxlan": (1, 2**24 - 1), "vlan": (1, 4094)}
TENANT_NETWORK_TYPE = "vxlan"
# Ports the network itself owns (DHCP, ...): deleted with it, never blocking it.
NETWORK_OWNED = ("network:dhcp",)
_ALLOCATION_TRIES = 20


def visible(ctx: RequestContext, net: Network) -> bool:
    return owns(ctx, net.project_id) or net.shared or net.external


def visible_filter(ctx: RequestContext) -> Any:
    if sees_all(ctx):
        return sa.true()
    return sa.or_(Network.project_id == ctx.project_id, Network.shared.is_(True),
                  Network.external.is_(True))


def get(session: Session, ctx: RequestContext, net_id: Any) -> Network:
    """The network if the caller may see it. Raises NetworkNotFound."""
    return fetch(session, Network, net_id, lambda n: visible(ctx, n), NetworkNotFound)


def owned(session: Session, ctx: RequestContext, net_id: Any, rule: str) -> Network:
    """A network the caller may change: another project's shared one is a 403."""
    net = get(session, ctx, net_id)
    if not owns(ctx, net.project_id):
        raise PolicyForbidden(rule)
    return net


def list_visible(session: Session, ctx: RequestContext) -> Sequence[Network]:
    return session.scalars(sa.select(Network).where(visible_filter(ctx))
                           .order_by(Network.created_at, Network.id)).all()


def _segment(attrs: dict[str, Any]) -> tuple[str, str | None, int | None]:
    kind = attrs.get("provider:network_type") or TENANT_NETWORK_TYPE
    physnet = attrs.get("provider:physical_network")
    seg = attrs.get("provider:segmentation_id")
    if kind == "vxlan" and physnet:
        raise InvalidInput("physical_network not allowed for vxlan provider network")
    if kind in ("flat", "vlan") and not physnet:
        raise InvalidInput(f"physical_network required for {kind} provider network")
    if kind == "flat" and seg is not None:
        raise InvalidInput("segmentation_id specified for flat provider network")
    if kind in SEGMENT_RANGE and seg is not None:
        low, high = SEGMENT_RANGE[kind]
        if not low <= seg <= high:
            raise InvalidInput(f"segmentation_id out of range ({low} through {high})")
    return kind, physnet, seg


def _in_use(kind: str, physnet: str | None, seg: int | None) -> SegmentationIdInUse:
    if kind == "flat":
        return SegmentationIdInUse(f"Unable to create the flat network. Physical network "
                                   f"{physnet} is in use.")
    if kind == "vlan":
        return SegmentationIdInUse(f"Unable to create the network. The VLAN {seg} on "
                                   f"physical network {physnet} is in use.")
    return SegmentationIdInUse(f"Unable to create the network. The tunnel ID {seg} is in "
                               "use.")


def _free_segment(session: Session, kind: str, physnet: str | None) -> int:
    low, high = SEGMENT_RANGE[kind]
    used = set(session.scalars(sa.select(Network.segmentation_id).where(
        Network.network_type == kind, Network.physical_network.is_(physnet)
        if physnet is None else Network.physical_network == physnet)))
    if len(used) >= high - low + 1:
        raise NoNetworkAvailable()
    while True:
        candidate = random.randint(low, high)
        if candidate not in used:
            return candidate


def _insert(session: Session, fields: dict[str, Any]) -> Network:
    """Insert the network, choosing another free segment if a concurrent create took it."""
    kind, physnet, given = (fields["network_type"], fields["physical_network"],
                            fields["segmentation_id"])
    for _ in range(_ALLOCATION_TRIES):
        seg = given
        if seg is None and kind in SEGMENT_RANGE:
            seg = _free_segment(session, kind, physnet)
        key = f"{kind}:{physnet or ''}:{seg if seg is not None else ''}"
        net = Network(**{**fields, "segmentation_id": seg, "segment_key": key})
        try:
            with session.begin_nested():
                session.add(net)
                session.flush()
            return net
        except IntegrityError:
            if given is not None or kind == "flat":
                raise _in_use(kind, physnet, seg) from None
    raise NoNetworkAvailable()


def create(session: Session, ctx: RequestContext, attrs: dict[str, Any]) -> Network:
    """Create a network. Raises InvalidInput, SegmentationIdInUse, OverQuota."""
    quotas.check(session, attrs["project_id"], "network")
    kind, physnet, seg = _segment(attrs)
    mtu = attrs.get("mtu")
    if mtu is not None and mtu > MTU[kind]:
        raise InvalidInput(f"Requested MTU is too big, maximum is {MTU[kind]}")
    return _insert(session, {
        "project_id": attrs["project_id"], "name": attrs["name"],
        "description": attrs["description"], "admin_state_up": attrs["admin_state_up"],
        "shared": attrs["shared"], "external": attrs["router:external"],
        "mtu": mtu or MTU[kind], "network_type": kind, "physical_network": physnet,
        "segmentation_id": seg, "port_security_enabled": attrs["port_security_enabled"],
        "tags": []})


def update(session: Session, ctx: RequestContext, net_id: str, attrs: dict[str, Any]
           ) -> Network:
    net = owned(session, ctx, net_id, "update_network")
    if attrs.get("mtu") is not None and attrs["mtu"] > MTU[net.network_type]:
        raise InvalidInput(f"Requested MTU is too big, maximum is {MTU[net.network_type]}")
    if attrs.get("shared") is False and net.shared and _others_use(session, net):
        raise InvalidInput(f"Unable to reconfigure sharing settings for network {net.id}. "
                           "Multiple tenants are using it")
    columns = {"name": "name", "description": "description", "mtu": "mtu",
               "admin_state_up": "admin_state_up", "shared": "shared",
               "router:external": "external", "port_security_enabled": "port_security_enabled"}
    for key, column in columns.items():
        if key in attrs and attrs[key] is not None:
            setattr(net, column, attrs[key])
    touch(net)
    session.flush()
    return net


def _others_use(session: Session, net: Network) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Port).where(
        Port.network_id == net.id, Port.project_id != net.project_id)) != 0


def delete(session: Session, ctx: RequestContext, net_id: str) -> None:
    """Delete a network, its subnets and its unassociated floating IPs. Raises
    NetworkInUse while other ports use it."""
    net = owned(session, ctx, net_id, "delete_network")
    _drop_unassociated_floating_ips(session, net)
    busy = session.scalar(sa.select(sa.func.count()).select_from(Port).where(
        Port.network_id == net.id, Port.device_owner.not_in(NETWORK_OWNED)))
    if busy:
        raise NetworkInUse(str(net.id))
    session.execute(sa.delete(IpAllocation).where(IpAllocation.network_id == net.id))
    session.execute(sa.delete(Port).where(Port.network_id == net.id))
    session.execute(sa.delete(Subnet).where(Subnet.network_id == net.id))
    session.delete(net)
    session.flush()


def _drop_unassociated_floating_ips(session: Session, net: Network) -> None:
    """Neutron deletes the floating IPs of a network being deleted that no port uses (in
    the same transaction here: a refused delete keeps them); their own ports go too, so
    they do not hold the network in use. Associated ones keep it in use."""
    fips = session.scalars(sa.select(FloatingIP).where(
        FloatingIP.floating_network_id == net.id, FloatingIP.fixed_port_id.is_(None))).all()
    port_ids = [f.floating_port_id for f in fips]
    if not port_ids:
        return
    for fip in fips:
        session.delete(fip)
    session.flush()
    session.execute(sa.delete(IpAllocation).where(IpAllocation.port_id.in_(port_ids)))
    session.execute(sa.delete(Port).where(Port.id.in_(port_ids)))


def views(session: Session, ctx: RequestContext, nets: Sequence[Network]
          ) -> list[dict[str, Any]]:
    subnets: dict[Any, list[str]] = {}
    if nets:
        rows = session.execute(sa.select(Subnet.network_id, Subnet.id).where(
            Subnet.network_id.in_([n.id for n in nets])).order_by(Subnet.created_at))
        for net_id, subnet_id in rows:
            subnets.setdefault(net_id, []).append(str(subnet_id))
    provider = policy.allowed(ctx, "get_network:provider:network_type")
    return [_view(n, subnets.get(n.id, []), provider) for n in nets]


def _view(net: Network, subnets: list[str], provider: bool) -> dict[str, Any]:
    out = {**standard(net), "name": net.name, "description": net.description,
           "admin_state_up": net.admin_state_up, "status": net.status, "shared": net.shared,
           "router:external": net.external, "mtu": net.mtu, "subnets": subnets,
           "port_security_enabled": net.port_security_enabled,
           "availability_zone_hints": [], "availability_zones": ["nova"],
           "ipv4_address_scope": None, "ipv6_address_scope": None, "l2_adjacency": True}
    if provider:
        out.update({"provider:network_type": net.network_type,
                    "provider:physical_network": net.physical_network,
                    "provider:segmentation_id": net.segmentation_id})
    return out
