"""A real guest on a libvirt NAT network gets an address by DHCP, and the API shows it.

The libvirtd serving the network runs in its own network namespace (network.py): the
bridge, dnsmasq and firewall rules never touch the host's namespace.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from cli.embedded import EmbeddedCloud
from compute_agent.virt.libvirt.guest_xml import mac_address
from tests.cloud import CloudClient
from tests.conftest import cloud_settings
from tests.integration.libvirt import network
from tests.integration.libvirt.guest import (
    READY_MARKER,
    destroy_guests_under,
    upload_test_image,
    use_libvirt,
)
from tests.integration.libvirt.test_real_guest import wait_console

HOST = "nethost"


@pytest.fixture
def net_cloud(real_libvirt: None, tmp_path: Path) -> Iterator[EmbeddedCloud]:
    missing = network.missing_prerequisites()
    if missing:
        pytest.fail("the networking test needs: " + "; ".join(missing), pytrace=False)
    try:
        uri = network.start()
        name = network.nat_network(uri)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    settings = use_libvirt(cloud_settings(tmp_path, "sqlite-memory"), tmp_path, HOST,
                           uri=uri, network=name)
    running = EmbeddedCloud(settings).start()
    try:
        yield running
    finally:
        running.stop()
        destroy_guests_under(tmp_path, uri)


def tap_of(server_id: str) -> str:
    """The host side (in the namespace) of the guest's interface."""
    conn = libvirt.open(network.URI)
    try:
        xml = conn.lookupByUUIDString(server_id).XMLDesc(0)
    finally:
        conn.close()
    target = ET.fromstring(xml).find("devices/interface/target")
    assert target is not None, xml
    return target.get("dev", "")


def api_addresses(client: CloudClient, server_id: str, timeout: float = 30
                  ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not (addresses := client.server(server_id)["addresses"]):
        assert time.monotonic() < deadline, "the API never showed the guest's address"
        time.sleep(0.5)
    return dict(addresses)


def pings(addr: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # busybox (a test prerequisite already): Debian images may lack iputils-ping.
        done = subprocess.run(["ip", "netns", "exec", network.NETNS, "busybox", "ping",
                               "-c", "1", "-W", "1", addr], capture_output=True, check=False)
        if done.returncode == 0:
            return True
    return False


def test_guest_gets_an_address_by_dhcp_and_the_api_shows_it(
    net_cloud: EmbeddedCloud, tmp_path: Path
) -> None:
    client = CloudClient(net_cloud.base_url)
    try:
        flavor = client.create_flavor("tiny", ram=128, vcpus=1, disk=1)
        image = upload_test_image(client.http, net_cloud.image_url)
        server_id = client.boot(flavor, image, name="net")
        server = client.wait_status(server_id, {"ACTIVE", "ERROR"}, timeout=120)
        assert server["status"] == "ACTIVE", server.get("fault")
        assert server["OS-EXT-SRV-ATTR:host"] == HOST

        out = wait_console(client, server_id, READY_MARKER, timeout=120)
        assert network.DHCP_FAILED_MARKER not in out, \
            f"udhcpc got no lease from the network's dnsmasq:\n{out[-2000:]}"
        found = re.findall(rf"{network.IPV4_MARKER}([0-9.]+)", out)
        assert len(found) == 1, f"no (single) DHCP address on the console:\n{out[-2000:]}"
        addr = found[0]
        assert addr.startswith(network.PREFIX + ".")

        mac = mac_address(uuid.UUID(server_id))
        assert api_addresses(client, server_id) == {network.NETWORK: [{
            "version": 4, "addr": addr, "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": mac}]}
        assert pings(addr), f"{addr} does not answer from the network's bridge"
        tap = tap_of(server_id)
        assert tap in network.netns_links()

        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)
        assert tap not in network.netns_links()
        assert not pings(addr, timeout=2)
        conn = libvirt.open(network.URI)
        try:
            assert server_id not in [d.UUIDString() for d in conn.listAllDomains(0)]
        finally:
            conn.close()
    finally:
        client.close()
