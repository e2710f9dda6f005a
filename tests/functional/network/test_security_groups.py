"""Security groups and rules: the default group, rule checks, in-use and default guards."""

from __future__ import annotations

from typing import Any

from tests.functional.network.conftest import Net, neutron_error


def _default(client: Net) -> dict[str, Any]:
    groups = client.get("/security-groups").json()["security_groups"]
    [group] = [g for g in groups if g["name"] == "default"]
    return group


def test_default_group_appears_on_first_list_with_four_rules(member: Net) -> None:
    group = _default(member)
    assert group["stateful"] is True and group["project_id"] == member.project
    rules = {(r["direction"], r["ethertype"], r["remote_group_id"])
             for r in group["security_group_rules"]}
    assert rules == {("egress", "IPv4", None), ("egress", "IPv6", None),
                     ("ingress", "IPv4", group["id"]), ("ingress", "IPv6", group["id"])}
    assert _default(member)["id"] == group["id"]  # made once
    neutron_error(member.delete(f"/security-groups/{group['id']}"), 409,
                  "SecurityGroupCannotRemoveDefault")


def test_rules_are_checked_as_neutron_does(member: Net) -> None:
    group = member.made("security-groups", "security_group", name="web")
    assert len(group["security_group_rules"]) == 2  # the two egress rules
    sg = group["id"]

    def rule(**attrs: Any) -> Any:
        return member.post("/security-group-rules", {"security_group_rule": {
            "security_group_id": sg, "direction": "ingress", **attrs}})

    made = rule(protocol="tcp", port_range_min=22, port_range_max=22,
                remote_ip_prefix="10.0.0.0/8")
    assert made.status_code == 201, made.text
    assert made.json()["security_group_rule"]["ethertype"] == "IPv4"
    neutron_error(rule(protocol="6", port_range_min=22, port_range_max=22,
                       remote_ip_prefix="10.0.0.0/8"), 409, "SecurityGroupRuleExists")
    neutron_error(rule(protocol="tcp", port_range_min=30, port_range_max=20), 400,
                  "SecurityGroupInvalidPortRange")
    neutron_error(rule(protocol="icmp", port_range_min=300), 400,
                  "SecurityGroupInvalidIcmpValue")
    neutron_error(rule(protocol="bogus"), 400, "SecurityGroupRuleInvalidProtocol")
    neutron_error(rule(port_range_min=80, port_range_max=80), 400,
                  "SecurityGroupProtocolRequiredWithPorts")
    neutron_error(rule(remote_ip_prefix="10.0.0.0/8", remote_group_id=sg), 400,
                  "SecurityGroupRemoteGroupAndRemoteIpPrefix")
    neutron_error(rule(ethertype="IPv6", remote_ip_prefix="10.0.0.0/8"), 400,
                  "SecurityGroupRuleParameterConflict")
    neutron_error(rule(direction="sideways"), 400, "HTTPBadRequest")
    icmp = rule(protocol="icmp", port_range_min=8, port_range_max=0)
    assert icmp.status_code == 201, icmp.text
    rule_id = made.json()["security_group_rule"]["id"]
    assert member.delete(f"/security-group-rules/{rule_id}").status_code == 204
    neutron_error(member.get(f"/security-group-rules/{rule_id}"), 404,
                  "SecurityGroupRuleNotFound")


def test_group_in_use_cannot_be_deleted(member: Net, other: Net) -> None:
    group = member.made("security-groups", "security_group", name="used")
    net = member.network()
    port = member.port(net["id"], security_groups=[group["id"]])
    assert port["security_groups"] == [group["id"]]
    neutron_error(member.delete(f"/security-groups/{group['id']}"), 409,
                  "SecurityGroupInUse")
    neutron_error(other.get(f"/security-groups/{group['id']}"), 404, "SecurityGroupNotFound")
    neutron_error(other.post("/ports", {"port": {"network_id": net["id"]}}), 404,
                  "NetworkNotFound")
    updated = member.put(f"/ports/{port['id']}", {"port": {"security_groups": []}})
    assert updated.json()["port"]["security_groups"] == [], updated.text
    assert member.delete(f"/security-groups/{group['id']}").status_code == 204
