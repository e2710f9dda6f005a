"""The domain XML generator, read back with ElementTree."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from common.errors import BadRequest
from common.messages import FlavorPayload, InstancePayload
from compute_agent.virt.libvirt import guest_xml
from compute_agent.virt.libvirt.guest_xml import Disk

INSTANCE_DIR = Path("/srv/instances/x")


def instance(vcpus: int = 2, memory_mb: int = 256) -> InstancePayload:
    return InstancePayload(
        uuid=uuid.uuid4(), display_name="vm", project_id="p", user_id="u",
        flavor=FlavorPayload(flavorid="f", name="f", vcpus=vcpus, memory_mb=memory_mb,
                             root_gb=1),
        image_ref="img", vm_state="building", task_state="spawning", power_state=0,
        host="h", node="h")


def render(props: dict[str, str] | None = None, domain_type: str = "qemu",
           **kw: object) -> tuple[ET.Element, InstancePayload]:
    inst = instance()
    props = props or {}
    disks = [Disk(INSTANCE_DIR / "disk", "qcow2", guest_xml.disk_bus(props)),
             Disk(INSTANCE_DIR / "disk.config", "raw", guest_xml.cdrom_bus(props), "cdrom")]
    spec = guest_xml.spec_for(inst, "h1", props, domain_type, INSTANCE_DIR, disks,
                              **kw)  # type: ignore[arg-type]
    return ET.fromstring(guest_xml.to_xml(spec)), inst


def test_flavor_sets_vcpus_memory_name_and_uuid() -> None:
    dom, inst = render()

    assert dom.get("type") == "qemu"
    assert dom.findtext("vcpu") == "2"
    memory = dom.find("memory")
    assert memory is not None and memory.text == str(256 * 1024)
    assert memory.get("unit") == "KiB"
    assert dom.findtext("uuid") == str(inst.uuid)
    assert dom.findtext("name") == f"instance-{inst.uuid}"


def test_disks_default_to_virtio_and_config_drive_is_a_readonly_ide_cdrom() -> None:
    dom, _ = render()

    disks = dom.findall("devices/disk")
    root, cdrom = disks
    assert root.get("device") == "disk"
    assert root.find("target").attrib == {"dev": "vda", "bus": "virtio"}  # type: ignore[union-attr]
    assert root.find("driver").get("type") == "qcow2"  # type: ignore[union-attr]
    assert root.find("source").get("file") == str(INSTANCE_DIR / "disk")  # type: ignore[union-attr]
    assert cdrom.get("device") == "cdrom"
    assert cdrom.find("target").attrib == {"dev": "hda", "bus": "ide"}  # type: ignore[union-attr]
    assert cdrom.find("readonly") is not None


def test_image_properties_choose_bus_machine_and_firmware() -> None:
    dom, _ = render({"hw_disk_bus": "sata", "hw_machine_type": "q35",
                     "hw_firmware_type": "uefi", "os_type": "windows"})

    targets = [d.find("target").attrib for d in dom.findall("devices/disk")]  # type: ignore[union-attr]
    assert targets == [{"dev": "sda", "bus": "sata"}, {"dev": "sdb", "bus": "sata"}]
    assert dom.find("os").get("firmware") == "efi"  # type: ignore[union-attr]
    assert dom.find("os/type").get("machine") == "q35"  # type: ignore[union-attr]
    assert dom.find("clock").get("offset") == "localtime"  # type: ignore[union-attr]


def test_unknown_disk_bus_is_refused() -> None:
    with pytest.raises(BadRequest, match="hw_disk_bus"):
        render({"hw_disk_bus": "floppy"})


def test_serial_console_is_logged_to_the_instance_directory() -> None:
    dom, _ = render()

    serial = dom.find("devices/serial")
    assert serial is not None and serial.get("type") == "file"
    source = serial.find("source")
    assert source is not None
    assert source.get("path") == str(INSTANCE_DIR / "console.log")
    assert source.get("append") == "on"  # reboots add to the log


def test_direct_kernel_boot_has_kernel_initrd_and_cmdline() -> None:
    dom, _ = render({"os_command_line": "console=ttyS0 quiet"},
                    kernel=Path("/cache/k"), initrd=Path("/cache/r"))

    assert dom.findtext("os/kernel") == "/cache/k"
    assert dom.findtext("os/initrd") == "/cache/r"
    assert dom.findtext("os/cmdline") == "console=ttyS0 quiet"
    assert dom.find("os/boot") is None


def test_disk_boot_without_kernel() -> None:
    dom, _ = render()

    assert dom.find("os/kernel") is None
    assert dom.find("os/boot").get("dev") == "hd"  # type: ignore[union-attr]
    assert dom.find("features/acpi") is not None


def test_no_interface_without_network_and_vif_model_from_image() -> None:
    dom, _ = render()
    assert dom.findall("devices/interface") == []

    dom, _ = render({"hw_vif_model": "e1000"}, network="default")
    iface = dom.find("devices/interface")
    assert iface is not None and iface.get("type") == "network"
    assert iface.find("source").get("network") == "default"  # type: ignore[union-attr]
    assert iface.find("model").get("type") == "e1000"  # type: ignore[union-attr]

    dom, _ = render(bridge="br0")
    assert dom.find("devices/interface/source").get("bridge") == "br0"  # type: ignore[union-attr]


def test_lxc_guest_runs_init_from_a_root_directory() -> None:
    dom, _ = render({"os_init": "/bin/sh"}, domain_type="lxc", lxc_rootfs=Path("/r/rootfs"))

    assert dom.get("type") == "lxc"
    assert dom.findtext("os/type") == "exe"
    assert dom.findtext("os/init") == "/bin/sh"
    fs = dom.find("devices/filesystem")
    assert fs is not None
    assert fs.find("source").get("dir") == "/r/rootfs"  # type: ignore[union-attr]
    assert fs.find("target").get("dir") == "/"  # type: ignore[union-attr]


def test_metadata_names_the_owning_host_and_migration_rewrites_it() -> None:
    dom, inst = render()
    xml = ET.tostring(dom, encoding="unicode")
    ns = guest_xml.METADATA_NS

    el = dom.find(f"metadata/{{{ns}}}instance")
    assert el is not None and el.get("host") == "h1" and el.get("uuid") == str(inst.uuid)
    moved = ET.fromstring(guest_xml.with_owner(xml, "h2"))
    assert moved.find(f"metadata/{{{ns}}}instance").get("host") == "h2"  # type: ignore[union-attr]
    assert guest_xml.owner(ET.tostring(el, encoding="unicode")) == "h1"
