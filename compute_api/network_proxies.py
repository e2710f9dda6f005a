"""The compute API's proxies of the network API (before 2.36): the project's security
groups and their ingress rules (os-security-groups, os-security-group-rules) and its
floating IPs (os-floating-ips), in the shapes and with the errors upstream's proxies gave.

The network API's own domain modules do the work; this module translates the compute
API's bodies into their attributes and their faults into the compute API's errors.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common import validation
from common.compute_db.network_models import FloatingIP, Network, Port, SecurityGroup
from common.context import RequestContext
from common.errors import BadRequest, Conflict, NotFound
from compute_api.network import attributes, floating_ips, rules, security_groups
from compute_api.network.faults import (
    FloatingIPNotFound,
    SecurityGroupNotFound,
    SecurityGroupRuleExists,
    SecurityGroupRuleNotFound,
)
from compute_api.server_network_actions import group_view

# --- security groups -------------------------------------------------------------------

_TEXT = {"type": "string", "minLength": 0, "maxLength": 255}
GROUP_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"security_group": {
        "type": "object",
        "properties": {"name": validation.name(), "description": _TEXT},
        "required": ["name", "description"], "additionalProperties": False}},
    "required": ["security_group"], "additionalProperties": False,
}
_PORT = {"type": ["integer", "string", "null"]}
RULE_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"security_group_rule": {
        "type": "object",
        "properties": {"parent_group_id": {"type": ["string", "integer"]},
                       "ip_protocol": {"type": ["string", "null"]},
                       "from_port": _PORT, "to_port": _PORT,
                       "cidr": {"type": ["string", "null"]},
                       "group_id": {"type": ["string", "integer", "null"]}},
        "required": ["parent_group_id"], "additionalProperties": False}},
    "required": ["security_group_rule"], "additionalProperties": False,
}


def _own_group(session: Session, ctx: RequestContext, group_id: str) -> SecurityGroup:
    """The caller's group ``group_id`` (any, for admins). Raises NotFound."""
    if ctx.project_id:
        security_groups.ensure_default(session, ctx.project_id)
    try:
        return security_groups.get(session, ctx, group_id)
    except SecurityGroupNotFound:
        raise NotFound(f"Security group {group_id} not found.") from None


def list_groups(session: Session, ctx: RequestContext, all_projects: bool
                ) -> list[dict[str, Any]]:
    """The project's groups (every project's for an admin asking for all)."""
    groups = security_groups.list_visible(session, ctx)
    if not (all_projects and ctx.is_admin):
        groups = [g for g in groups if g.project_id == ctx.project_id]
    return [group_view(session, g) for g in groups]


def show_group(session: Session, ctx: RequestContext, group_id: str) -> dict[str, Any]:
    return group_view(session, _own_group(session, ctx, group_id))


def _group_fields(body: Any) -> dict[str, str]:
    validation.check(GROUP_BODY, body)
    data = body["security_group"]
    name = data["name"]
    if not name.strip():
        raise BadRequest("Security group name must not be empty or blank.")
    # Kept as given, spaces around it included, as upstream keeps it.
    return {"name": name, "description": data["description"]}


def create_group(session: Session, ctx: RequestContext, body: Any) -> dict[str, Any]:
    """Raises BadRequest (body, the name "default"), QuotaExceeded."""
    fields = _group_fields(body)
    if fields["name"] == security_groups.DEFAULT:
        raise BadRequest("Security group name 'default' is reserved for the project's "
                         "default group.")
    attrs = attributes.for_create(attributes.SECURITY_GROUP, fields, ctx)
    return group_view(session, security_groups.create(session, ctx, attrs))


def update_group(session: Session, ctx: RequestContext, group_id: str, body: Any
                 ) -> dict[str, Any]:
    """Raises BadRequest (body, renaming the default group), NotFound."""
    fields = _group_fields(body)
    group = _own_group(session, ctx, group_id)
    if fields["name"] == security_groups.DEFAULT and group.name != security_groups.DEFAULT:
        raise BadRequest("Security group name 'default' is reserved for the project's "
                         "default group.")
    try:
        group = security_groups.update(session, ctx, str(group.id), fields)
    except Conflict as exc:
        raise BadRequest(_text(exc)) from None
    return group_view(session, group)


