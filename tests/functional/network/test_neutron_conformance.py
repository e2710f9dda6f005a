"""Behaviours Tempest's network API tests measure: rule protocols and ports as Neutron
converts them, remote groups that name nothing, the reserved "default" group name, IPv6
address modes, and SLAAC subnets deleted from under their ports."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.network.conftest import Net, neutron_error


def _rule(client: Net, group_id: str, **attrs: Any) -> httpx.Response:
    return client.post("/security-group-rules", {"security_group_rule": {
        "security_group_id": group_id, "direction": "ingress", **attrs}})


def test_rule_protocol_may_be_an_integer_and_is_shown_as_text(member: Net) -> None:
    sg = member.made("security-groups", "security_group", name="udp")["id"]
    made = _rule(member, sg, protocol=17)
    assert made.status_code == 201, made.text
    assert made.json()["security_group_rule"]["protocol"] == "17"
    named = _rule(member, sg, protocol="TCP")
    assert named.json()["security_group_rule"]["protocol"] == "tcp"
    neutron_error(_rule(member, sg, protocol="udp"), 409, "SecurityGroupRuleExists")
    neutron_error(_rule(member, sg, protocol=256), 400, "SecurityGroupRuleInvalidProtocol")


def test_rule_ports_out_of_range_name_the_port(member: Net) -> None:
    sg = member.made("security-groups", "security_group", name="ports")["id"]
    for low, high, bad in ((-16, 80, -16), (80, 65536, 65536), (-1, 25, -1)):
        message = neutron_error(_rule(member, sg, protocol="tcp", port_range_min=low,
                                      port_range_max=high),
                                400, "SecurityGroupInvalidPortValue")
        assert message == f"Invalid value for port {bad}."
    message = neutron_error(_rule(member, sg, protocol="icmp", port_range_min=1,
                                  port_range_max=256), 400, "SecurityGroupInvalidIcmpValue")
    assert "Invalid value for ICMP code" in message


def test_rule_with_a_remote_group_that_names_nothing_is_not_found(member: Net) -> None:
    sg = member.made("security-groups", "security_group", name="remote")["id"]
    for remote in ("bad_group_id", "7d9b3e1c-0c53-4a3e-9d1e-2b1f0e6a5c11"):
        neutron_error(_rule(member, sg, protocol="tcp", remote_group_id=remote), 404,
                      "SecurityGroupNotFound")
    made = _rule(member, sg, protocol="tcp", remote_group_id=sg)
    assert made.json()["security_group_rule"]["remote_group_id"] == sg


def test_no_second_group_may_be_named_default(member: Net) -> None:
    neutron_error(member.post("/security-groups", {"security_group": {"name": "default"}}),
                  409, "SecurityGroupDefaultAlreadyExists")
    neutron_error(member.post("/security-groups", {"security_group": {"name": "Default"}}),
                  409, "SecurityGroupDefaultAlreadyExists")
    group = member.made("security-groups", "security_group", name="mine")
    neutron_error(member.put(f"/security-groups/{group['id']}",
                             {"security_group": {"name": "default"}}),
                  409, "SecurityGroupDefaultAlreadyExists")
    renamed = member.put(f"/security-groups/{group['id']}",
                         {"security_group": {"name": "other", "description": "d"}})
    assert renamed.json()["security_group"]["name"] == "other"
    names = [g["name"] for g in member.get("/security-groups").json()["security_groups"]]
    assert names.count("default") == 1


def test_ipv6_modes_must_agree_and_fit_eui64(member: Net) -> None:
    net = member.network()["id"]

    def subnet(cidr: str, **attrs: Any) -> httpx.Response:
        return member.post("/subnets", {"subnet": {"network_id": net, "cidr": cidr,
                                                   "ip_version": 6, **attrs}})

    for ra_mode, address_mode in (("dhcpv6-stateless", "dhcpv6-stateful"),
                                  ("slaac", "dhcpv6-stateless"),
                                  ("dhcpv6-stateful", "slaac")):
        message = neutron_error(subnet("2001:db8:1::/64", ipv6_ra_mode=ra_mode,
                                       ipv6_address_mode=address_mode), 400, "InvalidInput")
        assert "they must be the same value" in message
    neutron_error(subnet("2001:db8:1::/64", ipv6_address_mode="slaac", enable_dhcp=False),
                  400, "InvalidInput")
    message = neutron_error(subnet("2001:db8:2::/80", ipv6_address_mode="slaac"), 400,
                            "InvalidInput")
    assert "EUI-64" in message
    made = subnet("2001:db8:3::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    assert made.status_code == 201, made.text
    stateful = subnet("2001:db8:4::/80", ipv6_address_mode="dhcpv6-stateful")
    assert stateful.status_code == 201, stateful.text


def test_slaac_subnet_is_deleted_from_under_its_ports(member: Net) -> None:
    net = member.network()["id"]
    v4 = member.subnet(net, "10.30.0.0/24")
    slaac = member.subnet(net, "2001:db8:30::/64", ipv6_ra_mode="slaac",
                          ipv6_address_mode="slaac")
    port = member.port(net)
    assert {ip["subnet_id"] for ip in port["fixed_ips"]} == {v4["id"], slaac["id"]}
    assert member.delete(f"/subnets/{slaac['id']}").status_code == 204
    after = member.get(f"/ports/{port['id']}").json()["port"]
    assert [ip["subnet_id"] for ip in after["fixed_ips"]] == [v4["id"]]
    assert after["revision_number"] > port["revision_number"]
    # An address from a stateful pool still keeps its subnet.
    neutron_error(member.delete(f"/subnets/{v4['id']}"), 409, "SubnetInUse")
