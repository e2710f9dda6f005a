"""Names of everything the data plane makes. Linux device names hold at most 15 chars."""

from __future__ import annotations

import uuid

BRIDGE_PREFIX = "brq"
TAP_PREFIX = "tap"
VXLAN_PREFIX = "vxlan-"
DHCP_LEG_PREFIX = "tdh"
DHCP_NS_LEG_PREFIX = "ns-"
ROUTER_LEG_PREFIX = "qr-"
GATEWAY_LEG_PREFIX = "qg-"
DHCP_NS_PREFIX = "qdhcp-"
ROUTER_NS_PREFIX = "qrouter-"
# Set as the alias (IFLA_IFALIAS) of every device the data plane creates: what carries it
# is ours to remove. Taps are the hypervisor's and never carry it.
OWNER_ALIAS = "kilonova"
# nftables tables (the host's: `inet`/`bridge` kilonova; a router namespace's: `ip`).
TABLE = "kilonova"
MAX_DEVICE_NAME = 15


def _short(ident: uuid.UUID | str) -> str:
    return str(ident)[:11]


def bridge(network_id: uuid.UUID | str) -> str:
    return BRIDGE_PREFIX + _short(network_id)


def tap(port_id: uuid.UUID | str) -> str:
    return TAP_PREFIX + _short(port_id)


def vxlan(vni: int) -> str:
    return f"{VXLAN_PREFIX}{vni}"


def vlan(physical_interface: str, vid: int) -> str:
    name = f"{physical_interface}.{vid}"
    if len(name) > MAX_DEVICE_NAME:
        raise ValueError(f"VLAN device name {name!r} is longer than {MAX_DEVICE_NAME}")
    return name


def dhcp_leg(network_id: uuid.UUID | str) -> str:
    """The host end of the DHCP namespace's veth, in the network's bridge."""
    return DHCP_LEG_PREFIX + _short(network_id)


def dhcp_ns_leg(network_id: uuid.UUID | str) -> str:
    return DHCP_NS_LEG_PREFIX + _short(network_id)


def router_leg(port_id: uuid.UUID | str) -> str:
    """A router interface's end inside the router namespace."""
    return ROUTER_LEG_PREFIX + _short(port_id)


def gateway_leg(port_id: uuid.UUID | str) -> str:
    return GATEWAY_LEG_PREFIX + _short(port_id)


def namespace_prefix(root_namespace: str | None) -> str:
    """What the data plane's own namespaces start with: named after its root namespace,
    so that several data planes (test "hosts") on one machine never share one."""
    return f"{root_namespace}-" if root_namespace else ""


def dhcp_namespace(network_id: uuid.UUID | str, root_namespace: str | None = None) -> str:
    return f"{namespace_prefix(root_namespace)}{DHCP_NS_PREFIX}{network_id}"


def router_namespace(router_id: uuid.UUID | str, root_namespace: str | None = None) -> str:
    return f"{namespace_prefix(root_namespace)}{ROUTER_NS_PREFIX}{router_id}"