def delete_group(session: Session, ctx: RequestContext, group_id: str) -> None:
    """Raises NotFound, BadRequest (the default group, a group in use)."""
    group = _own_group(session, ctx, group_id)
    if security_groups.is_default(session, group):
        raise BadRequest("Removing the default security group is not allowed.")
    try:
        security_groups.delete(session, ctx, str(group.id))
    except Conflict as exc:
        raise BadRequest(_text(exc)) from None


# --- security group rules --------------------------------------------------------------


def _port(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{field} must be an integer, not {validation.shorten(str(value))}."
                         ) from None


def _ports(protocol: str | None, low: int | None, high: int | None
           ) -> tuple[int | None, int | None]:
    """The network API's port range of a compute API rule. Raises BadRequest."""
    if protocol is None:
        if low is not None or high is not None:
            raise BadRequest("A port range needs an IP protocol.")
        return None, None
    if low is None or high is None:
        raise BadRequest(f"Invalid port range {low}:{high}. Both ports are required.")
    if protocol == "icmp":
        if not (-1 <= low <= 255 and -1 <= high <= 255):
            raise BadRequest(f"Invalid port range {low}:{high}. ICMP type and code must be "
                             "-1 to 255.")
        if low == -1 and high != -1:
            raise BadRequest(f"Invalid port range {low}:{high}. An ICMP code needs a type.")
        return (None if low == -1 else low), (None if high == -1 else high)
    if not (1 <= low <= 65535 and 1 <= high <= 65535):
        raise BadRequest(f"Invalid port range {low}:{high}. Ports must be 1 to 65535.")
    if low > high:
        raise BadRequest(f"Invalid port range {low}:{high}. The first port must not be "
                         "greater than the last.")
    return low, high


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise BadRequest(f"Invalid cidr {validation.shorten(value)}.") from None
    if net.version != 4:
        raise BadRequest(f"Invalid cidr {value}: only IPv4 rules are served here.")
    return value  # as given, as upstream shows it (10.2.3.124/24 stays so)


