"""Fake hosts and guests in throw-away network namespaces, for the data plane's tests.

A "host" is a namespace the data plane works in (its root namespace); hosts are joined
by a veth "underlay". A "guest" is a namespace holding one end of a veth pair whose
other end, in the host, is named as the port's tap, with the port's MAC and address.
Nothing touches the machine's own interfaces or ruleset.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from common.messages import FixedIp, HostPort, SecurityRule
from compute_agent.network import names
from compute_agent.network.dataplane import Dataplane

ALLOW_ALL_EGRESS = [SecurityRule(direction="egress", ethertype="IPv4")]
ALLOW_ICMP_IN = [SecurityRule(direction="ingress", ethertype="IPv4", protocol="icmp")]


def sh(*args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check,
                          timeout=timeout)


def in_ns(ns: str, *args: str, check: bool = True,
          timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *args, check=check, timeout=timeout)


@dataclass
class Guest:
    ns: str
    port: HostPort
    ip: str | None

    def ping(self, address: str, count: int = 2) -> bool:
        done = in_ns(self.ns, "busybox", "ping", "-c", str(count), "-w", str(count + 1),
                     address, check=False)
        return done.returncode == 0

    def connect(self, address: str, port: int) -> bool:
        code = ("import socket,sys\n"
                "s=socket.socket(); s.settimeout(1.5)\n"
                f"sys.exit(s.connect_ex(('{address}', {port})))\n")
        return in_ns(self.ns, "python3", "-c", code, check=False).returncode == 0


@dataclass
class Lab:
    """Everything one test made, removed by ``close`` whatever happened."""

    tag: str
    state_dir: Path
    planes: list[Dataplane] = field(default_factory=list)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def name(self, what: str) -> str:
        return f"kn{self.tag}-{what}"

    def host(self, name: str, underlay_ip: str | None = None,
             physical: dict[str, str] | None = None) -> Dataplane:
        ns = self.name(name)
        sh("ip", "netns", "add", ns)
        in_ns(ns, "ip", "link", "set", "lo", "up")
        plane = Dataplane(self.state_dir / name, namespace=ns, local_ip=underlay_ip,
                          physical_interface_mappings=physical)
        self.planes.append(plane)
        return plane

    def wire(self, a: Dataplane, a_ip: str, b: Dataplane, b_ip: str) -> None:
        """A veth "underlay" between two hosts (``ul0`` on each side)."""
        ns_a, ns_b = a.runner.namespace or "", b.runner.namespace or ""
        sh("ip", "-n", ns_a, "link", "add", "ul0", "type", "veth", "peer", "name", "ul0",
           "netns", ns_b)
        for ns, address in ((ns_a, a_ip), (ns_b, b_ip)):
            sh("ip", "-n", ns, "addr", "add", address, "dev", "ul0")
            sh("ip", "-n", ns, "link", "set", "ul0", "up")

    def guest(self, host: Dataplane, name: str, port: HostPort, ip: str | None,
              gateway: str | None = None) -> Guest:
        """A fake guest plugged where the hypervisor would plug it: a veth named as the
        port's tap in the host, ``eth0`` with the port's MAC (and ``ip``) in the guest."""
        ns = self.name(name)
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", host.runner.namespace or "", "link", "add", names.tap(port.id),
           "type", "veth", "peer", "name", "eth0", "netns", ns)
        in_ns(ns, "ip", "link", "set", "lo", "up")
        in_ns(ns, "ip", "link", "set", "eth0", "address", port.mac)
        in_ns(ns, "ip", "link", "set", "eth0", "mtu", "1450")
        in_ns(ns, "ip", "link", "set", "eth0", "up")
        if ip is not None:
            in_ns(ns, "ip", "addr", "add", ip, "dev", "eth0")
        if gateway is not None:
            in_ns(ns, "ip", "route", "add", "default", "via", gateway)
        return Guest(ns, port, ip.split("/")[0] if ip else None)

    def remove_guest(self, guest: Guest) -> None:
        sh("ip", "netns", "del", guest.ns, check=False)

    def serve_tcp(self, guest: Guest, port: int) -> None:
        """A TCP server in the guest that accepts connections until the test ends."""
        code = ("import socket\n"
                "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                f"s.bind(('0.0.0.0', {port})); s.listen(16)\n"
                "while True:\n    c,_=s.accept(); c.close()\n")
        server = subprocess.Popen(["ip", "netns", "exec", guest.ns, "python3", "-c", code])
        self.servers.append(server)

    def namespaces(self) -> list[str]:
        out = sh("ip", "netns", "list").stdout
        return [line.split()[0] for line in out.splitlines()
                if line.startswith(f"kn{self.tag}-")]

    def close(self) -> None:
        for server in self.servers:
            server.kill()
            server.wait(10)
        for plane in self.planes:
            # On failure, the namespaces' removal below still cleans up.
            with contextlib.suppress(Exception):
                plane.cleanup_all()
        # dnsmasq processes this lab started (their pid files are under state_dir).
        for pid_file in self.state_dir.glob("*/dhcp/*/pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
        for ns in self.namespaces():
            sh("ip", "netns", "del", ns, check=False)


def port(network_id: uuid.UUID, mac: str, ip: str, subnet_id: uuid.UUID,
         rules: list[SecurityRule] | None = None, security: bool = True) -> HostPort:
    return HostPort(id=uuid.uuid4(), network_id=network_id, mac=mac,
                    fixed_ips=[FixedIp(subnet_id=subnet_id, ip_address=ip)],
                    security_group_rules=ALLOW_ALL_EGRESS + ALLOW_ICMP_IN
                    if rules is None else rules,
                    port_security_enabled=security)
