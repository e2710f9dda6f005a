"""Security group rules: Neutron's checks of protocol, ports and remotes."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.compute_db.network_models import SecurityGroup, SecurityGroupRule
from common.context import RequestContext
from common.errors import BadRequest
from compute_api.network import quotas
from compute_api.network.common import fetch, iso, owns, sees_all
from compute_api.network.faults import (
    SecurityGroupNotFound,
    SecurityGroupRuleExists,
    SecurityGroupRuleNotFound,
)

PROTOCOLS = {"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1,
             "igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58,
             "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89,
             "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
             "vrrp": 112}
PORT_PROTOCOLS = {6, 17, 33, 132, 136}
ICMP_PROTOCOLS = {1, 58}


def _bad(neutron_type: str, message: str) -> BadRequest:
    exc = BadRequest(message)
    exc.neutron_type = neutron_type  # type: ignore[attr-defined]
    return exc


def protocol_number(protocol: str | None) -> int | None:
    """The IP protocol number of a name or number; None for any. Raises BadRequest."""
    if protocol is None or protocol.lower() == "any":
        return None
    if protocol.lower() in PROTOCOLS:
        return PROTOCOLS[protocol.lower()]
    if protocol.isdigit() and 0 <= int(protocol) <= 255:
        return int(protocol)
    raise _bad("SecurityGroupRuleInvalidProtocol",
               f"Security group rule protocol {protocol} not supported. Only protocol values "
               f"{sorted(PROTOCOLS)} and integer representations [0 to 255] are supported.")


def _check_ports(number: int | None, protocol: str | None, low: int | None,
                 high: int | None) -> None:
    if low is None and high is None:
        return
    if number is None:
        raise _bad("SecurityGroupProtocolRequiredWithPorts",
                   "Must also specify protocol if port range is given.")
    if number in PORT_PROTOCOLS:
        if low is None or high is None or low > high:
            raise _bad("SecurityGroupInvalidPortRange",
                       "For TCP/UDP protocols, port_range_min must be <= port_range_max")
        if low == 0 or high == 0:
            raise _bad("SecurityGroupInvalidPortValue", "Invalid value for port 0")
    elif number in ICMP_PROTOCOLS:
        for field, attr, value in (("type", "port_range_min", low),
                                   ("code", "port_range_max", high)):
            if value is not None and not 0 <= value <= 255:
                raise _bad("SecurityGroupInvalidIcmpValue",
                           f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 "
                           "to 255.")
        if low is None:
            raise _bad("SecurityGroupMissingIcmpType",
                       f"ICMP code (port-range-max) {high} is provided but ICMP type "
                       "(port-range-min) is missing.")
    else:
        raise _bad("SecurityGroupInvalidProtocolForPortRange",
                   f"Ports cannot be specified for protocol {protocol}.")


def _check_remote(attrs: dict[str, Any]) -> None:
    prefix = attrs.get("remote_ip_prefix")
    if prefix is not None and attrs.get("remote_group_id") is not None:
        raise _bad("SecurityGroupRemoteGroupAndRemoteIpPrefix",
                   "Only remote_ip_prefix or remote_group_id may be provided.")
    if prefix is not None:
        version = ipaddress.ip_network(prefix, strict=False).version
        if f"IPv{version}" != attrs["ethertype"]:
            raise _bad("SecurityGroupRuleParameterConflict",
                       f"Conflicting value ethertype {attrs['ethertype']} for CIDR {prefix}")


def _normalized(prefix: str | None) -> str | None:
    return None if prefix is None else str(ipaddress.ip_network(prefix, strict=False))


def _key(rule: SecurityGroupRule) -> tuple[Any, ...]:
    return (rule.direction, rule.ethertype, protocol_number(rule.protocol),
            rule.port_range_min, rule.port_range_max, _normalized(rule.remote_ip_prefix),
            rule.remote_group_id)


def create(session: Session, ctx: RequestContext, attrs: dict[str, Any]) -> SecurityGroupRule:
    """Create a rule. Raises SecurityGroupNotFound, BadRequest, SecurityGroupRuleExists."""
    group = fetch(session, SecurityGroup, attrs["security_group_id"],
                  lambda g: owns(ctx, g.project_id), SecurityGroupNotFound)
    number = protocol_number(attrs.get("protocol"))
    _check_ports(number, attrs.get("protocol"), attrs["port_range_min"],
                 attrs["port_range_max"])
    _check_remote(attrs)
    remote = attrs.get("remote_group_id")
    remote_group = None if remote is None else fetch(
        session, SecurityGroup, remote, lambda g: owns(ctx, g.project_id),
        SecurityGroupNotFound)
    protocol = attrs.get("protocol")
    rule = SecurityGroupRule(
        project_id=attrs["project_id"], security_group_id=group.id,
        direction=attrs["direction"], ethertype=attrs["ethertype"],
        protocol=None if protocol is None or protocol.lower() == "any" else protocol,
        port_range_min=attrs["port_range_min"], port_range_max=attrs["port_range_max"],
        remote_ip_prefix=attrs.get("remote_ip_prefix"),
        remote_group_id=remote_group.id if remote_group is not None else None,
        description=attrs["description"])
    for existing in session.scalars(sa.select(SecurityGroupRule).where(
            SecurityGroupRule.security_group_id == group.id)):
        if _key(existing) == _key(rule):
            raise SecurityGroupRuleExists(str(existing.id))
    quotas.check(session, attrs["project_id"], "security_group_rule")
    session.add(rule)
    session.flush()
    return rule


def get(session: Session, ctx: RequestContext, rule_id: Any) -> SecurityGroupRule:
    return fetch(session, SecurityGroupRule, rule_id, lambda r: owns(ctx, r.project_id),
                 SecurityGroupRuleNotFound)


def list_visible(session: Session, ctx: RequestContext) -> Sequence[SecurityGroupRule]:
    stmt = sa.select(SecurityGroupRule).order_by(SecurityGroupRule.created_at,
                                                 SecurityGroupRule.id)
    if not sees_all(ctx):
        stmt = stmt.where(SecurityGroupRule.project_id == ctx.project_id)
    return session.scalars(stmt).all()


def update(session: Session, ctx: RequestContext, rule_id: str, attrs: dict[str, Any]
           ) -> SecurityGroupRule:
    rule = get(session, ctx, rule_id)
    if "description" in attrs:
        rule.description = attrs["description"]
    session.flush()
    return rule


def delete(session: Session, ctx: RequestContext, rule_id: str) -> None:
    session.delete(get(session, ctx, rule_id))
    session.flush()


def rule_view(rule: SecurityGroupRule) -> dict[str, Any]:
    return {"id": str(rule.id), "tenant_id": rule.project_id, "project_id": rule.project_id,
            "security_group_id": str(rule.security_group_id), "direction": rule.direction,
            "ethertype": rule.ethertype, "protocol": rule.protocol,
            "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
            "remote_ip_prefix": rule.remote_ip_prefix,
            "normalized_cidr": _normalized(rule.remote_ip_prefix),
            "remote_group_id": str(rule.remote_group_id) if rule.remote_group_id else None,
            "remote_address_group_id": None, "description": rule.description,
            "created_at": iso(rule.created_at), "updated_at": iso(rule.updated_at),
            "revision_number": rule.revision_number}
