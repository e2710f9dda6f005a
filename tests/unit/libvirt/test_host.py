"""Host capacity and traits from libvirt's host info and capabilities."""

from __future__ import annotations

import uuid
from pathlib import Path

from common.settings import ComputeSettings
from compute_agent.virt.libvirt import host

CAPS = """<capabilities><host><uuid>6e1f6b4e-3c43-4c4b-9b0e-0cd1e4a7b9a1</uuid>
<cpu><arch>x86_64</arch><model>Skylake</model>
<feature name='sse4.2'/><feature name='avx2'/><feature name='pclmuldq'/>
<feature name='vmx'/><feature name='not-a-trait'/></cpu></host></capabilities>"""


def test_node_report_uses_host_info_reserved_amounts_and_ratios(tmp_path: Path) -> None:
    settings = ComputeSettings(reserved_host_memory_mb=512, reserved_host_cpus=1,
                               cpu_allocation_ratio=8.0, ram_allocation_ratio=1.5)
    report = host.node_report(["x86_64", 8192, 4, 2000, 1, 1, 4, 1], CAPS, "h1", tmp_path,
                              "qemu", settings)

    assert report.uuid == uuid.UUID("6e1f6b4e-3c43-4c4b-9b0e-0cd1e4a7b9a1")
    assert (report.vcpus, report.memory_mb) == (4, 8192)
    assert report.local_gb > 0
    inv = report.inventories()
    assert inv["VCPU"]["reserved"] == 1 and inv["VCPU"]["allocation_ratio"] == 8.0
    assert inv["MEMORY_MB"]["reserved"] == 512
    assert inv["MEMORY_MB"]["allocation_ratio"] == 1.5


def test_cpu_features_become_standard_traits() -> None:
    traits = host.traits(CAPS, "kvm")

    assert {"HW_CPU_X86_SSE42", "HW_CPU_X86_AVX2", "HW_CPU_X86_CLMUL",
            "HW_CPU_X86_VMX"} <= set(traits)
    assert "COMPUTE_ARCH_X86_64" in traits
    assert "COMPUTE_STORAGE_BUS_VIRTIO" in traits
    assert not any("NOT" in t for t in traits)


def test_lxc_host_has_no_disk_bus_traits() -> None:
    traits = host.traits(CAPS, "lxc")

    assert "COMPUTE_STORAGE_BUS_LXC" in traits
    assert "COMPUTE_STORAGE_BUS_VIRTIO" not in traits


def test_node_uuid_falls_back_to_the_hostname() -> None:
    assert host.node_uuid(None, "a") == host.node_uuid("", "a") != host.node_uuid(None, "b")
