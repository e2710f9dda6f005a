"""Security groups and anti-spoofing in nftables, per port, rebuilt atomically.

Conntrack needs the ``inet`` family: bridged IP traffic reaches it through
br_netfilter, where the input and output devices are the bridge, not the taps. So the
``bridge kilonova`` table marks each frame with the tap it came from (low 16 bits) and
the tap it leaves by (high 16 bits), and the ``inet kilonova`` table sends it through
those ports' chains by mark. The anti-spoofing checks (MAC, ARP, source addresses)
need no state and stay in the bridge table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from common.messages import HostPort, SecurityRule
from compute_agent.network import names
from compute_agent.network.runner import Runner

TABLE = names.TABLE
PORT_CHAIN_PREFIXES = ("spoof-", "egress-", "ingress-")
MAX_PORTS = 0xFFFF
# Always allowed: a guest's DHCP client, and IPv6 neighbour discovery.
DHCP_CLIENT = "udp sport 68 udp dport 67"
DHCP_SERVER = "udp sport 67 udp dport 68"
ND_TYPES = "{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, nd-router-solicit }"


def _split(addresses: Iterable[str]) -> tuple[list[str], list[str]]:
    v4: list[str] = []
    v6: list[str] = []
    for address in addresses:
        net = ipaddress.ip_network(address, strict=False)
        (v4 if net.version == 4 else v6).append(str(net) if net.num_addresses > 1
                                                else str(net.network_address))
    return sorted(set(v4)), sorted(set(v6))


def _set(items: Iterable[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def spoof_rules(port: HostPort) -> list[str]:
    """What may leave the tap: the port's MAC and addresses, and its address pairs'."""
    macs = sorted({port.mac.lower()} | {p.mac_address.lower() for p in
                                        port.allowed_address_pairs if p.mac_address})
    v4, v6 = _split([ip.ip_address for ip in port.fixed_ips]
                    + [p.ip_address for p in port.allowed_address_pairs])
    rules = [f"ether saddr != {_set(macs)} drop",
             f"ether type arp arp saddr ether != {_set(macs)} drop"]
    rules.append(f"ether type arp arp saddr ip != {_set(v4)} drop" if v4
                 else "ether type arp drop")
    rules.append(f"ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 {DHCP_CLIENT} "
                 "return")
    rules.append(f"ether type ip ip saddr != {_set(v4)} drop" if v4 else "ether type ip drop")
    rules.append("ether type ip udp sport 67 drop")
    rules.append(f"ether type ip6 ip6 saddr != {_set(['fe80::/64', '::', *v6])} drop")
    rules.append("ether type ip6 icmpv6 type nd-router-advert drop")
    return rules


def _l4(rule: SecurityRule, v6: bool) -> list[str]:
    proto = (rule.protocol or "").lower()
    if proto in ("", "any"):
        return [""]
    if proto in ("icmp", "icmpv6", "ipv6-icmp", "1", "58"):
        kind = "icmpv6" if v6 else "icmp"
        match = f"meta l4proto {'ipv6-icmp' if v6 else 'icmp'}"
        if rule.port_range_min is not None:
            match += f" {kind} type {rule.port_range_min}"
            if rule.port_range_max is not None:
                match += f" {kind} code {rule.port_range_max}"
        return [match]
    match = f"meta l4proto {proto}"
    if rule.port_range_min is not None and proto in ("tcp", "udp", "sctp", "udplite",
                                                     "6", "17", "132", "136"):
        high = rule.port_range_max or rule.port_range_min
        ports = str(rule.port_range_min) if high == rule.port_range_min else \
            f"{rule.port_range_min}-{high}"
        match += f" th dport {ports}"
    return [match]


def render_rule(rule: SecurityRule, verdict: str) -> list[str]:
    """One security group rule as nft rule bodies (none when it can match nothing)."""
    v6 = rule.ethertype.lower() == "ipv6"
    family = "ipv6" if v6 else "ipv4"
    remote = ""
    if rule.remote_prefixes is not None:
        v4s, v6s = _split(rule.remote_prefixes)
        prefixes = v6s if v6 else v4s
        if not prefixes:
            return []
        which = "saddr" if rule.direction == "ingress" else "daddr"
        remote = f" {'ip6' if v6 else 'ip'} {which} {_set(prefixes)}"
    return [" ".join(f"meta nfproto {family}{remote} {l4} {verdict}".split())
            for l4 in _l4(rule, v6)]


def egress_rules(port: HostPort) -> list[str]:
    """From the guest: chains return what is allowed, the dispatcher then checks the
    receiving port's ingress chain (if the other end is a port of this host)."""
    if not port.port_security_enabled:
        return ["return"]
    rules = ["ct state established,related return", "ct state invalid drop",
             f"{DHCP_CLIENT} return", f"icmpv6 type {ND_TYPES} return"]
    for rule in port.security_group_rules:
        if rule.direction == "egress":
            rules.extend(render_rule(rule, "return"))
    rules.append("drop")
    return rules


