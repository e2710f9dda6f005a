"""Routers: a namespace per router with a leg in each of its networks' bridges, SNAT
and floating IPs in its own nftables ``ip kilonova`` table, forwarding on."""

from __future__ import annotations

import uuid
from typing import Any

from common.messages import HostRouter
from compute_agent.network import names
from compute_agent.network.runner import HOST, Runner

NAT_TABLE = names.TABLE


def nat_script(router: HostRouter) -> str:
    """The router's NAT table, replaced as a whole in one transaction."""
    lines = [f"add table ip {NAT_TABLE}", f"delete table ip {NAT_TABLE}",
             f"add table ip {NAT_TABLE}",
             f"add chain ip {NAT_TABLE} prerouting {{ type nat hook prerouting "
             "priority -100; policy accept; }",
             f"add chain ip {NAT_TABLE} postrouting {{ type nat hook postrouting "
             "priority 100; policy accept; }"]
    gateway = router.gateway
    if gateway is not None:
        out = names.gateway_leg(gateway.port_id)
        for mapping in router.floating:
            lines.append(f"add rule ip {NAT_TABLE} prerouting ip daddr {mapping.floating_ip} "
                         f"dnat to {mapping.fixed_ip}")
            lines.append(f'add rule ip {NAT_TABLE} postrouting oifname "{out}" '
                         f"ip saddr {mapping.fixed_ip} snat to {mapping.floating_ip}")
        if router.snat:
            address = gateway.ip_address.split("/")[0]
            lines.append(f'add rule ip {NAT_TABLE} postrouting oifname "{out}" '
                         f"snat to {address}")
    return "\n".join(lines) + "\n"


class Routers:
    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._prefix = names.namespace_prefix(runner.namespace)
        self._nat: dict[uuid.UUID, str] = {}

    def namespace(self, router_id: uuid.UUID | str) -> str:
        return names.router_namespace(router_id, self._runner.namespace)

    def ensure(self, router: HostRouter, namespaces: set[str], mtu: dict[uuid.UUID, int],
               ) -> set[str]:
        """The router's namespace, legs, addresses, routes and NAT. Answers the host
        ends of its legs (devices of the root namespace it owns)."""
        ns = self.namespace(router.id)
        if ns not in namespaces:
            self._runner.ip("netns", "add", ns, namespace=HOST)
            self._runner.ip("link", "set", "lo", "up", namespace=ns)
        self._runner.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], namespace=ns)
        have = {e["ifname"]: e for e in self._runner.json(["ip", "-j", "addr", "show"],
                                                            namespace=ns)}
        legs: dict[str, tuple[uuid.UUID, uuid.UUID, set[str]]] = {}
        for iface in router.interfaces:
            legs[names.router_leg(iface.port_id)] = (iface.port_id, iface.network_id,
                                                     {iface.ip_address})
        gateway = router.gateway
        if gateway is not None:
            extra = {f"{m.floating_ip}/32" for m in router.floating}
            legs[names.gateway_leg(gateway.port_id)] = (gateway.port_id, gateway.network_id,
                                                        {gateway.ip_address} | extra)
        for name in have.keys() - legs.keys() - {"lo"}:
            self._runner.ip("link", "del", name, namespace=ns, check=False)
        hosts = set()
        for inner, (port_id, network_id, addresses) in legs.items():
            outer = names.tap(port_id)
            hosts.add(outer)
            if inner not in have:
                self._plug(ns, inner, outer, names.bridge(network_id),
                           mtu.get(network_id, 1500))
            self._set_addresses(ns, inner, addresses, have.get(inner))
        if gateway is not None and gateway.next_hop:
            self._runner.ip("route", "replace", "default", "via", gateway.next_hop,
                            "dev", names.gateway_leg(gateway.port_id), namespace=ns)
        script = nat_script(router)
        if self._nat.get(router.id) != script or not self._has_nat(ns):
            self._runner.nft(script, namespace=ns)
            self._nat[router.id] = script
        return hosts

    def _plug(self, ns: str, inner: str, outer: str, bridge: str, mtu: int) -> None:
        self._runner.ip("link", "del", outer, check=False)
        self._runner.ip("link", "add", outer, "mtu", str(mtu), "type", "veth", "peer",
                        "name", inner, "mtu", str(mtu), "netns", ns)
        self._runner.ip("link", "set", outer, "alias", names.OWNER_ALIAS)
        self._runner.ip("link", "set", outer, "master", bridge)
        self._runner.ip("link", "set", outer, "up")
        self._runner.ip("link", "set", inner, "up", namespace=ns)

    def _set_addresses(self, ns: str, inner: str, wanted: set[str],
                       entry: dict[str, Any] | None) -> None:
        info: list[dict[str, Any]] = entry.get("addr_info", []) if entry else []
        have = {f"{a['local']}/{a['prefixlen']}" for a in info if a.get("family") == "inet"}
        for address in sorted(have - wanted):
            self._runner.ip("addr", "del", address, "dev", inner, namespace=ns)
        for address in sorted(wanted - have):
            self._runner.ip("addr", "add", address, "dev", inner, namespace=ns)

    def _has_nat(self, ns: str) -> bool:
        tables = self._runner.run(["nft", "list", "tables"], namespace=ns)
        return f"table ip {NAT_TABLE}" in tables.splitlines()

    def remove_unwanted(self, wanted: set[uuid.UUID], namespaces: set[str]) -> None:
        """Delete the namespaces of routers no longer here (their legs go with them)."""
        own = f"{self._prefix}{names.ROUTER_NS_PREFIX}"
        keep = {str(r) for r in wanted}
        for ns in namespaces:
            if ns.startswith(own) and ns[len(own):] not in keep:
                self._runner.ip("netns", "del", ns, namespace=HOST, check=False)
        for router_id in set(self._nat) - wanted:
            del self._nat[router_id]
