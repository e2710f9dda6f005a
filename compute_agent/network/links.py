"""Layer 2: a bridge per network, its uplink (physical interface, VLAN or VXLAN device),
the VXLAN forwarding entries, and the guests' taps plugged into their bridges."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from common.errors import ConfigError
from common.messages import HostNetwork
from compute_agent.network import names
from compute_agent.network.runner import Runner

LOG = logging.getLogger(__name__)

VXLAN_PORT = 4789
ZERO_MAC = "00:00:00:00:00:00"


@dataclass
class Link:
    name: str
    kind: str
    master: str | None
    owned: bool
    up: bool
    mtu: int
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def list_links(runner: Runner, namespace: str | None = None) -> dict[str, Link]:
    found = runner.json(["ip", "-d", "-j", "link", "show"], namespace=namespace)
    links = {}
    for entry in found:
        kind = entry.get("linkinfo", {}).get("info_kind", "")
        links[entry["ifname"]] = Link(
            name=entry["ifname"], kind=kind, master=entry.get("master"),
            owned=entry.get("ifalias") == names.OWNER_ALIAS,
            up="UP" in entry.get("flags", []), mtu=int(entry.get("mtu", 0)), raw=entry)
    return links


class Layer2:
    """Bridges and uplinks in the root namespace of the data plane."""

    def __init__(self, runner: Runner, physical_interfaces: dict[str, str],
                 local_ip: str | None) -> None:
        self._runner = runner
        self._physical = physical_interfaces
        self._local_ip = local_ip

    def _add(self, links: dict[str, Link], name: str, *spec: str) -> None:
        if name in links:
            return
        self._runner.ip("link", "add", *spec)
        self._runner.ip("link", "set", name, "alias", names.OWNER_ALIAS)
        links[name] = Link(name, "", None, True, False, 0)

    def _attach(self, links: dict[str, Link], name: str, bridge: str,
                mtu: int | None = None) -> None:
        link = links[name]
        if link.master != bridge:
            self._runner.ip("link", "set", name, "master", bridge)
        if mtu is not None and link.mtu != mtu:
            self._runner.ip("link", "set", name, "mtu", str(mtu))
        if not link.up:
            self._runner.ip("link", "set", name, "up")

    def uplink(self, network: HostNetwork) -> str | None:
        """The device joining the network's bridge to other hosts, if any."""
        if network.type == "vxlan" and network.segmentation_id is not None:
            return names.vxlan(network.segmentation_id)
        if network.type in ("flat", "vlan"):
            physical = self._physical.get(network.physical_network or "")
            if physical is None:
                return None
            if network.type == "flat":
                return physical
            if network.segmentation_id is None:
                return None
            return names.vlan(physical, network.segmentation_id)
        return None

    def ensure_network(self, network: HostNetwork, links: dict[str, Link]) -> set[str]:
        """The bridge and uplink of one network; answers the devices it owns."""
        bridge = names.bridge(network.id)
        self._add(links, bridge, "name", bridge, "type", "bridge",
                  "nf_call_iptables", "1", "nf_call_ip6tables", "1")
        if not links[bridge].up:
            self._runner.ip("link", "set", bridge, "up")
        owned = {bridge}
        uplink = self.uplink(network)
        if uplink is None:
            if network.type != "vxlan" and network.physical_network:
                LOG.warning("network %s: physical network %r has no interface mapped on "
                            "this host", network.id, network.physical_network)
            return owned
        if network.type == "vxlan":
            if self._local_ip is None:
                raise ConfigError("[network] local_ip is needed for vxlan networks")
            self._add(links, uplink, "name", uplink, "type", "vxlan",
                      "id", str(network.segmentation_id), "dstport", str(VXLAN_PORT),
                      "local", self._local_ip, "nolearning")
            owned.add(uplink)
            self._attach(links, uplink, bridge, network.mtu)
        elif network.type == "vlan":
            physical = self._physical[network.physical_network or ""]
            self._add(links, uplink, "link", physical, "name", uplink, "type", "vlan",
                      "id", str(network.segmentation_id))
            owned.add(uplink)
            self._attach(links, uplink, bridge)
        else:
            self._attach(links, uplink, bridge)
        return owned

    def plug(self, tap: str, bridge: str, mtu: int, links: dict[str, Link]) -> bool:
        """Plug a guest's tap into its bridge; False when the tap does not exist (yet)."""
        if tap not in links:
            return False
        self._attach(links, tap, bridge, mtu)
        return True

    def sync_fdb(self, vxlan: str, wanted: set[tuple[str, str]]) -> None:
        """Make the VXLAN device's forwarding entries exactly ``wanted`` (mac, vtep):
        the all-zero MAC once per remote host (head-end replication of broadcasts and
        unknown unicast), and the known MACs of remote ports."""
        found = self._runner.json(["bridge", "-j", "fdb", "show", "dev", vxlan])
        have = {(e["mac"].lower(), e["dst"]) for e in found if "dst" in e}
        for mac, dst in sorted(have - wanted):
            self._runner.run(["bridge", "fdb", "del", mac, "dev", vxlan, "dst", dst])
        for mac, dst in sorted(wanted - have):
            verb = "append" if mac == ZERO_MAC else "replace"
            self._runner.run(["bridge", "fdb", verb, mac, "dev", vxlan, "dst", dst,
                              "self", "permanent"])

    def remove_unwanted(self, links: dict[str, Link], wanted: set[str]) -> None:
        """Delete every device the data plane made that is no longer wanted; unplug
        (and leave to their hypervisor) taps of ports that are gone."""
        for link in links.values():
            if link.owned and link.name not in wanted:
                self._runner.ip("link", "del", link.name, check=False)
        for link in links.values():
            if (link.name.startswith(names.TAP_PREFIX) and not link.owned
                    and link.name not in wanted and link.master is not None
                    and link.master.startswith(names.BRIDGE_PREFIX)):
                self._runner.ip("link", "set", link.name, "nomaster", check=False)
