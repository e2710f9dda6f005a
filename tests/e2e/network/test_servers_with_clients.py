"""Servers on networks through the clients people use: openstacksdk's cloud layer with
its defaults (what Ansible's server module does) and ``openstack server create``."""

from __future__ import annotations

import io
from typing import Any

from tests.e2e.compute.conftest import OpenStackCLI


def test_sdk_create_server_wait_with_defaults_gets_an_address_and_stays(conn: Any) -> None:
    flavor = conn.compute.create_flavor(name="sdk.net", ram=512, vcpus=1, disk=1)
    image = conn.image.create_image(name="sdk-net-image", data=io.BytesIO(b"\0" * 2048),
                                    disk_format="raw", container_format="bare")
    server = conn.create_server("sdk-net-vm", image=image.id, flavor=flavor.id, wait=True,
                                timeout=120)
    assert server.status == "ACTIVE"
    [(network, addresses)] = server.addresses.items()
    assert network == "auto_allocated_network"
    assert addresses[0]["OS-EXT-IPS:type"] == "fixed"
    # Still there: the SDK deletes a server that went ACTIVE without an address.
    assert conn.compute.get_server(server.id).status == "ACTIVE"
    [port] = list(conn.network.ports(device_id=server.id))
    assert port.fixed_ips[0]["ip_address"] == addresses[0]["addr"]
    assert conn.delete_server(server.id, wait=True, timeout=120)
    assert list(conn.network.ports(device_id=server.id)) == []


def test_osc_server_create_on_a_named_network_with_a_security_group(osc: OpenStackCLI
                                                                     ) -> None:
    osc.run("flavor", "create", "--ram", "512", "--vcpus", "1", "--disk", "1", "osc.net")
    image_file = osc.workdir / "osc-net.img"
    image_file.write_bytes(b"\0" * 1024)
    osc.run("image", "create", "--disk-format", "raw", "--container-format", "bare",
            "--file", str(image_file), "osc-net-image")
    osc.run("network", "create", "private")
    osc.run("subnet", "create", "--network", "private", "--subnet-range", "10.20.0.0/24",
            "private-v4")
    osc.run("security", "group", "create", "web")
    server = osc.json("server", "create", "--flavor", "osc.net", "--image", "osc-net-image",
                      "--network", "private", "--security-group", "web", "--wait", "vm-net")
    assert server["status"] == "ACTIVE"
    shown = osc.json("server", "show", "vm-net")
    addresses = shown["addresses"]
    assert list(addresses) == ["private"]
    [address] = addresses["private"]
    assert address.startswith("10.20.0.")
    ports = osc.json("port", "list", "--server", "vm-net")
    assert [p["Fixed IP Addresses"][0]["ip_address"] for p in ports] == [address]
    osc.run("server", "delete", "--wait", "vm-net")
    assert osc.json("port", "list", "--network", "private", "--device-owner",
                    "compute:nova") == []


def test_osc_server_add_port_security_group_and_floating_ip(osc: OpenStackCLI) -> None:
    osc.run("flavor", "create", "--ram", "512", "--vcpus", "1", "--disk", "1", "osc.fip")
    image_file = osc.workdir / "osc-fip.img"
    image_file.write_bytes(b"\0" * 1024)
    osc.run("image", "create", "--disk-format", "raw", "--container-format", "bare",
            "--file", str(image_file), "osc-fip-image")
    osc.run("network", "create", "--external", "public")
    osc.run("subnet", "create", "--network", "public", "--subnet-range", "172.31.0.0/24",
            "--no-dhcp", "public-v4")
    osc.run("network", "create", "inner")
    osc.run("subnet", "create", "--network", "inner", "--subnet-range", "10.40.0.0/24",
            "inner-v4")
    osc.run("router", "create", "edge")
    osc.run("router", "set", "--external-gateway", "public", "edge")
    osc.run("router", "add", "subnet", "edge", "inner-v4")
    osc.run("server", "create", "--flavor", "osc.fip", "--image", "osc-fip-image",
            "--network", "inner", "--wait", "vm-fip")
    extra = osc.json("port", "create", "--network", "inner", "extra-port")
    osc.run("server", "add", "port", "vm-fip", "extra-port")
    osc.run("security", "group", "create", "ssh")
    osc.run("server", "add", "security", "group", "vm-fip", "ssh")
    fip = osc.json("floating", "ip", "create", "public")
    address = fip["floating_ip_address"]
    osc.run("server", "add", "floating", "ip", "vm-fip", address)
    shown = osc.json("server", "show", "vm-fip")
    inner = shown["addresses"]["inner"]
    assert address in inner and extra["fixed_ips"][0]["ip_address"] in inner
    assert len(inner) == 3
    ports = osc.json("port", "list", "--server", "vm-fip", "--long")
    assert len(ports) == 2
    groups = osc.json("server", "show", "vm-fip", "-c", "security_groups")
    assert "ssh" in str(groups)
    osc.run("server", "remove", "floating", "ip", "vm-fip", address)
    assert address not in osc.json("server", "show", "vm-fip")["addresses"]["inner"]
    osc.run("server", "delete", "--wait", "vm-fip")
    kept = osc.json("port", "show", "extra-port")
    assert kept["device_id"] == ""