def _group_id(value: Any, field: str) -> str:
    """A rule's group reference: a uuid, or 400 as upstream answers (not 404)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise BadRequest(f"Invalid {field}: security group id should be uuid "
                         f"({validation.shorten(str(value))}).") from None


def create_rule(session: Session, ctx: RequestContext, body: Any) -> dict[str, Any]:
    """An ingress IPv4 rule. Raises BadRequest (body, duplicate), NotFound (group)."""
    validation.check(RULE_BODY, body)
    data = body["security_group_rule"]
    raw = data.get("ip_protocol")
    protocol = None if raw is None or raw == "" else str(raw).lower()
    if protocol not in (None, "tcp", "udp", "icmp"):
        raise BadRequest(f"Invalid IP protocol {validation.shorten(str(raw))}.")
    low, high = _ports(protocol, _port(data.get("from_port"), "from_port"),
                       _port(data.get("to_port"), "to_port"))
    parent = _own_group(session, ctx, _group_id(data["parent_group_id"], "parent_group_id"))
    remote_id = data.get("group_id")
    remote = None if remote_id in (None, "") else _own_group(
        session, ctx, _group_id(remote_id, "group_id"))
    if remote is not None and data.get("cidr"):
        raise BadRequest("A rule takes a cidr or a group_id, not both.")
    cidr = None if remote is not None else _cidr(data.get("cidr") or "0.0.0.0/0")
    item = {"security_group_id": str(parent.id), "direction": "ingress",
            "ethertype": "IPv4", "protocol": protocol, "port_range_min": low,
            "port_range_max": high, "remote_ip_prefix": cidr,
            "remote_group_id": None if remote is None else str(remote.id)}
    attrs = attributes.for_create(attributes.SECURITY_GROUP_RULE, item, ctx)
    attrs["project_id"] = parent.project_id
    try:
        rule = rules.create(session, ctx, attrs)
    except SecurityGroupRuleExists:
        raise BadRequest(f"This rule already exists in group {parent.id}") from None
    views: list[dict[str, Any]] = group_view(session, parent)["rules"]
    return next(v for v in views if v["id"] == str(rule.id))


def delete_rule(session: Session, ctx: RequestContext, rule_id: str) -> None:
    """Raises NotFound."""
    try:
        rules.delete(session, ctx, rule_id)
    except SecurityGroupRuleNotFound:
        raise NotFound(f"Security group rule {rule_id} not found.") from None


# --- floating IPs ----------------------------------------------------------------------


def _pool_names(session: Session, fips: list[FloatingIP]) -> dict[Any, str]:
    ids = {f.floating_network_id for f in fips}
    if not ids:
        return {}
    rows = session.execute(sa.select(Network.id, Network.name).where(Network.id.in_(ids)))
    return {net_id: name for net_id, name in rows}


def _fip_views(session: Session, fips: list[FloatingIP]) -> list[dict[str, Any]]:
    pools = _pool_names(session, fips)
    fixed_ids = [f.fixed_port_id for f in fips if f.fixed_port_id is not None]
    devices: dict[Any, str] = {}
    if fixed_ids:
        rows = session.execute(sa.select(Port.id, Port.device_id).where(
            Port.id.in_(fixed_ids)))
        devices = {port_id: device for port_id, device in rows}
    return [{"id": str(f.id), "ip": f.floating_ip_address,
             "fixed_ip": f.fixed_ip_address if f.fixed_port_id is not None else None,
             "instance_id": (devices.get(f.fixed_port_id) or None)
             if f.fixed_port_id is not None else None,
             "pool": pools.get(f.floating_network_id, "")} for f in fips]


def list_floating_ips(session: Session, ctx: RequestContext) -> list[dict[str, Any]]:
    """The project's floating IPs (an admin's too: upstream's proxy listed the caller's)."""
    fips = [f for f in floating_ips.list_visible(session, ctx)
            if f.project_id == ctx.project_id]
    return _fip_views(session, fips)


def _fip(session: Session, ctx: RequestContext, fip_id: str) -> FloatingIP:
    try:
        return floating_ips.get(session, ctx, fip_id)
    except FloatingIPNotFound:
        raise NotFound(f"Floating IP not found for ID {fip_id}") from None


def show_floating_ip(session: Session, ctx: RequestContext, fip_id: str) -> dict[str, Any]:
    [view] = _fip_views(session, [_fip(session, ctx, fip_id)])
    return view


_Pool = TypeVar("_Pool")


def _pool(session: Session, pool: str | None) -> Network:
    """The external network named (or with the id) ``pool``; without one, the only
    external network. Raises NotFound, BadRequest (ambiguous)."""
    external = list(session.scalars(sa.select(Network).where(Network.external.is_(True))
                                    .order_by(Network.created_at, Network.id)))
    return only_pool([n for n in external if pool is None or pool in (n.name, str(n.id))],
                     pool)


def only_pool(found: list[_Pool], pool: str | None) -> _Pool:
    """The one external network that ``pool`` names (None: the only one there is).
    Raises NotFound (none), BadRequest (several)."""
    if not found:
        raise NotFound(f"Floating IP pool {pool} not found." if pool is not None
                       else "No floating IP pool is available.")
    if len(found) > 1:
        raise BadRequest(f"Multiple floating IP pools match {pool}." if pool is not None
                         else "Several floating IP pools exist: name one.")
    return found[0]


def requested_pool(body: Any) -> str | None:
    """The ``pool`` an os-floating-ips allocation names. Raises BadRequest (the body)."""
    if body is not None and not isinstance(body, dict):
        raise BadRequest("The request body must be an object.")
    pool = (body or {}).get("pool")
    if pool is not None and not isinstance(pool, str):
        raise BadRequest(f"Invalid input for field/attribute pool. Value: "
                         f"{validation.shorten(str(pool))}.")
    return pool


def allocate_floating_ip(session: Session, ctx: RequestContext, body: Any
                         ) -> dict[str, Any]:
    """Raises NotFound (pool), BadRequest (body, ambiguous pool, no address left),
    QuotaExceeded."""
    net = _pool(session, requested_pool(body))
    attrs = attributes.for_create(floating_ips.FLOATINGIP,
                                  {"floating_network_id": str(net.id)}, ctx)
    try:
        fip = floating_ips.create(session, ctx, attrs)
    except (NotFound, Conflict) as exc:
        raise BadRequest(f"No more floating IPs in pool {net.name}: {_text(exc)}") from None
    [view] = _fip_views(session, [fip])
    return view


def release_floating_ip(session: Session, ctx: RequestContext, fip_id: str) -> None:
    """Raises NotFound."""
    fip = _fip(session, ctx, fip_id)
    floating_ips.delete(session, ctx, str(fip.id))


def _text(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else str(exc)
