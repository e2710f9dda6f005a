"""The `openstack` CLI's network commands against `/networking` (a Neutron subset)."""

from __future__ import annotations

from tests.e2e.compute.conftest import OpenStackCLI


def test_network_subnet_port_lifecycle(osc: OpenStackCLI) -> None:
    net = osc.json("network", "create", "e2e-net")
    assert net["name"] == "e2e-net" and net["status"] == "ACTIVE"
    subnet = osc.json("subnet", "create", "--network", "e2e-net", "--subnet-range",
                      "192.168.50.0/24", "e2e-subnet")
    assert subnet["cidr"] == "192.168.50.0/24"
    assert subnet["gateway_ip"] == "192.168.50.1"
    port = osc.json("port", "create", "--network", "e2e-net", "--fixed-ip",
                    "subnet=e2e-subnet,ip-address=192.168.50.10", "e2e-port")
    assert "192.168.50.10" in str(port["fixed_ips"])
    listed = osc.json("port", "list", "--network", "e2e-net")
    assert [p["Name"] for p in listed] == ["e2e-port"]
    shown = osc.json("port", "show", "e2e-port")
    assert shown["id"] == port["id"]
    osc.run("port", "delete", "e2e-port")
    assert osc.json("port", "list", "--network", "e2e-net") == []
    osc.run("subnet", "delete", "e2e-subnet")
    osc.run("network", "delete", "e2e-net")


def test_security_group_and_rules(osc: OpenStackCLI) -> None:
    group = osc.json("security", "group", "create", "--description", "web", "e2e-web")
    assert group["name"] == "e2e-web"
    rule = osc.json("security", "group", "rule", "create", "--protocol", "tcp",
                    "--dst-port", "22", "--remote-ip", "10.0.0.0/8", "e2e-web")
    assert (rule["port_range_min"], rule["port_range_max"]) == (22, 22)
    rules = osc.json("security", "group", "rule", "list", "e2e-web")
    assert len(rules) == 3  # two egress rules of a new group, and ours
    names = [g["Name"] for g in osc.json("security", "group", "list")]
    assert "default" in names and "e2e-web" in names
    osc.run("security", "group", "delete", "e2e-web")


def test_router_and_floating_ip_lifecycle(osc: OpenStackCLI) -> None:
    osc.json("network", "create", "--external", "e2e-public")
    osc.json("subnet", "create", "--network", "e2e-public", "--subnet-range",
             "172.31.250.0/24", "e2e-public-subnet")
    osc.json("network", "create", "e2e-private")
    osc.json("subnet", "create", "--network", "e2e-private", "--subnet-range",
             "192.168.60.0/24", "e2e-private-subnet")
    router = osc.json("router", "create", "e2e-router")
    assert router["status"] == "ACTIVE"
    osc.run("router", "set", "--external-gateway", "e2e-public", "e2e-router")
    shown = osc.json("router", "show", "e2e-router")
    assert "172.31.250." in str(shown["external_gateway_info"])
    osc.run("router", "add", "subnet", "e2e-router", "e2e-private-subnet")
    port = osc.json("port", "create", "--network", "e2e-private", "e2e-vm-port")
    fip = osc.json("floating", "ip", "create", "e2e-public")
    assert fip["floating_ip_address"].startswith("172.31.250.")
    osc.run("floating", "ip", "set", "--port", port["id"], fip["id"])
    associated = osc.json("floating", "ip", "show", fip["id"])
    assert associated["port_id"] == port["id"] and associated["router_id"] == router["id"]
    osc.run("floating", "ip", "unset", "--port", fip["id"])
    assert osc.json("floating", "ip", "show", fip["id"])["port_id"] is None
    osc.run("floating", "ip", "delete", fip["id"])
    osc.run("port", "delete", "e2e-vm-port")
    osc.run("router", "remove", "subnet", "e2e-router", "e2e-private-subnet")
    osc.run("router", "unset", "--external-gateway", "e2e-router")
    osc.run("router", "delete", "e2e-router")
    assert osc.json("router", "list") == []
    for name in ("e2e-private", "e2e-public"):
        osc.run("network", "delete", name)
