"""Guest interfaces' MACs, and libvirt's address answers as the API's ``addresses``."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import libvirt

from common.messages import GuestAddress, PortPayload
from compute_agent.virt.libvirt import guest_xml
from compute_agent.virt.libvirt.addresses import from_answer, plugged_networks
from conductor.hosts import addresses_view
from tests.unit.libvirt.test_guest_xml import render


def test_interface_mac_is_stable_per_instance_and_upstream_prefixed() -> None:
    dom, inst = render(network="default")
    mac = dom.find("devices/interface/mac")
    assert mac is not None
    assert mac.get("address") == guest_xml.mac_address(inst.uuid)
    assert guest_xml.mac_address(inst.uuid) == guest_xml.mac_address(uuid.UUID(str(inst.uuid)))
    assert guest_xml.mac_address(inst.uuid).startswith("fa:16:3e:")
    assert guest_xml.mac_address(uuid.uuid4()) != guest_xml.mac_address(inst.uuid)


def test_lease_answer_is_matched_to_plugged_interfaces_by_mac() -> None:
    dom, inst = render(network="nat")
    mac = guest_xml.mac_address(inst.uuid)
    plugged = plugged_networks(ET.tostring(dom, encoding="unicode"))
    assert plugged == {mac: ("network", "nat")}
    answer = {
        "vnet0": {"hwaddr": mac.upper(), "addrs": [
            {"type": libvirt.VIR_IP_ADDR_TYPE_IPV4, "addr": "192.168.1.7", "prefix": 24},
            {"type": libvirt.VIR_IP_ADDR_TYPE_IPV6, "addr": "fd00::7", "prefix": 64}]},
        "vnet9": {"hwaddr": "52:54:00:00:00:01", "addrs": [
            {"type": libvirt.VIR_IP_ADDR_TYPE_IPV4, "addr": "192.168.1.9", "prefix": 24}]},
    }
    assert from_answer(answer, plugged) == [
        GuestAddress(network="nat", mac=mac, addr="192.168.1.7", version=4),
        GuestAddress(network="nat", mac=mac, addr="fd00::7", version=6)]


def test_a_ports_interface_is_not_read_back_a_bridge_one_is() -> None:
    port = PortPayload(id=uuid.uuid4(), network_id=uuid.uuid4(),
                       mac_address="fa:16:3e:12:34:56")
    dom = ET.fromstring("<domain><devices/></domain>")
    devices = dom.find("devices")
    assert devices is not None
    devices.append(guest_xml.port_interface(port))
    bridged = ET.SubElement(devices, "interface", type="bridge")
    ET.SubElement(bridged, "mac", address="52:54:00:00:00:02")
    ET.SubElement(bridged, "source", bridge="br-ops")
    # The port's addresses are the API's: only the operator's bridge is read back.
    assert plugged_networks(ET.tostring(dom, encoding="unicode")) == {
        "52:54:00:00:00:02": ("bridge", "br-ops")}


def test_addresses_take_the_compute_api_shape() -> None:
    view = addresses_view([GuestAddress(network="nat", mac="fa:16:3e:00:00:01",
                                        addr="10.0.0.5")])
    assert view == {"nat": [{"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed",
                             "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]}
    assert addresses_view([]) == {}
