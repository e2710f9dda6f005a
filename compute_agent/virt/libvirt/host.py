"""What this hypervisor offers: capacity for placement's inventory, and its traits."""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import os_traits

from common.messages import NodeReport
from common.settings import ComputeSettings

# libvirt CPU feature name -> os-traits suffix, where the two spellings differ.
CPU_FEATURE_ALIASES = {
    "pclmuldq": "CLMUL", "fma": "FMA3", "sse4.1": "SSE41", "sse4.2": "SSE42",
    "sse4a": "SSE4A", "pni": "SSE3", "avx512-vpopcntdq": "AVX512VPOPCNTDQ",
    "avx512vnni": "AVX512VNNI", "avx512-bf16": "AVX512BF16",
}
ARCH_TRAITS = {"x86_64": "COMPUTE_ARCH_X86_64", "aarch64": "COMPUTE_ARCH_AARCH64",
               "ppc64le": "COMPUTE_ARCH_PPC64LE", "s390x": "COMPUTE_ARCH_S390X"}
# What this driver implements, whatever the host.
DRIVER_TRAITS = {
    "COMPUTE_NODE", "COMPUTE_IMAGE_TYPE_RAW", "COMPUTE_IMAGE_TYPE_QCOW2",
    "COMPUTE_IMAGE_TYPE_AKI", "COMPUTE_IMAGE_TYPE_ARI", "COMPUTE_IMAGE_TYPE_AMI",
    "COMPUTE_STORAGE_BUS_VIRTIO", "COMPUTE_STORAGE_BUS_IDE", "COMPUTE_STORAGE_BUS_SATA",
    "COMPUTE_STORAGE_BUS_SCSI", "COMPUTE_NET_VIF_MODEL_VIRTIO", "COMPUTE_NET_VIF_MODEL_E1000",
    "COMPUTE_NET_VIF_MODEL_RTL8139", "COMPUTE_FIRMWARE_BIOS", "COMPUTE_FIRMWARE_UEFI",
    "COMPUTE_SAME_HOST_COLD_MIGRATE",
}
LXC_TRAITS = {"COMPUTE_NODE", "COMPUTE_STORAGE_BUS_LXC", "COMPUTE_IMAGE_TYPE_RAW"}


def node_uuid(host_uuid: str | None, hostname: str) -> uuid.UUID:
    """The node's provider uuid: libvirt's host uuid when it has one, else from the name."""
    if host_uuid:
        try:
            return uuid.UUID(host_uuid)
        except ValueError:
            pass
    return uuid.uuid5(uuid.NAMESPACE_DNS, f"kilonova-libvirt-node.{hostname}")


def disk_gb(path: Path) -> int:
    """Size in GiB of the filesystem holding ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize // (1024 ** 3)


def node_report(info: list[object], capabilities: str, hostname: str, instances_path: Path,
                hypervisor_type: str, settings: ComputeSettings) -> NodeReport:
    """The NodeReport of a host from ``getInfo()`` and ``getCapabilities()``."""
    root = ET.fromstring(capabilities)
    memory_mb = int(str(info[1]))
    vcpus = int(str(info[2]))
    return NodeReport(
        uuid=node_uuid(root.findtext("host/uuid"), hostname),
        hypervisor_hostname=hostname, hypervisor_type=hypervisor_type,
        vcpus=vcpus, memory_mb=memory_mb, local_gb=disk_gb(instances_path),
        cpu_allocation_ratio=settings.cpu_allocation_ratio,
        ram_allocation_ratio=settings.ram_allocation_ratio,
        disk_allocation_ratio=settings.disk_allocation_ratio,
        reserved_vcpus=settings.reserved_host_cpus,
        reserved_memory_mb=settings.reserved_host_memory_mb,
        reserved_disk_gb=settings.reserved_host_disk_gb,
    )


def cpu_traits(capabilities: str) -> set[str]:
    """HW_CPU_X86_* traits of the host CPU's features that os-traits knows."""
    root = ET.fromstring(capabilities)
    known = set(os_traits.get_traits(prefix="HW_CPU_X86_"))
    out = set()
    for feature in root.iterfind("host/cpu/feature"):
        name = feature.get("name", "")
        trait = "HW_CPU_X86_" + CPU_FEATURE_ALIASES.get(name, name.upper().replace(".", ""))
        if trait in known:
            out.add(trait)
    return out


def traits(capabilities: str, virt_type: str) -> list[str]:
    """Every standard trait this host and driver have."""
    root = ET.fromstring(capabilities)
    found = set(LXC_TRAITS if virt_type == "lxc" else DRIVER_TRAITS)
    found |= cpu_traits(capabilities)
    arch = root.findtext("host/cpu/arch") or ""
    if arch in ARCH_TRAITS:
        found.add(ARCH_TRAITS[arch])
    known = set(os_traits.get_traits())
    return sorted(found & known)
