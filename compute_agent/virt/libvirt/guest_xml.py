"""Domain XML from a flavor and image properties."""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import BadRequest
from common.messages import InstancePayload, PortPayload
from compute_agent.network import names

DISK_BUSES = {"virtio": "vd", "ide": "hd", "sata": "sd", "scsi": "sd", "usb": "sd"}
VIF_MODELS = {"virtio", "e1000", "e1000e", "rtl8139", "ne2k_pci", "pcnet"}
FIRMWARES = {"bios", "uefi"}
DEFAULT_CMDLINE = "console=ttyS0"
# Our <metadata> element: which agent (host) owns the guest, so agents sharing a
# libvirtd (tests, a misconfiguration) never adopt or destroy each other's guests.
METADATA_NS = "https://kilonova.dev/xmlns/instance/1.0"


@dataclass(frozen=True)
class Disk:
    path: Path
    fmt: str  # qcow2 | raw
    bus: str
    device: str = "disk"  # disk | cdrom


@dataclass(frozen=True)
class GuestSpec:
    """Everything the domain XML says, decided by ``spec_for``."""

    uuid: uuid.UUID
    name: str
    host: str
    domain_type: str  # kvm | qemu | lxc | test
    vcpus: int
    memory_mb: int
    console_log: Path
    disks: list[Disk] = field(default_factory=list)
    machine_type: str | None = None
    firmware: str = "bios"
    os_type: str | None = None
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str | None = None
    vif_model: str = "virtio"
    network: str | None = None
    bridge: str | None = None
    mac: str | None = None
    lxc_rootfs: Path | None = None
    lxc_init: str = "/sbin/init"
    # One interface per port, on its network's bridge; none: the ``network`` / ``bridge``
    # interface (a server without ports).
    ports: list[PortPayload] = field(default_factory=list)


def domain_name(instance_uuid: uuid.UUID) -> str:
    return f"instance-{instance_uuid}"


def mac_address(instance_uuid: uuid.UUID) -> str:
    """The guest's MAC: upstream's fa:16:3e prefix, the rest derived from the uuid, so a
    redefined guest (resize, migration) keeps the address its DHCP lease is bound to."""
    tail = hashlib.sha256(instance_uuid.bytes).digest()[:3]
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in tail)


def image_choice(props: Mapping[str, str], key: str, allowed: set[str], default: str) -> str:
    """An image property's value, checked against what we support. Raises BadRequest."""
    value = props.get(key, default)
    if value not in allowed:
        raise BadRequest(f"image property {key}={value!r} is not one of {sorted(allowed)}")
    return value


def disk_bus(props: Mapping[str, str]) -> str:
    return image_choice(props, "hw_disk_bus", set(DISK_BUSES), "virtio")


def cdrom_bus(props: Mapping[str, str]) -> str:
    machine = props.get("hw_machine_type", "")
    return "sata" if "q35" in machine else "ide"


def spec_for(instance: InstancePayload, host: str, props: Mapping[str, str], domain_type: str,
             instance_dir: Path, disks: list[Disk], *, kernel: Path | None = None,
             initrd: Path | None = None, network: str | None = None,
             bridge: str | None = None, lxc_rootfs: Path | None = None) -> GuestSpec:
    """The guest of ``instance`` with ``disks`` already laid out in ``instance_dir``."""
    cmdline = props.get("os_command_line") or (DEFAULT_CMDLINE if kernel else None)
    return GuestSpec(
        uuid=instance.uuid, name=domain_name(instance.uuid), host=host,
        domain_type=domain_type,
        vcpus=instance.flavor.vcpus, memory_mb=instance.flavor.memory_mb,
        console_log=instance_dir / "console.log", disks=disks,
        machine_type=props.get("hw_machine_type") or None,
        firmware=image_choice(props, "hw_firmware_type", FIRMWARES, "bios"),
        os_type=props.get("os_type") or None, kernel=kernel, initrd=initrd, cmdline=cmdline,
        vif_model=image_choice(props, "hw_vif_model", VIF_MODELS, "virtio"),
        network=network, bridge=bridge, lxc_rootfs=lxc_rootfs,
        mac=mac_address(instance.uuid) if network or bridge else None,
        lxc_init=props.get("os_init", "/sbin/init"), ports=list(instance.ports),
    )


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def to_xml(spec: GuestSpec) -> str:
    """The libvirt domain XML of ``spec``."""
    dom = ET.Element("domain", type=spec.domain_type)
    _sub(dom, "name", spec.name)
    _sub(dom, "uuid", str(spec.uuid))
    _sub(dom, "memory", str(spec.memory_mb * 1024), unit="KiB")
    _sub(dom, "vcpu", str(spec.vcpus))
    metadata = _sub(dom, "metadata")
    ET.SubElement(metadata, f"{{{METADATA_NS}}}instance", uuid=str(spec.uuid), host=spec.host)
    if spec.domain_type == "lxc":
        _lxc(dom, spec)
    else:
        _hvm(dom, spec)
    ET.register_namespace("kilonova", METADATA_NS)
    return ET.tostring(dom, encoding="unicode")


def owner(metadata_xml: str) -> str | None:
    """The host named in our metadata element (``virDomain.metadata()``'s answer)."""
    try:
        return ET.fromstring(metadata_xml).get("host")
    except ET.ParseError:
        return None


