"""Security groups in nftables: stateful, default deny to the guest, rules let traffic
through and removing them blocks it again; a guest cannot send from another address."""

from __future__ import annotations

from common.messages import AddressPair, HostNetworkState, SecurityRule
from tests.integration.network.lab import ALLOW_ALL_EGRESS, ALLOW_ICMP_IN, Lab, in_ns, port
from tests.integration.network.test_l2 import vxlan_net

WEB = SecurityRule(direction="ingress", ethertype="IPv4", protocol="tcp",
                   port_range_min=8080, port_range_max=8080, remote_prefixes=["10.0.0.0/24"])


def test_a_tcp_rule_lets_its_port_through_and_its_removal_blocks_it(lab: Lab) -> None:
    h1 = lab.host("h1", underlay_ip="192.0.2.1")
    h2 = lab.host("h2", underlay_ip="192.0.2.2")
    lab.wire(h1, "192.0.2.1/24", h2, "192.0.2.2/24")
    net, subnet = vxlan_net(2001)
    client = port(net.id, "fa:16:3e:00:01:01", "10.0.0.21", subnet)
    server = port(net.id, "fa:16:3e:00:01:02", "10.0.0.22", subnet)
    g1 = lab.guest(h1, "g1", client, "10.0.0.21/24")
    g2 = lab.guest(h2, "g2", server, "10.0.0.22/24")
    lab.serve_tcp(g2, 8080)
    h1.apply(HostNetworkState(networks=[net], ports=[client], vteps={net.id: ["192.0.2.2"]}))

    def serve(rules: list[SecurityRule]) -> None:
        h2.apply(HostNetworkState(
            networks=[net], ports=[server.model_copy(update={"security_group_rules": rules})],
            vteps={net.id: ["192.0.2.1"]}))

    serve(ALLOW_ALL_EGRESS + ALLOW_ICMP_IN)
    assert g1.ping("10.0.0.22")
    assert not g1.connect("10.0.0.22", 8080)
    serve(ALLOW_ALL_EGRESS + ALLOW_ICMP_IN + [WEB])
    assert g1.connect("10.0.0.22", 8080)
    serve(ALLOW_ALL_EGRESS + ALLOW_ICMP_IN)
    assert not g1.connect("10.0.0.22", 8080)
    # Without port security, nothing is filtered.
    h2.apply(HostNetworkState(
        networks=[net], ports=[server.model_copy(update={"security_group_rules": [],
                                                         "port_security_enabled": False})],
        vteps={net.id: ["192.0.2.1"]}))
    assert g1.connect("10.0.0.22", 8080)


def test_a_guest_cannot_send_from_an_address_that_is_not_its_own(lab: Lab) -> None:
    h1 = lab.host("h1", underlay_ip="192.0.2.1")
    net, subnet = vxlan_net(2002)
    honest = port(net.id, "fa:16:3e:00:02:01", "10.0.0.31", subnet)
    liar = port(net.id, "fa:16:3e:00:02:02", "10.0.0.32", subnet)
    g1 = lab.guest(h1, "g1", honest, "10.0.0.31/24")
    g2 = lab.guest(h1, "g2", liar, "10.0.0.32/24")
    h1.apply(HostNetworkState(networks=[net], ports=[honest, liar]))
    assert g2.ping("10.0.0.31")
    in_ns(g2.ns, "ip", "addr", "flush", "dev", "eth0")
    in_ns(g2.ns, "ip", "addr", "add", "10.0.0.99/24", "dev", "eth0")
    assert not g2.ping("10.0.0.31", count=1)
    # An allowed address pair makes that address its own.
    h1.apply(HostNetworkState(networks=[net], ports=[
        honest, liar.model_copy(update={"allowed_address_pairs": [
            AddressPair(ip_address="10.0.0.99")]})]))
    assert g2.ping("10.0.0.31")
    assert g1.ping("10.0.0.99")
