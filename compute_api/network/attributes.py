"""Each resource's attributes as Neutron declares them, and the body parser using them.

Per attribute: may a POST / a PUT set it, its validator, its default on create (absent:
required), and, for admin-only attributes, the policy rule suffix a write is checked
against (``create_network:provider:network_type``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common import policy
from common.context import RequestContext
from common.errors import BadRequest
from compute_api.network import validators as v

REQUIRED = object()
# "Not given": the domain chooses (a subnet's gateway, its pools).
AUTO = object()


@dataclass(frozen=True)
class Attr:
    post: bool = True
    put: bool = True
    check: v.Validator = v.anything
    default: Any = None
    admin_rule: str | None = None  # the policy rule suffix that guards writes


@dataclass(frozen=True)
class Resource:
    singular: str
    plural: str
    attrs: Mapping[str, Attr] = field(default_factory=dict)


def _common(**attrs: Attr) -> dict[str, Attr]:
    return {
        "id": Attr(post=False, put=False),
        "name": Attr(check=v.string(255), default=""),
        "description": Attr(check=v.string(255), default=""),
        "project_id": Attr(put=False, check=v.string(255), default=REQUIRED),
        "tenant_id": Attr(put=False, check=v.string(255), default=REQUIRED),
        "created_at": Attr(post=False, put=False),
        "updated_at": Attr(post=False, put=False),
        "revision_number": Attr(post=False, put=False),
        "tags": Attr(post=False, put=False),
        **attrs,
    }


NETWORK = Resource("network", "networks", _common(
    admin_state_up=Attr(check=v.to_boolean, default=True),
    status=Attr(post=False, put=False),
    subnets=Attr(post=False, put=False),
    shared=Attr(check=v.to_boolean, default=False, admin_rule="shared"),
    mtu=Attr(check=v.integer(68, 9216), default=None),
    port_security_enabled=Attr(check=v.to_boolean, default=True),
    **{"router:external": Attr(check=v.to_boolean, default=False,
                               admin_rule="router:external"),
       "provider:network_type": Attr(put=False, check=v.one_of("flat", "vlan", "vxlan"),
                                     default=None, admin_rule="provider:network_type"),
       "provider:physical_network": Attr(put=False, check=v.string(64, nullable=True),
                                         default=None,
                                         admin_rule="provider:physical_network"),
       "provider:segmentation_id": Attr(put=False, check=v.integer(0, 2**24 - 1, True),
                                        default=None, admin_rule="provider:segmentation_id"),
       "availability_zone_hints": Attr(put=False, check=v.string_list, default=[]),
       "availability_zones": Attr(post=False, put=False),
       "ipv4_address_scope": Attr(post=False, put=False),
       "ipv6_address_scope": Attr(post=False, put=False),
       "l2_adjacency": Attr(post=False, put=False)},
))

SUBNET = Resource("subnet", "subnets", _common(
    network_id=Attr(put=False, check=v.uuid_str, default=REQUIRED),
    ip_version=Attr(put=False, check=v.one_of(4, 6), default=REQUIRED),
    cidr=Attr(put=False, check=v.cidr, default=REQUIRED),
    gateway_ip=Attr(check=v.nullable(v.ip_address), default=AUTO),
    allocation_pools=Attr(check=v.pools, default=AUTO),
    dns_nameservers=Attr(check=v.nameservers, default=[]),
    host_routes=Attr(check=v.host_routes, default=[]),
    enable_dhcp=Attr(check=v.to_boolean, default=True),
    ipv6_ra_mode=Attr(put=False, check=v.one_of("slaac", "dhcpv6-stateful",
                                                 "dhcpv6-stateless", nullable=True)),
    ipv6_address_mode=Attr(put=False, check=v.one_of("slaac", "dhcpv6-stateful",
                                                      "dhcpv6-stateless", nullable=True)),
    subnetpool_id=Attr(put=False, check=v.one_of(nullable=True)),
    segment_id=Attr(put=False, check=v.one_of(nullable=True)),
    service_types=Attr(check=v.one_of(nullable=True)),
))

PORT = Resource("port", "ports", _common(
    network_id=Attr(put=False, check=v.uuid_str, default=REQUIRED),
    admin_state_up=Attr(check=v.to_boolean, default=True),
    mac_address=Attr(check=v.mac_address, default=None, admin_rule="mac_address"),
    fixed_ips=Attr(check=v.fixed_ips, default=None),
    device_id=Attr(check=v.string(255), default=""),
    device_owner=Attr(check=v.string(255), default=""),
    status=Attr(post=False, put=False),
    security_groups=Attr(check=v.uuid_list, default=None),
    allowed_address_pairs=Attr(check=v.address_pairs, default=[]),
    port_security_enabled=Attr(check=v.to_boolean, default=None),
    **{"binding:host_id": Attr(check=v.string(255), default="",
                               admin_rule="binding:host_id"),
       "binding:vnic_type": Attr(check=v.one_of("normal", "direct", "macvtap", "baremetal",
                                                "direct-physical", "virtio-forwarder",
                                                "smart-nic", "remote-managed"),
                                 default="normal", admin_rule="binding:vnic_type"),
       "binding:profile": Attr(check=v.mapping, default={}, admin_rule="binding:profile"),
       "binding:vif_type": Attr(post=False, put=False),
       "binding:vif_details": Attr(post=False, put=False)},
))

SECURITY_GROUP = Resource("security_group", "security_groups", _common(
    name=Attr(check=v.name_not_default, default=""),
    stateful=Attr(check=v.to_boolean, default=True),
    security_group_rules=Attr(post=False, put=False),
))

SECURITY_GROUP_RULE = Resource("security_group_rule", "security_group_rules", {
    **{k: a for k, a in _common().items() if k != "name"},
    "description": Attr(check=v.string(255), default="", put=True),
    "security_group_id": Attr(put=False, check=v.uuid_str, default=REQUIRED),
    "direction": Attr(put=False, check=v.one_of("ingress", "egress"), default=REQUIRED),
    "ethertype": Attr(put=False, check=v.one_of("IPv4", "IPv6"), default="IPv4"),
    "protocol": Attr(put=False, check=v.protocol, default=None),
    "port_range_min": Attr(put=False, check=v.port_number, default=None),
    "port_range_max": Attr(put=False, check=v.port_number, default=None),
    "remote_ip_prefix": Attr(put=False, check=v.nullable(v.ip_or_cidr_as_given), default=None),
    "remote_group_id": Attr(put=False, check=v.any_id, default=None),
    "remote_address_group_id": Attr(put=False, check=v.one_of(nullable=True)),
    "normalized_cidr": Attr(post=False, put=False),
})


def _known(resource: Resource, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRequest(f"Body contains invalid data: {resource.singular} must be an object")
    unknown = sorted(k for k in item if k not in resource.attrs)
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    return item


def items_of(resource: Resource, body: Any, bulk: bool) -> tuple[list[Any], bool]:
    """The items of a POST body (one, or many with ``bulk``) and whether it was bulk."""
    if isinstance(body, dict) and bulk and resource.plural in body and len(body) == 1:
        items = body[resource.plural]
        if not isinstance(items, list) or not items:
            raise BadRequest(f"Resources required: {resource.plural} must be a non-empty list")
        return items, True
    if not isinstance(body, dict) or resource.singular not in body:
        raise BadRequest(f"Unable to find '{resource.singular}' in request body")
    return [body[resource.singular]], False


def for_create(resource: Resource, item: Any, ctx: RequestContext) -> dict[str, Any]:
    """The validated attributes of one item to create, defaults filled in. Raises
    BadRequest, PolicyForbidden (an admin-only attribute)."""
    item = _known(resource, item)
    out: dict[str, Any] = {}
    for name, value in item.items():
        attr = resource.attrs[name]
        if not attr.post:
            raise BadRequest(f"Attribute '{name}' not allowed in POST")
        out[name] = attr.check(name, value)
        # As Neutron: only a value other than the default counts as set.
        if attr.admin_rule and out[name] != attr.default:
            policy.authorize(ctx, f"create_{resource.singular}:{attr.admin_rule}")
    out["project_id"] = _owner(out, ctx)
    out.pop("tenant_id", None)
    for name, attr in resource.attrs.items():
        if name in out or not attr.post or name in ("project_id", "tenant_id"):
            continue
        if attr.default is REQUIRED:
            raise BadRequest(f"Failed to parse request. Required attribute '{name}' not "
                             "specified")
        out[name] = attr.default
    return out


def _owner(attrs: dict[str, Any], ctx: RequestContext) -> str:
    asked = {attrs[k] for k in ("project_id", "tenant_id") if k in attrs}
    if len(asked) > 1:
        raise BadRequest("Both project_id and tenant_id were specified but differ")
    owner = asked.pop() if asked else ctx.project_id
    if owner is None:
        raise BadRequest("Failed to parse request. Required attribute 'project_id' not "
                         "specified")
    if owner != ctx.project_id and not ctx.is_admin:
        raise BadRequest("Specifying 'project_id' or 'tenant_id' other than the "
                         "authenticated project in request requires admin privileges")
    return str(owner)


def for_update(resource: Resource, body: Any, ctx: RequestContext) -> dict[str, Any]:
    """The validated attributes of a PUT body. Raises BadRequest, PolicyForbidden."""
    if not isinstance(body, dict) or resource.singular not in body:
        raise BadRequest(f"Unable to find '{resource.singular}' in request body")
    item = _known(resource, body[resource.singular])
    out: dict[str, Any] = {}
    for name, value in item.items():
        attr = resource.attrs[name]
        if not attr.put:
            raise BadRequest(f"Cannot update read-only attribute {name}")
        out[name] = attr.check(name, value)
        if attr.admin_rule:
            policy.authorize(ctx, f"update_{resource.singular}:{attr.admin_rule}")
    return out


def body_schema(resource: Resource, bulk: bool = True) -> dict[str, Any]:
    """The body's JSON Schema as the OpenAPI document shows it (checks are the parser's)."""
    item = {"type": "object", "properties": {name: {} for name in resource.attrs}}
    props: dict[str, Any] = {resource.singular: item}
    if bulk:
        props[resource.plural] = {"type": "array", "items": item}
    return {"type": "object", "properties": props}