def with_owner(domain_xml: str, host: str) -> str:
    """``domain_xml`` with our metadata naming ``host`` (a migration's destination)."""
    ET.register_namespace("kilonova", METADATA_NS)
    dom = ET.fromstring(domain_xml)
    for el in dom.iter(f"{{{METADATA_NS}}}instance"):
        el.set("host", host)
    return ET.tostring(dom, encoding="unicode")


def _hvm(dom: ET.Element, spec: GuestSpec) -> None:
    os_el = _sub(dom, "os", **({"firmware": "efi"} if spec.firmware == "uefi" else {}))
    # No arch: libvirt picks the host's, and the test driver knows only i686.
    type_attrs = {}
    if spec.machine_type:
        type_attrs["machine"] = spec.machine_type
    _sub(os_el, "type", "hvm", **type_attrs)
    if spec.kernel is not None:
        _sub(os_el, "kernel", str(spec.kernel))
        if spec.initrd is not None:
            _sub(os_el, "initrd", str(spec.initrd))
        if spec.cmdline:
            _sub(os_el, "cmdline", spec.cmdline)
    else:
        _sub(os_el, "boot", dev="hd")
    features = _sub(dom, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    _sub(dom, "clock", offset="localtime" if spec.os_type == "windows" else "utc")
    _sub(dom, "on_poweroff", "destroy")
    _sub(dom, "on_reboot", "restart")
    _sub(dom, "on_crash", "destroy")
    devices = _sub(dom, "devices")
    used: dict[str, int] = {}
    for disk in spec.disks:
        prefix = DISK_BUSES[disk.bus]
        index = used.get(prefix, 0)
        used[prefix] = index + 1
        el = _sub(devices, "disk", type="file", device=disk.device)
        _sub(el, "driver", name="qemu", type=disk.fmt,
             **({"cache": "none"} if disk.device == "disk" and disk.fmt == "qcow2" else {}))
        _sub(el, "source", file=str(disk.path))
        _sub(el, "target", dev=prefix + "abcdefghijklmnopqrstuvwxyz"[index], bus=disk.bus)
        if disk.device == "cdrom":
            _sub(el, "readonly")
    _interfaces(devices, spec)
    serial = _sub(devices, "serial", type="file")
    # append: the log survives reboots (QEMU truncates it on open otherwise).
    _sub(serial, "source", path=str(spec.console_log), append="on")
    _sub(serial, "target", port="0")
    _sub(devices, "memballoon", model="virtio")


def port_interface(port: PortPayload, vif_model: str = "virtio") -> ET.Element:
    """The guest interface of a port: on its network's bridge, with its MAC, through the
    host device the data plane firewalls (``compute_agent.network.names``)."""
    iface = ET.Element("interface", type="bridge")
    _sub(iface, "mac", address=port.mac_address)
    details = port.vif_details or {}
    if port.vif_type == "ovs":
        # An external Neutron's Open vSwitch agent: its integration bridge, the port
        # found by its id in the interface's external ids.
        _sub(iface, "source", bridge=str(details.get("bridge_name") or "br-int"))
        virtualport = _sub(iface, "virtualport", type="openvswitch")
        _sub(virtualport, "parameters", interfaceid=str(port.id))
    else:
        # Ours, or an external Neutron's Linux bridge agent (named as ours are).
        _sub(iface, "source", bridge=str(details.get("bridge_name")
                                         or names.bridge(port.network_id)))
    _sub(iface, "target", dev=names.tap(port.id))
    _sub(iface, "model", type=vif_model)
    if port.mtu:
        _sub(iface, "mtu", size=str(port.mtu))
    return iface


def port_interface_xml(port: PortPayload, vif_model: str = "virtio") -> str:
    """``port_interface`` as the XML ``attachDeviceFlags`` takes."""
    return ET.tostring(port_interface(port, vif_model), encoding="unicode")


def interface_model(domain_xml: str) -> str | None:
    """The model of the guest's first interface (a hot-plugged one matches it)."""
    model = ET.fromstring(domain_xml).find("./devices/interface/model")
    return None if model is None else model.get("type")


def has_interface(domain_xml: str, mac: str) -> bool:
    """Whether the guest has an interface with this MAC."""
    return any((el.get("address") or "").lower() == mac.lower()
               for el in ET.fromstring(domain_xml).iterfind("./devices/interface/mac"))


def _interfaces(devices: ET.Element, spec: GuestSpec) -> None:
    if spec.ports:
        for port in spec.ports:
            devices.append(port_interface(port, spec.vif_model))
        return
    if spec.network:
        iface = _sub(devices, "interface", type="network")
        _sub(iface, "source", network=spec.network)
    elif spec.bridge:
        iface = _sub(devices, "interface", type="bridge")
        _sub(iface, "source", bridge=spec.bridge)
    else:
        return
    if spec.mac:
        _sub(iface, "mac", address=spec.mac)
    _sub(iface, "model", type=spec.vif_model)


def _lxc(dom: ET.Element, spec: GuestSpec) -> None:
    os_el = _sub(dom, "os")
    _sub(os_el, "type", "exe")
    _sub(os_el, "init", spec.lxc_init)
    _sub(dom, "on_poweroff", "destroy")
    _sub(dom, "on_reboot", "restart")
    devices = _sub(dom, "devices")
    if spec.lxc_rootfs is not None:
        fs = _sub(devices, "filesystem", type="mount")
        _sub(fs, "source", dir=str(spec.lxc_rootfs))
        _sub(fs, "target", dir="/")
    _interfaces(devices, spec)
    _sub(devices, "console", type="pty")
