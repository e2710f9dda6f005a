"""DHCP: a guest's DHCP client gets the address the API shows for its port; the server
follows port changes (SIGHUP) and goes with its network."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from common.messages import HostNetwork, HostNetworkState, NetSubnet
from tests.integration.network.lab import Guest, Lab, in_ns, port

HOOK = """#!/bin/sh
[ "$1" = bound ] && echo "LEASE=$ip ROUTER=$router"
exit 0
"""


def dhcp_lease(guest: Guest, hook: Path) -> str:
    done = in_ns(guest.ns, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "4",
                 "-T", "1", "-s", str(hook), check=False, timeout=30)
    return next((line for line in done.stdout.splitlines() if line.startswith("LEASE=")),
                "")


def test_a_guest_gets_its_ports_address_by_dhcp(lab: Lab, tmp_path: Path) -> None:
    hook = tmp_path / "hook"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    h1 = lab.host("h1", underlay_ip="192.0.2.1")
    subnet = uuid.uuid4()
    net = HostNetwork(id=uuid.uuid4(), type="vxlan", segmentation_id=3001, mtu=1450,
                      subnets=[NetSubnet(id=subnet, cidr="10.0.3.0/24", gateway_ip="10.0.3.1",
                                         dhcp_server_ip="10.0.3.2")])
    first = port(net.id, "fa:16:3e:00:03:01", "10.0.3.57", subnet)
    second = port(net.id, "fa:16:3e:00:03:02", "10.0.3.58", subnet)
    g1 = lab.guest(h1, "g1", first, None)
    h1.apply(HostNetworkState(networks=[net], ports=[first]))
    assert dhcp_lease(g1, hook) == "LEASE=10.0.3.57 ROUTER=10.0.3.1"

    # A new port: its server re-reads the leases (same process).
    pid = (lab.state_dir / "h1" / "dhcp" / str(net.id) / "pid").read_text().strip()
    g2 = lab.guest(h1, "g2", second, None)
    h1.apply(HostNetworkState(networks=[net], ports=[first, second]))
    assert dhcp_lease(g2, hook) == "LEASE=10.0.3.58 ROUTER=10.0.3.1"
    assert (lab.state_dir / "h1" / "dhcp" / str(net.id) / "pid").read_text().strip() == pid

    h1.apply(HostNetworkState())
    assert not os.path.exists(f"/proc/{pid}")
    assert set(lab.namespaces()) == {lab.name("h1"), g1.ns, g2.ns}
