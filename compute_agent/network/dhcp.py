"""DHCP: one dnsmasq per network, in its own namespace, with static leases only."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import signal
import time
import uuid
from pathlib import Path

from common.messages import HostNetwork, HostPort
from compute_agent.network import names
from compute_agent.network.runner import HOST, Runner

LOG = logging.getLogger(__name__)

LEASE_SECONDS = 86400
# The metadata service's address, held by every DHCP namespace on its leg into the
# bridge; guests reach it by the classless static route their DHCP server gives them.
METADATA_ADDRESS = "169.254.169.254"
# Option 249 is option 121 as Windows before Vista asks for it.
MS_CLASSLESS_STATIC_ROUTE = 249


def hosts_file(network: HostNetwork, ports: list[HostPort]) -> str:
    """``mac,ip`` per address of every port on a DHCP subnet of the network."""
    dhcp_subnets = {s.id for s in network.subnets if s.dhcp and s.dhcp_server_ip}
    lines = [f"{port.mac.lower()},{_bracket(ip.ip_address)}" for port in ports
             if port.network_id == network.id for ip in port.fixed_ips
             if ip.subnet_id in dhcp_subnets]
    return "".join(f"{line}\n" for line in sorted(lines))


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def serves_dhcp(network: HostNetwork) -> bool:
    return any(s.dhcp and s.dhcp_server_ip for s in network.subnets)


def serves_metadata(network: HostNetwork) -> bool:
    """Whether the network's DHCP namespace serves metadata: it hands IPv4 guests the
    route to it (a DHCP subnet of IPv4)."""
    return any(s.dhcp and s.dhcp_server_ip and ipaddress.ip_network(s.cidr).version == 4
               for s in network.subnets)


def classless_routes(server_ip: str, gateway_ip: str | None) -> str:
    """Option 121's value: the metadata address via the DHCP port, and the default route
    (a client given option 121 ignores option 3, the router)."""
    routes = f"{METADATA_ADDRESS}/32,{server_ip}"
    return f"{routes},0.0.0.0/0,{gateway_ip}" if gateway_ip else routes


class Dhcp:
    """The dnsmasq servers of the data plane's networks."""

    def __init__(self, runner: Runner, state_dir: Path) -> None:
        self._runner = runner
        self._dir = state_dir / "dhcp"
        self._prefix = names.namespace_prefix(runner.namespace)

    def _net_dir(self, network_id: uuid.UUID | str) -> Path:
        return self._dir / str(network_id)

    def namespace(self, network_id: uuid.UUID | str) -> str:
        return names.dhcp_namespace(network_id, self._runner.namespace)

    def ensure(self, network: HostNetwork, ports: list[HostPort],
               namespaces: set[str]) -> str:
        """The network's namespace, its leg in the bridge and a dnsmasq serving the
        current leases (SIGHUP when they changed). Answers the host end's name."""
        ns = self.namespace(network.id)
        leg, inner = names.dhcp_leg(network.id), names.dhcp_ns_leg(network.id)
        if ns not in namespaces:
            self._runner.ip("netns", "add", ns, namespace=HOST)
            self._runner.ip("link", "set", "lo", "up", namespace=ns)
        have = {entry["ifname"] for entry in
                self._runner.json(["ip", "-j", "link", "show"], namespace=ns)}
        if inner not in have:
            # A half-made pair from an interrupted run: start again.
            self._runner.ip("link", "del", leg, check=False)
            self._runner.ip("link", "add", leg, "mtu", str(network.mtu), "type", "veth",
                            "peer", "name", inner, "mtu", str(network.mtu), "netns", ns)
            self._runner.ip("link", "set", leg, "alias", names.OWNER_ALIAS)
            self._runner.ip("link", "set", leg, "master", names.bridge(network.id))
            self._runner.ip("link", "set", leg, "up")
            self._runner.ip("link", "set", inner, "up", namespace=ns)
        self._addresses(network, ns, inner)
        self._serve(network, ports, ns, inner)
        return leg

    def _addresses(self, network: HostNetwork, ns: str, inner: str) -> None:
        wanted = set()
        for subnet in network.subnets:
            if subnet.dhcp and subnet.dhcp_server_ip:
                prefix = ipaddress.ip_network(subnet.cidr).prefixlen
                wanted.add(f"{subnet.dhcp_server_ip}/{prefix}")
        if serves_metadata(network):
            wanted.add(f"{METADATA_ADDRESS}/32")
        found = self._runner.json(["ip", "-j", "addr", "show", "dev", inner], namespace=ns)
        have = {f"{a['local']}/{a['prefixlen']}" for entry in found
                for a in entry.get("addr_info", []) if a.get("scope") == "global"}
        for address in sorted(have - wanted):
            self._runner.ip("addr", "del", address, "dev", inner, namespace=ns)
        for address in sorted(wanted - have):
            self._runner.ip("addr", "add", address, "dev", inner, namespace=ns)

    def _argv(self, network: HostNetwork, inner: str, where: Path) -> list[str]:
        argv = ["dnsmasq", "--no-hosts", "--no-resolv", "--port=0", "--bind-interfaces",
                f"--interface={inner}", "--except-interface=lo",
                f"--pid-file={where / 'pid'}", f"--dhcp-hostsfile={where / 'hosts'}",
                f"--dhcp-leasefile={where / 'leases'}", "--dhcp-authoritative",
                "--dhcp-ignore=tag:!known", "--user=root", "--group=root"]
        for index, subnet in enumerate(network.subnets):
            if not (subnet.dhcp and subnet.dhcp_server_ip):
                continue
            net = ipaddress.ip_network(subnet.cidr)
            tag = f"subnet{index}"
            if net.version == 4:
                argv.append(f"--dhcp-range=set:{tag},{net.network_address},static,"
                            f"{net.netmask},{LEASE_SECONDS}s")
                gateway = subnet.gateway_ip or ""
                router = f",{gateway}" if gateway else ""
                argv.append(f"--dhcp-option=tag:{tag},option:router{router}")
                routes = classless_routes(subnet.dhcp_server_ip, subnet.gateway_ip)
                argv.append(f"--dhcp-option=tag:{tag},option:classless-static-route,"
                            f"{routes}")
                argv.append(f"--dhcp-option=tag:{tag},{MS_CLASSLESS_STATIC_ROUTE},{routes}")
                if subnet.dns_nameservers:
                    argv.append(f"--dhcp-option=tag:{tag},option:dns-server,"
                                + ",".join(subnet.dns_nameservers))
                argv.append(f"--dhcp-option=tag:{tag},option:mtu,{network.mtu}")
            else:
                argv.append(f"--dhcp-range=set:{tag},{net.network_address},static,"
                            f"{net.prefixlen},{LEASE_SECONDS}s")
        return argv

    def _serve(self, network: HostNetwork, ports: list[HostPort], ns: str,
               inner: str) -> None:
        where = self._net_dir(network.id)
        where.mkdir(parents=True, exist_ok=True)
        argv = self._argv(network, inner, where)
        hosts = where / "hosts"
        changed = not hosts.exists() or hosts.read_text() != hosts_file(network, ports)
        if changed:
            tmp = where / "hosts.tmp"
            tmp.write_text(hosts_file(network, ports))
            tmp.replace(hosts)
        pid = self._pid(network.id)
        cmdline = where / "cmdline"
        if pid is not None and cmdline.exists() and cmdline.read_text() != "\0".join(argv):
            # The subnets changed: options are read only at start.
            self._stop(pid)
            pid = None
        if pid is None:
            self._runner.run(argv, namespace=ns)
            cmdline.write_text("\0".join(argv))
        elif changed:
            os.kill(pid, signal.SIGHUP)

    def _pid(self, network_id: uuid.UUID | str) -> int | None:
        """The network's running dnsmasq, checked against its command line (a pid file
        outlives its process, and pids are reused)."""
        where = self._net_dir(network_id)
        try:
            pid = int((where / "pid").read_text().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as proc:
                running = proc.read().decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if f"--dhcp-hostsfile={where / 'hosts'}" in running else None

    @staticmethod
    def _stop(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def remove_unwanted(self, wanted: set[uuid.UUID], namespaces: set[str]) -> None:
        """Stop the servers, and remove the namespaces, of networks no longer served."""
        keep = {str(n) for n in wanted}
        if self._dir.exists():
            for where in self._dir.iterdir():
                if where.name not in keep:
                    pid = self._pid(where.name)
                    if pid is not None:
                        self._stop(pid)
                    shutil.rmtree(where, ignore_errors=True)
        own = f"{self._prefix}{names.DHCP_NS_PREFIX}"
        for ns in namespaces:
            if ns.startswith(own) and ns[len(own):] not in keep:
                self._runner.ip("netns", "del", ns, namespace=HOST, check=False)
