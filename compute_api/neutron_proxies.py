"""The compute API's proxies of the network API (before 2.36) with an external Neutron
(``[network] backend = neutron``), as Nova proxies them: os-security-groups,
os-security-group-rules, os-floating-ips, os-networks and os-tenant-networks.

The requests are validated as ``compute_api/network_proxies.py`` (and
``compute_api/api/networks.py``) validate them, answered in the same shapes and with the
same errors; only the data comes from Neutron. Everything is asked with the caller's
token, so Neutron decides what the caller sees and may change (a group or floating IP of
another project is "not found"), as Nova does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from common import validation
from common.context import RequestContext
from common.errors import BadRequest, Conflict, NotFound
from common.neutron import NeutronClient
from compute_api.images.source import callers_token
from compute_api.network_proxies import (
    RULE_BODY,
    _cidr,
    _group_fields,
    _group_id,
    _port,
    _ports,
    only_pool,
    requested_pool,
)
from compute_api.neutron_network_actions import group_view

DEFAULT = "default"
# Ids per list query (repeated ``id=`` filters keep URLs short).
_IDS_PER_QUERY = 50


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _by_ids(neutron: NeutronClient, collection: str, ids: Iterable[str]
            ) -> list[dict[str, Any]]:
    """Resources of a collection by id, as the caller sees them."""
    wanted = sorted(set(ids))
    out: list[dict[str, Any]] = []
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        answer = neutron.call("GET", f"/{collection}", token=callers_token(), query=[
            ("id", i) for i in wanted[start:start + _IDS_PER_QUERY]])
        out.extend(answer.get(collection.replace("-", "_"), []))
    return out


def _oldest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: (str(i.get("created_at") or ""), str(i["id"])))


# --- security groups -------------------------------------------------------------------


def _own_group(neutron: NeutronClient, group_id: str) -> dict[str, Any]:
    """The group ``group_id`` if the caller may see it. Raises NotFound."""
    if not _is_uuid(group_id):
        raise NotFound(f"Security group {group_id} not found.")
    try:
        group: dict[str, Any] = neutron.call("GET", f"/security-groups/{group_id}",
                                             token=callers_token())["security_group"]
    except NotFound:
        raise NotFound(f"Security group {group_id} not found.") from None
    return group


def _remote_names(neutron: NeutronClient, groups: list[dict[str, Any]]) -> dict[str, str]:
    """The names of the groups the groups' ingress rules refer to (the caller's view:
    a group it may not see is named "", as the built-in path names a missing one)."""
    known = {g["id"]: str(g.get("name", "")) for g in groups}
    wanted = {r["remote_group_id"] for g in groups for r in g.get("security_group_rules", [])
              if r.get("direction") == "ingress" and r.get("remote_group_id")}
    missing = wanted - set(known)
    if missing:
        known.update({g["id"]: str(g.get("name", ""))
                      for g in _by_ids(neutron, "security-groups", missing)})
    return known


def _views(neutron: NeutronClient, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = _remote_names(neutron, groups)
    return [group_view(g, names) for g in groups]


def list_groups(neutron: NeutronClient, ctx: RequestContext, all_projects: bool
                ) -> list[dict[str, Any]]:
    """The project's groups (every project's for an admin asking for all)."""
    query = [] if all_projects and ctx.is_admin else [("project_id", ctx.project_id or "")]
    groups = neutron.call("GET", "/security-groups", token=callers_token(),
                          query=query)["security_groups"]
    return _views(neutron, _oldest_first(list(groups)))


def show_group(neutron: NeutronClient, group_id: str) -> dict[str, Any]:
    return _views(neutron, [_own_group(neutron, group_id)])[0]


def create_group(neutron: NeutronClient, body: Any) -> dict[str, Any]:
    """Raises BadRequest (body, the name "default"), QuotaExceeded."""
    fields = _group_fields(body)
    if fields["name"] == DEFAULT:
        raise BadRequest("Security group name 'default' is reserved for the project's "
                         "default group.")
    try:
        group = neutron.call("POST", "/security-groups", {"security_group": fields},
                             token=callers_token())["security_group"]
    except (BadRequest, Conflict) as exc:
        raise BadRequest(exc.message) from None
    return _views(neutron, [group])[0]


def update_group(neutron: NeutronClient, group_id: str, body: Any) -> dict[str, Any]:
    """Raises BadRequest (body, renaming the default group), NotFound."""
    fields = _group_fields(body)
    group = _own_group(neutron, group_id)
    if fields["name"] == DEFAULT and group.get("name") != DEFAULT:
        raise BadRequest("Security group name 'default' is reserved for the project's "
                         "default group.")
    # The name only when it changes: Neutron refuses "default" even for its own group.
    change = {k: v for k, v in fields.items() if k != "name" or v != group.get("name")}
    try:
        group = neutron.call("PUT", f"/security-groups/{group['id']}",
                             {"security_group": change}, token=callers_token())["security_group"]
    except NotFound:
        raise NotFound(f"Security group {group_id} not found.") from None
    except (BadRequest, Conflict) as exc:
        raise BadRequest(exc.message) from None
    return _views(neutron, [group])[0]


def delete_group(neutron: NeutronClient, group_id: str) -> None:
    """Raises NotFound, BadRequest (the default group, a group in use)."""
    group = _own_group(neutron, group_id)
    # Neutron reserves the name "default" for the project's default group.
    if group.get("name") == DEFAULT:
        raise BadRequest("Removing the default security group is not allowed.")
    try:
        neutron.call("DELETE", f"/security-groups/{group['id']}", token=callers_token())
    except NotFound:
        raise NotFound(f"Security group {group_id} not found.") from None
    except (BadRequest, Conflict) as exc:
        raise BadRequest(exc.message) from None


# --- security group rules --------------------------------------------------------------


def create_rule(neutron: NeutronClient, ctx: RequestContext, body: Any) -> dict[str, Any]:
    """An ingress IPv4 rule. Raises BadRequest (body, duplicate), NotFound (group)."""
    validation.check(RULE_BODY, body)
    data = body["security_group_rule"]
    raw = data.get("ip_protocol")
    protocol = None if raw is None or raw == "" else str(raw).lower()
    if protocol not in (None, "tcp", "udp", "icmp"):
        raise BadRequest(f"Invalid IP protocol {validation.shorten(str(raw))}.")
    low, high = _ports(protocol, _port(data.get("from_port"), "from_port"),
                       _port(data.get("to_port"), "to_port"))
    parent = _own_group(neutron, _group_id(data["parent_group_id"], "parent_group_id"))
    remote_id = data.get("group_id")
    remote = None if remote_id in (None, "") else _own_group(
        neutron, _group_id(remote_id, "group_id"))
    if remote is not None and data.get("cidr"):
        raise BadRequest("A rule takes a cidr or a group_id, not both.")
    cidr = None if remote is not None else _cidr(data.get("cidr") or "0.0.0.0/0")
    item: dict[str, Any] = {
        "security_group_id": parent["id"], "direction": "ingress", "ethertype": "IPv4",
        "protocol": protocol, "port_range_min": low, "port_range_max": high,
        "remote_ip_prefix": cidr, "remote_group_id": None if remote is None else remote["id"]}
    owner = parent.get("project_id") or parent.get("tenant_id")
    if owner and owner != ctx.project_id:
        item["project_id"] = owner  # an admin's rule in another project's group
    try:
        rule = neutron.call("POST", "/security-group-rules", {"security_group_rule": item},
                            token=callers_token())["security_group_rule"]
    except Conflict:
        raise BadRequest(f"This rule already exists in group {parent['id']}") from None
    except NotFound:
        raise NotFound(f"Security group {parent['id']} not found.") from None
    except BadRequest as exc:
        raise BadRequest(exc.message) from None
    names = {parent["id"]: str(parent.get("name", ""))}
    if remote is not None:
        names[remote["id"]] = str(remote.get("name", ""))
    view: dict[str, Any] = group_view({**parent, "security_group_rules": [rule]},
                                      names)["rules"][0]
    return view


def delete_rule(neutron: NeutronClient, rule_id: str) -> None:
    """Raises NotFound."""
    if not _is_uuid(rule_id):
        raise NotFound(f"Security group rule {rule_id} not found.")
    try:
        neutron.call("DELETE", f"/security-group-rules/{rule_id}", token=callers_token())
    except NotFound:
        raise NotFound(f"Security group rule {rule_id} not found.") from None


# --- floating IPs ----------------------------------------------------------------------


def _fip_views(neutron: NeutronClient, fips: list[dict[str, Any]]) -> list[dict[str, Any]]:
    nets = {f["floating_network_id"] for f in fips if f.get("floating_network_id")}
    pools = {n["id"]: str(n.get("name", "")) for n in _by_ids(neutron, "networks", nets)
             } if nets else {}
    port_ids = {f["port_id"] for f in fips if f.get("port_id")}
    devices = {p["id"]: str(p.get("device_id") or "") for p in _by_ids(
        neutron, "ports", port_ids)} if port_ids else {}
    return [{"id": f["id"], "ip": f["floating_ip_address"],
             "fixed_ip": f.get("fixed_ip_address") if f.get("port_id") else None,
             "instance_id": (devices.get(f["port_id"]) or None) if f.get("port_id") else None,
             "pool": pools.get(f.get("floating_network_id") or "", "")} for f in fips]


def list_floating_ips(neutron: NeutronClient, ctx: RequestContext) -> list[dict[str, Any]]:
    """The project's floating IPs (an admin's too: upstream's proxy listed the caller's)."""
    fips = neutron.call("GET", "/floatingips", token=callers_token(), query=[
        ("project_id", ctx.project_id or "")])["floatingips"]
    return _fip_views(neutron, _oldest_first(list(fips)))


def _fip(neutron: NeutronClient, fip_id: str) -> dict[str, Any]:
    if not _is_uuid(fip_id):
        raise NotFound(f"Floating IP not found for ID {fip_id}")
    try:
        fip: dict[str, Any] = neutron.call("GET", f"/floatingips/{fip_id}",
                                           token=callers_token())["floatingip"]
    except NotFound:
        raise NotFound(f"Floating IP not found for ID {fip_id}") from None
    return fip


def show_floating_ip(neutron: NeutronClient, fip_id: str) -> dict[str, Any]:
    [view] = _fip_views(neutron, [_fip(neutron, fip_id)])
    return view


def _pool(neutron: NeutronClient, pool: str | None) -> dict[str, Any]:
    """The external network named (or with the id) ``pool``; without one, the only
    external network. Raises NotFound, BadRequest (ambiguous)."""
    external = _oldest_first(list(neutron.call(
        "GET", "/networks", token=callers_token(),
        query=[("router:external", "True")])["networks"]))
    return only_pool([n for n in external if n.get("router:external") and (
        pool is None or pool in (n.get("name"), n["id"]))], pool)


def allocate_floating_ip(neutron: NeutronClient, ctx: RequestContext, body: Any
                         ) -> dict[str, Any]:
    """Raises NotFound (pool), BadRequest (body, ambiguous pool, no address left),
    QuotaExceeded."""
    net = _pool(neutron, requested_pool(body))
    try:
        fip = neutron.call("POST", "/floatingips", {"floatingip": {
            "floating_network_id": net["id"]}}, token=callers_token())["floatingip"]
    except (NotFound, Conflict) as exc:
        raise BadRequest(f"No more floating IPs in pool {net.get('name', '')}: "
                         f"{exc.message}") from None
    except BadRequest as exc:
        raise BadRequest(exc.message) from None
    [view] = _fip_views(neutron, [fip])
    return view


def release_floating_ip(neutron: NeutronClient, fip_id: str) -> None:
    """Raises NotFound."""
    fip = _fip(neutron, fip_id)
    try:
        neutron.call("DELETE", f"/floatingips/{fip['id']}", token=callers_token())
    except NotFound:
        raise NotFound(f"Floating IP not found for ID {fip_id}") from None


# --- networks (os-networks, os-tenant-networks) ----------------------------------------


def list_networks(neutron: NeutronClient) -> list[dict[str, Any]]:
    """The networks the caller sees (its project's, shared and external ones)."""
    nets = neutron.call("GET", "/networks", token=callers_token())["networks"]
    return _oldest_first(list(nets))


def get_network(neutron: NeutronClient, network_id: str) -> dict[str, Any]:
    """Raises NotFound ("Network not found", as the built-in path)."""
    if not _is_uuid(network_id):
        raise NotFound("Network not found")
    try:
        net: dict[str, Any] = neutron.call("GET", f"/networks/{network_id}",
                                           token=callers_token())["network"]
    except NotFound:
        raise NotFound("Network not found") from None
    return net


def tenant_views(neutron: NeutronClient, nets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Upstream's tenant networks: id, label (the name) and the first IPv4 subnet's cidr
    (by cidr text, as the built-in path orders them)."""
    ids = sorted({n["id"] for n in nets})
    subnets: list[dict[str, Any]] = []
    for start in range(0, len(ids), _IDS_PER_QUERY):
        subnets.extend(neutron.call("GET", "/subnets", token=callers_token(), query=[
            ("ip_version", "4"), *(("network_id", i) for i in ids[start:start + _IDS_PER_QUERY])
        ])["subnets"])
    first: dict[str, str] = {}
    for subnet in sorted(subnets, key=lambda s: str(s.get("cidr"))):
        if int(subnet.get("ip_version") or 4) == 4:
            first.setdefault(subnet["network_id"], str(subnet["cidr"]))
    return [{"id": n["id"], "label": n.get("name", ""), "cidr": first.get(n["id"])}
            for n in nets]