def ingress_rules(port: HostPort) -> list[str]:
    if not port.port_security_enabled:
        return ["return"]
    rules = ["ct state established,related accept", "ct state invalid drop",
             f"{DHCP_SERVER} accept", f"icmpv6 type {ND_TYPES} accept"]
    for rule in port.security_group_rules:
        if rule.direction == "ingress":
            rules.extend(render_rule(rule, "accept"))
    rules.append("drop")
    return rules


def _chain(family: str, name: str, rules: list[str]) -> list[str]:
    return [f"add chain {family} {TABLE} {name}", f"flush chain {family} {TABLE} {name}",
            *(f"add rule {family} {TABLE} {name} {rule}" for rule in rules)]


def port_script(port: HostPort) -> list[str]:
    """The port's chains, flushed and filled again."""
    tap = names.tap(port.id)
    lines = _chain("bridge", f"spoof-{tap}",
                   spoof_rules(port) if port.port_security_enabled else [])
    lines += _chain("inet", f"egress-{tap}", egress_rules(port))
    lines += _chain("inet", f"ingress-{tap}", ingress_rules(port))
    return lines


def tables_script() -> list[str]:
    """The tables and their base chains (``add`` leaves existing ones as they are)."""
    return [
        f"add table bridge {TABLE}", f"add table inet {TABLE}",
        f"add chain bridge {TABLE} prerouting {{ type filter hook prerouting priority -200; "
        "policy accept; }",
        f"add chain bridge {TABLE} forward {{ type filter hook forward priority -200; "
        "policy accept; }",
        f"add chain inet {TABLE} forward {{ type filter hook forward priority 0; "
        "policy accept; }",
    ]


def dispatch_script(taps: list[str]) -> list[str]:
    """The base chains' rules: mark frames by tap, send them through the taps' chains.

    A tap's tag is its rank among this host's taps: it may change whenever the ports do,
    which is fine since only these rules (rebuilt in the same transaction) hold it.
    """
    if len(taps) > MAX_PORTS:
        raise ValueError(f"more than {MAX_PORTS} ports on one host")
    lines = [f"flush chain bridge {TABLE} prerouting", f"flush chain bridge {TABLE} forward",
             f"flush chain inet {TABLE} forward"]
    egress, ingress = [], []
    for tag, tap in enumerate(taps, start=1):
        lines.append(f'add rule bridge {TABLE} prerouting iifname "{tap}" '
                     f"meta mark set {tag:#x} jump spoof-{tap}")
        lines.append(f'add rule bridge {TABLE} forward oifname "{tap}" '
                     f"meta mark set meta mark and 0xffff or {tag << 16:#x}")
        egress.append(f"{tag:#x} : jump egress-{tap}")
        ingress.append(f"{tag << 16:#x} : jump ingress-{tap}")
    if taps:
        lines.append(f"add rule inet {TABLE} forward meta mark and 0xffff vmap "
                     f"{_set(egress)}")
        lines.append(f"add rule inet {TABLE} forward meta mark and 0xffff0000 vmap "
                     f"{_set(ingress)}")
    return lines


class Firewall:
    """The ``kilonova`` nftables tables of the data plane's root namespace."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        # What each port's chains were last built from: unchanged ports are left alone.
        self._applied: dict[str, HostPort] = {}
        self._dispatch: list[str] | None = None

    def _existing_chains(self) -> set[str]:
        listing = self._runner.json(["nft", "-j", "list", "chains"])
        found = listing.get("nftables", []) if isinstance(listing, dict) else []
        return {f"{c['chain']['family']} {c['chain']['name']}" for c in found
                if "chain" in c and c["chain"]["table"] == TABLE}

    def apply(self, ports: list[HostPort]) -> None:
        """Make the tables hold exactly these ports' chains; one nft transaction."""
        wanted = {names.tap(p.id): p for p in ports}
        taps = sorted(wanted)
        existing = self._existing_chains()
        lines: list[str] = []
        for tap, port in wanted.items():
            complete = {f"bridge spoof-{tap}", f"inet egress-{tap}",
                        f"inet ingress-{tap}"} <= existing
            if not complete or self._applied.get(tap) != port:
                lines += port_script(port)
        stale = [chain for chain in existing
                 if chain.split(" ")[1].startswith(PORT_CHAIN_PREFIXES)
                 and chain.split(" ")[1].split("-", 1)[1] not in wanted]
        base_ok = {"bridge prerouting", "bridge forward", "inet forward"} <= existing
        if not lines and not stale and base_ok and self._dispatch == taps:
            return
        script = tables_script() + lines + dispatch_script(taps)
        script += [f"delete chain {chain.split(' ')[0]} {TABLE} {chain.split(' ')[1]}"
                   for chain in stale]
        self._runner.nft("\n".join(script) + "\n")
        self._applied = dict(wanted)
        self._dispatch = taps

    def remove(self) -> None:
        """Drop the data plane's tables (ports then have no filtering: unplug first)."""
        existing = self._runner.run(["nft", "list", "tables"])
        script = [f"delete table {family} {TABLE}" for family in ("bridge", "inet")
                  if f"table {family} {TABLE}" in existing.splitlines()]
        if script:
            self._runner.nft("\n".join(script) + "\n")
        self._applied.clear()
        self._dispatch = None

