"""Guest interfaces of ports: hot-plugged ones and those a guest is created with."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from common.messages import PortAddress, PortPayload
from compute_agent.virt.libvirt import guest_xml
from compute_agent.virt.libvirt.guest_xml import Disk
from tests.unit.libvirt.test_guest_xml import INSTANCE_DIR, instance

NET = uuid.UUID("0d3b8f4c-77aa-4c1e-9a51-2f0c7e6b1a20")
PORT = uuid.UUID("7f1c2a9e-5b3d-4e8f-a1c0-9d8e7f6a5b4c")


def port(port_id: uuid.UUID = PORT, mac: str = "fa:16:3e:11:22:33",
         mtu: int | None = 1450) -> PortPayload:
    return PortPayload(id=port_id, network_id=NET, mac_address=mac, mtu=mtu,
                       fixed_ips=[PortAddress(subnet_id=uuid.uuid4(), ip_address="10.0.0.5")])


def test_a_port_interface_is_on_its_networks_bridge_with_its_mac_and_tap() -> None:
    iface = ET.fromstring(guest_xml.port_interface_xml(port(), "e1000"))
    assert iface.tag == "interface" and iface.get("type") == "bridge"
    assert iface.find("mac").get("address") == "fa:16:3e:11:22:33"  # type: ignore[union-attr]
    assert iface.find("source").get("bridge") == "brq0d3b8f4c-77"  # type: ignore[union-attr]
    assert iface.find("target").get("dev") == "tap7f1c2a9e-5b"  # type: ignore[union-attr]
    assert iface.find("model").get("type") == "e1000"  # type: ignore[union-attr]
    assert iface.find("mtu").get("size") == "1450"  # type: ignore[union-attr]
    assert all(len(name) <= 15 for name in ("brq0d3b8f4c-77", "tap7f1c2a9e-5b"))


def test_a_port_without_an_mtu_leaves_it_to_the_bridge() -> None:
    assert ET.fromstring(guest_xml.port_interface_xml(port(mtu=None))).find("mtu") is None


def test_a_guest_with_ports_gets_one_interface_each_instead_of_the_nat_network() -> None:
    second = port(uuid.uuid4(), "fa:16:3e:44:55:66")
    inst = instance().model_copy(update={"ports": [port(), second]})
    disks = [Disk(INSTANCE_DIR / "disk", "qcow2", "virtio")]
    spec = guest_xml.spec_for(inst, "h1", {"hw_vif_model": "e1000"}, "qemu", INSTANCE_DIR,
                              disks, network="default")
    xml = guest_xml.to_xml(spec)
    ifaces = ET.fromstring(xml).findall("./devices/interface")
    assert [i.get("type") for i in ifaces] == ["bridge", "bridge"]
    assert [i.find("mac").get("address") for i in ifaces] == [  # type: ignore[union-attr]
        "fa:16:3e:11:22:33", "fa:16:3e:44:55:66"]
    assert guest_xml.interface_model(xml) == "e1000"
    assert guest_xml.has_interface(xml, "FA:16:3E:44:55:66")
    assert not guest_xml.has_interface(xml, "fa:16:3e:00:00:00")


def test_a_guest_without_ports_keeps_the_configured_network() -> None:
    disks = [Disk(INSTANCE_DIR / "disk", "qcow2", "virtio")]
    spec = guest_xml.spec_for(instance(), "h1", {}, "qemu", INSTANCE_DIR, disks,
                              network="default")
    [iface] = ET.fromstring(guest_xml.to_xml(spec)).findall("./devices/interface")
    assert iface.get("type") == "network"
    assert iface.find("source").get("network") == "default"  # type: ignore[union-attr]


def test_an_external_neutrons_ovs_port_is_on_its_integration_bridge() -> None:
    ovs = port().model_copy(update={"vif_type": "ovs",
                                    "vif_details": {"bridge_name": "br-int"}})
    iface = ET.fromstring(guest_xml.port_interface_xml(ovs))
    assert iface.find("source").get("bridge") == "br-int"  # type: ignore[union-attr]
    virtualport = iface.find("virtualport")
    assert virtualport is not None and virtualport.get("type") == "openvswitch"
    assert virtualport.find("parameters").get("interfaceid") == str(PORT)  # type: ignore[union-attr]
    assert iface.find("target").get("dev") == "tap7f1c2a9e-5b"  # type: ignore[union-attr]


def test_an_external_neutrons_bridge_port_is_on_the_bridge_its_binding_names() -> None:
    named = port().model_copy(update={"vif_type": "bridge",
                                      "vif_details": {"bridge_name": "brq-custom"}})
    iface = ET.fromstring(guest_xml.port_interface_xml(named))
    assert iface.find("source").get("bridge") == "brq-custom"  # type: ignore[union-attr]
    assert iface.find("virtualport") is None
    plain = port().model_copy(update={"vif_type": "bridge", "vif_details": {}})
    iface = ET.fromstring(guest_xml.port_interface_xml(plain))
    assert iface.find("source").get("bridge") == "brq0d3b8f4c-77"  # type: ignore[union-attr]
