"""Bridges and VXLAN between two fake hosts: guests of one network reach each other
across hosts, guests of another network do not, and an empty state leaves nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from common.messages import HostNetwork, HostNetworkState, NetSubnet, RemotePort
from compute_agent.network.dataplane import Dataplane
from compute_agent.network.runner import Runner
from tests.integration.network.lab import Lab, in_ns, port

# Read-only commands: what a second apply of the same state may run.
READS = (("ip", "-d", "-j", "link"), ("ip", "-j"), ("bridge", "-j"), ("nft", "-j"),
         ("nft", "list"))


class RecordingRunner(Runner):
    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self.commands: list[tuple[str, ...]] = []

    def run(self, args: Sequence[str], *, stdin: str | None = None,
            namespace: str | None = None, check: bool = True) -> str:
        self.commands.append(tuple(args))
        return super().run(args, stdin=stdin, namespace=namespace, check=check)


def vxlan_net(vni: int) -> tuple[HostNetwork, uuid.UUID]:
    subnet = uuid.uuid4()
    return HostNetwork(id=uuid.uuid4(), type="vxlan", segmentation_id=vni, mtu=1450,
                       subnets=[NetSubnet(id=subnet, cidr="10.0.0.0/24",
                                          gateway_ip="10.0.0.1", dhcp=False)]), subnet


def test_guests_on_one_vxlan_network_reach_each_other_across_hosts(lab: Lab) -> None:
    h1 = lab.host("h1", underlay_ip="192.0.2.1")
    h2 = lab.host("h2", underlay_ip="192.0.2.2")
    lab.wire(h1, "192.0.2.1/24", h2, "192.0.2.2/24")
    red, red_subnet = vxlan_net(1001)
    blue, blue_subnet = vxlan_net(1002)
    p1 = port(red.id, "fa:16:3e:00:00:01", "10.0.0.11", red_subnet)
    p2 = port(red.id, "fa:16:3e:00:00:02", "10.0.0.12", red_subnet)
    p3 = port(blue.id, "fa:16:3e:00:00:03", "10.0.0.13", blue_subnet)
    g1 = lab.guest(h1, "g1", p1, "10.0.0.11/24")
    g2 = lab.guest(h2, "g2", p2, "10.0.0.12/24")
    g3 = lab.guest(h2, "g3", p3, "10.0.0.13/24")
    h1.apply(HostNetworkState(networks=[red], ports=[p1], vteps={red.id: ["192.0.2.2"]},
                              remote_ports=[RemotePort(network_id=red.id, mac=p2.mac,
                                                       vtep="192.0.2.2")]))
    h2.apply(HostNetworkState(networks=[red, blue], ports=[p2, p3],
                              vteps={red.id: ["192.0.2.1"]}))

    assert g1.ping("10.0.0.12")
    assert g2.ping("10.0.0.11")
    assert not g3.ping("10.0.0.11", count=1)
    fdb = in_ns(lab.name("h1"), "bridge", "fdb", "show", "dev", "vxlan-1001").stdout
    assert "00:00:00:00:00:00 dst 192.0.2.2" in fdb
    assert f"{p2.mac} dst 192.0.2.2" in fdb


def test_applying_the_same_state_twice_changes_nothing(lab: Lab) -> None:
    runner = RecordingRunner(lab.name("h1"))
    lab.host("h1")  # the namespace; the data plane under test records its commands
    h1 = Dataplane(lab.state_dir / "rec", runner=runner, local_ip="192.0.2.1")
    lab.planes.append(h1)
    red, subnet = vxlan_net(1003)
    p1 = port(red.id, "fa:16:3e:00:00:04", "10.0.0.14", subnet)
    lab.guest(h1, "g4", p1, "10.0.0.14/24")
    state = HostNetworkState(networks=[red], ports=[p1], vteps={red.id: ["192.0.2.9"]})
    h1.apply(state)
    runner.commands.clear()
    h1.apply(state)
    changing = [c for c in runner.commands if not any(c[:len(r)] == r for r in READS)]
    assert changing == []


def test_an_empty_state_removes_everything_it_made(lab: Lab) -> None:
    h1 = lab.host("h1", underlay_ip="192.0.2.1")
    red, subnet = vxlan_net(1004)
    p1 = port(red.id, "fa:16:3e:00:00:05", "10.0.0.15", subnet)
    guest = lab.guest(h1, "g5", p1, "10.0.0.15/24")
    h1.apply(HostNetworkState(networks=[red], ports=[p1], vteps={red.id: ["192.0.2.2"]}))
    links = in_ns(lab.name("h1"), "ip", "-br", "link").stdout
    assert "brq" in links and "vxlan-1004" in links
    lab.remove_guest(guest)  # the hypervisor removes a guest's tap with the guest
    h1.cleanup_all()
    links = in_ns(lab.name("h1"), "ip", "-br", "link").stdout
    assert [line.split()[0] for line in links.splitlines()] == ["lo"]
    assert "kilonova" not in in_ns(lab.name("h1"), "nft", "list", "tables").stdout
    assert lab.namespaces() == [lab.name("h1")]
