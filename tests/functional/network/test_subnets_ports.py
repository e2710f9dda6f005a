"""Subnets and ports over HTTP: CIDRs, pools, addresses, MACs, bindings, in-use checks."""

from __future__ import annotations

from tests.functional.network.conftest import Net, neutron_error


def test_subnet_defaults_gateway_and_pools(member: Net) -> None:
    net = member.network()
    sub = member.subnet(net["id"], "10.1.0.0/24", name="s")
    assert sub["gateway_ip"] == "10.1.0.1"
    assert sub["allocation_pools"] == [{"start": "10.1.0.2", "end": "10.1.0.254"}]
    assert sub["enable_dhcp"] is True and sub["subnetpool_id"] is None
    assert member.get(f"/networks/{net['id']}").json()["network"]["subnets"] == [sub["id"]]
    nogw = member.subnet(net["id"], "10.2.0.0/29", gateway_ip=None)
    assert nogw["gateway_ip"] is None
    assert nogw["allocation_pools"] == [{"start": "10.2.0.1", "end": "10.2.0.6"}]
    v6 = member.subnet(net["id"], "2001:db8::/64", ipv6_address_mode="slaac",
                       ipv6_ra_mode="slaac")
    assert v6["gateway_ip"] == "2001:db8::1" and v6["ipv6_address_mode"] == "slaac"


def test_subnet_validation(member: Net) -> None:
    net = member.network()
    msg = neutron_error(member.post("/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.3.0.5/24", "ip_version": 4}}), 400,
        "HTTPBadRequest")
    assert "'10.3.0.0/24' is recommended" in msg
    neutron_error(member.post("/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.3.0.0/33", "ip_version": 4}}), 400,
        "HTTPBadRequest")
    neutron_error(member.post("/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.3.0.0/24", "ip_version": 4,
        "allocation_pools": [{"start": "10.3.1.2", "end": "10.3.1.9"}]}}), 400,
        "InvalidAllocationPool")
    neutron_error(member.post("/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.3.0.0/24", "ip_version": 4,
        "allocation_pools": [{"start": "10.3.0.1", "end": "10.3.0.9"}]}}), 409,
        "GatewayConflictWithAllocationPools")
    member.subnet(net["id"], "10.3.0.0/24")
    neutron_error(member.post("/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.3.0.128/25", "ip_version": 4}}), 400,
        "InvalidInput")
    neutron_error(member.post("/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.4.0.0/24", "ip_version": 6}}), 400,
        "InvalidInput")


def test_port_gets_an_address_mac_and_the_default_group(member: Net) -> None:
    net = member.network()
    sub = member.subnet(net["id"], "10.5.0.0/24")
    port = member.port(net["id"], name="p")
    [ip] = port["fixed_ips"]
    assert ip["subnet_id"] == sub["id"] and ip["ip_address"].startswith("10.5.0.")
    assert ip["ip_address"] not in ("10.5.0.0", "10.5.0.1", "10.5.0.255")
    assert port["mac_address"].startswith("fa:16:3e:")
    assert port["status"] == "DOWN" and "binding:host_id" not in port
    [group] = port["security_groups"]
    default = member.get(f"/security-groups/{group}").json()["security_group"]
    assert default["name"] == "default"


def test_specific_address_and_conflicts(member: Net) -> None:
    net = member.network()
    sub = member.subnet(net["id"], "10.6.0.0/24")
    port = member.port(net["id"], fixed_ips=[{"ip_address": "10.6.0.50"}])
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.6.0.50"}]
    neutron_error(member.post("/ports", {"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.6.0.50"}]}}), 409,
        "IpAddressAlreadyAllocated")
    neutron_error(member.post("/ports", {"port": {
        "network_id": net["id"], "mac_address": port["mac_address"]}}), 409,
        "MacAddressInUse")
    neutron_error(member.post("/ports", {"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.7.0.5"}]}}), 400,
        "InvalidInput")
    neutron_error(member.delete(f"/subnets/{sub['id']}"), 409, "SubnetInUse")
    neutron_error(member.delete(f"/networks/{net['id']}"), 409, "NetworkInUse")
    assert member.delete(f"/ports/{port['id']}").status_code == 204
    again = member.port(net["id"], fixed_ips=[{"ip_address": "10.6.0.50"}])
    assert again["fixed_ips"][0]["ip_address"] == "10.6.0.50"
    moved = member.put(f"/ports/{again['id']}", {"port": {
        "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.6.0.60"}]}})
    assert moved.json()["port"]["fixed_ips"][0]["ip_address"] == "10.6.0.60", moved.text
    assert member.delete(f"/ports/{again['id']}").status_code == 204
    assert member.delete(f"/subnets/{sub['id']}").status_code == 204
    assert member.delete(f"/networks/{net['id']}").status_code == 204


def test_exhausted_subnet_answers_409(member: Net) -> None:
    net = member.network()
    member.subnet(net["id"], "10.8.0.0/30")  # one usable address besides the gateway
    member.port(net["id"])
    neutron_error(member.post("/ports", {"port": {"network_id": net["id"]}}), 409,
                  "IpAddressGenerationFailure")


def test_binding_attributes_are_admin_only(member: Net, admin: Net) -> None:
    net = member.network()
    neutron_error(member.post("/ports", {"port": {
        "network_id": net["id"], "binding:host_id": "h1"}}), 403, "PolicyNotAuthorized")
    port = admin.port(net["id"], project_id=member.project, **{"binding:host_id": "h1"})
    assert port["binding:vif_type"] == "ovs" and port["binding:vnic_type"] == "normal"
    assert port["project_id"] == member.project
    assert "binding:host_id" not in member.get(f"/ports/{port['id']}").json()["port"]


def test_port_security_disabled_takes_no_groups(member: Net) -> None:
    net = member.network(port_security_enabled=False)
    port = member.port(net["id"])
    assert port["port_security_enabled"] is False and port["security_groups"] == []
    neutron_error(member.post("/ports", {"port": {
        "network_id": net["id"], "allowed_address_pairs": [{"ip_address": "10.0.0.9"}]}}),
        409, "AddressPairAndPortSecurityRequired")
    pairs = member.port(net["id"], port_security_enabled=True,
                        allowed_address_pairs=[{"ip_address": "10.0.0.0/24"}])
    assert pairs["allowed_address_pairs"] == [{"ip_address": "10.0.0.0/24"}]
