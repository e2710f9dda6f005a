"""ImagePropertiesFilter: the image's architecture, hypervisor type and VM mode."""

from __future__ import annotations

from dataclasses import dataclass

from common.messages import RequestSpec
from scheduler.select import HostState

ARCH_TRAIT = "HW_ARCH_"
# Other spellings of an architecture, as upstream canonicalises them.
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "i386": "i686", "x86": "i686",
                 "arm64": "aarch64"}
# Hypervisor types a host of a type can also run: a KVM host runs plain QEMU guests, and
# libvirt names its QEMU driver "qemu" whether it accelerates with KVM or not.
_HV_ALSO = {"kvm": {"qemu"}, "qemu": {"kvm"}}
# The VM mode of guests each hypervisor type runs.
_VM_MODE = {"lxc": "exe", "uml": "uml", "xen": "xen"}


def canonical_arch(name: str) -> str:
    lowered = name.lower()
    return _ARCH_ALIASES.get(lowered, lowered)


def wanted_properties(spec: RequestSpec) -> dict[str, str]:
    """The image's architecture, hypervisor type and VM mode, where it names them."""
    props = spec.image_properties
    out = {}
    for name, old_name in (("hw_architecture", "architecture"),
                           ("img_hv_type", "hypervisor_type"), ("hw_vm_mode", "vm_mode")):
        value = props.get(name) or props.get(old_name)
        if value:
            out[name] = value
    return out


def host_arches(host: HostState) -> set[str]:
    return {canonical_arch(t[len(ARCH_TRAIT):]) for t in host.traits
            if t.startswith(ARCH_TRAIT)}


@dataclass(frozen=True)
class ImagePropertiesFilter:
    """A host passes when it can run the image's architecture, hypervisor and VM mode.

    A host that does not report its architecture (no ``HW_ARCH_*`` trait) is not held
    to the image's.
    """

    name: str = "ImagePropertiesFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        wanted = wanted_properties(spec)
        if not wanted:
            return True
        arches = host_arches(host)
        arch = wanted.get("hw_architecture")
        if arch is not None and arches and canonical_arch(arch) not in arches:
            return False
        hv_type = host.hypervisor_type.lower()
        runs = {hv_type} | _HV_ALSO.get(hv_type, set())
        wanted_hv = wanted.get("img_hv_type")
        if wanted_hv is not None and wanted_hv.lower() not in runs:
            return False
        mode = wanted.get("hw_vm_mode")
        return mode is None or mode.lower() == _VM_MODE.get(hv_type, "hvm")

    def describe(self, spec: RequestSpec) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(wanted_properties(spec).items()))
