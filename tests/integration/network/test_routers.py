"""Routers: a guest reaches an external network through SNAT, and the external network
reaches a guest through its floating IP; nothing is left when the router goes."""

from __future__ import annotations

import uuid

from common.messages import (
    FloatingMapping,
    HostNetwork,
    HostNetworkState,
    HostRouter,
    NetSubnet,
    RouterGateway,
    RouterInterface,
)
from tests.integration.network.lab import Lab, in_ns, port, sh


def test_snat_and_a_floating_ip_connect_guests_and_the_external_network(lab: Lab) -> None:
    h1 = lab.host("h1", underlay_ip="192.0.2.1", physical={"public": "ext0"})
    # The "external" world: a namespace at the other end of the host's ext0, with no
    # route back to the private subnet (replies only come back through the NAT).
    outside = lab.name("ext")
    sh("ip", "netns", "add", outside)
    sh("ip", "-n", lab.name("h1"), "link", "add", "ext0", "type", "veth", "peer", "name",
       "eth0", "netns", outside)
    sh("ip", "-n", lab.name("h1"), "link", "set", "ext0", "up")
    sh("ip", "-n", outside, "addr", "add", "203.0.113.1/24", "dev", "eth0")
    sh("ip", "-n", outside, "link", "set", "eth0", "up")

    private_subnet, public_subnet = uuid.uuid4(), uuid.uuid4()
    private = HostNetwork(id=uuid.uuid4(), type="vxlan", segmentation_id=4001, mtu=1450,
                          subnets=[NetSubnet(id=private_subnet, cidr="10.0.4.0/24",
                                             gateway_ip="10.0.4.1", dhcp=False)])
    public = HostNetwork(id=uuid.uuid4(), type="flat", physical_network="public", mtu=1500,
                         subnets=[NetSubnet(id=public_subnet, cidr="203.0.113.0/24",
                                            gateway_ip="203.0.113.1", dhcp=False)])
    p1 = port(private.id, "fa:16:3e:00:04:01", "10.0.4.11", private_subnet)
    p2 = port(private.id, "fa:16:3e:00:04:02", "10.0.4.12", private_subnet)
    g1 = lab.guest(h1, "g1", p1, "10.0.4.11/24", gateway="10.0.4.1")
    g2 = lab.guest(h1, "g2", p2, "10.0.4.12/24", gateway="10.0.4.1")
    router = HostRouter(
        id=uuid.uuid4(),
        gateway=RouterGateway(port_id=uuid.uuid4(), network_id=public.id,
                              ip_address="203.0.113.10/24", next_hop="203.0.113.1"),
        interfaces=[RouterInterface(port_id=uuid.uuid4(), network_id=private.id,
                                    ip_address="10.0.4.1/24")],
        floating=[FloatingMapping(floating_ip="203.0.113.20", fixed_ip="10.0.4.11")])
    state = HostNetworkState(networks=[private, public], ports=[p1, p2], routers=[router])
    h1.apply(state)
    h1.apply(state)

    assert g2.ping("203.0.113.1")  # SNAT
    assert g1.ping("203.0.113.1")  # through its floating IP
    seen = in_ns(outside, "busybox", "ping", "-c", "2", "-w", "3", "203.0.113.20",
                 check=False)
    assert seen.returncode == 0, seen.stdout + seen.stderr
    # The external side sees the guest as its floating IP, the others as the gateway.
    neighbours = in_ns(outside, "ip", "neigh", "show").stdout
    assert "203.0.113.10" in neighbours and "203.0.113.20" in neighbours

    # Without SNAT, the guest without a floating IP stays inside.
    h1.apply(state.model_copy(update={"routers": [router.model_copy(update={"snat": False})]}))
    assert not g2.ping("203.0.113.1", count=1)
    assert g1.ping("203.0.113.1")

    lab.remove_guest(g1)
    lab.remove_guest(g2)
    h1.apply(HostNetworkState())
    assert set(lab.namespaces()) == {lab.name("h1"), outside}
    links = in_ns(lab.name("h1"), "ip", "-br", "link").stdout
    assert sorted(line.split()[0].split("@")[0] for line in links.splitlines()) == \
        ["ext0", "lo"]
