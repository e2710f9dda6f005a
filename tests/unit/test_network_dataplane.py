"""The data plane's pure parts: names, uplinks and the nft rules it renders."""

from __future__ import annotations

import uuid

import pytest

from common.messages import AddressPair, FixedIp, HostNetwork, HostPort, SecurityRule
from compute_agent.network import names
from compute_agent.network.firewall import dispatch_script, ingress_rules, render_rule, spoof_rules
from compute_agent.network.links import Layer2
from compute_agent.network.runner import Runner

NET = uuid.UUID("0123456789abcdef0123456789abcdef")


def test_device_names_fit_in_fifteen_characters() -> None:
    some = uuid.uuid4()
    for name in (names.bridge(some), names.tap(some), names.vxlan(16777215),
                 names.dhcp_leg(some), names.router_leg(some), names.gateway_leg(some)):
        assert len(name) <= names.MAX_DEVICE_NAME
    assert names.bridge("0123456789abcdef") == "brq0123456789a"
    with pytest.raises(ValueError):
        names.vlan("averylongnic", 4094)


def test_a_vlan_network_rides_on_a_subinterface_of_its_mapped_interface() -> None:
    l2 = Layer2(Runner(), {"physnet1": "eth1"}, None)
    vlan = HostNetwork(id=NET, type="vlan", physical_network="physnet1", segmentation_id=42)
    flat = HostNetwork(id=NET, type="flat", physical_network="physnet1")
    unmapped = HostNetwork(id=NET, type="vlan", physical_network="other", segmentation_id=7)
    assert (l2.uplink(vlan), l2.uplink(flat), l2.uplink(unmapped)) == ("eth1.42", "eth1", None)


def test_rules_render_ports_prefixes_and_remote_groups() -> None:
    web = SecurityRule(direction="ingress", protocol="tcp", port_range_min=80,
                       port_range_max=81, remote_prefixes=["10.0.0.0/24", "2001:db8::/64"])
    assert render_rule(web, "accept") == [
        "meta nfproto ipv4 ip saddr { 10.0.0.0/24 } meta l4proto tcp th dport 80-81 accept"]
    empty_group = SecurityRule(direction="ingress", remote_prefixes=[])
    assert render_rule(empty_group, "accept") == []
    ping6 = SecurityRule(direction="egress", ethertype="IPv6", protocol="icmp")
    assert render_rule(ping6, "return") == ["meta nfproto ipv6 meta l4proto ipv6-icmp return"]


def test_only_the_ports_own_addresses_leave_its_tap() -> None:
    port = HostPort(id=uuid.uuid4(), network_id=NET, mac="FA:16:3E:00:00:01",
                    fixed_ips=[FixedIp(subnet_id=uuid.uuid4(), ip_address="10.0.0.5")],
                    allowed_address_pairs=[AddressPair(ip_address="10.0.1.0/24")])
    rules = spoof_rules(port)
    assert "ether saddr != { fa:16:3e:00:00:01 } drop" in rules
    assert "ether type ip ip saddr != { 10.0.0.5, 10.0.1.0/24 } drop" in rules
    assert ingress_rules(port)[-1] == "drop"
    assert ingress_rules(port.model_copy(update={"port_security_enabled": False})) == [
        "return"]


def test_each_tap_gets_its_own_mark_in_both_directions() -> None:
    script = "\n".join(dispatch_script(["tapa", "tapb"]))
    assert 'iifname "tapb" meta mark set 0x2 jump spoof-tapb' in script
    assert 'oifname "tapb" meta mark set meta mark and 0xffff or 0x20000' in script
    assert "0x20000 : jump ingress-tapb" in script
