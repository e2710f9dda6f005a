"""Flavor extra spec validation (compute API 2.86).

From 2.86 a key in a namespace the compute service knows (``hw:``, ``hw_rng:``,
``hw_video:``, ``quota:``, ``resources*:``, ``trait*:``, ``os:``, ...) must be one of
that namespace's keys and its value must fit the key's type; keys in other namespaces,
and keys without a namespace, are accepted unchecked, as upstream does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from common.errors import BadRequest

_INT = re.compile(r"-?\d+")
_BOOL = {"true", "false", "yes", "no", "1", "0", "y", "n", "on", "off", "t", "f"}


@dataclass(frozen=True)
class Spec:
    """A known key: ``check`` says why a value is wrong, or None when it fits."""

    check: Callable[[str], str | None]


def _enum(*values: str) -> Spec:
    def check(value: str) -> str | None:
        return None if value in values else f"must be one of {', '.join(values)}"
    return Spec(check)


def _int(minimum: int | None = None, maximum: int | None = None) -> Spec:
    def check(value: str) -> str | None:
        if not _INT.fullmatch(value):
            return "must be an integer"
        number = int(value)
        if minimum is not None and number < minimum:
            return f"must be at least {minimum}"
        if maximum is not None and number > maximum:
            return f"must be at most {maximum}"
        return None
    return Spec(check)


def _bool() -> Spec:
    return Spec(lambda v: None if v.lower() in _BOOL else "must be a boolean")


def _pattern(regex: str, what: str) -> Spec:
    compiled = re.compile(regex)
    return Spec(lambda v: None if compiled.fullmatch(v) else f"must be {what}")


_ANY = Spec(lambda _v: None)
_CPU_SET = _pattern(r"\^?\d+(-\d+)?(,\s*\^?\d+(-\d+)?)*", "a CPU set such as 0-3,^2")
_PAGE = _pattern(r"(large|small|any|\d+([kKmMgG][iI]?[bB]?)?)", "large, small, any or a size")

_HW: dict[str, Spec] = {
    "cpu_policy": _enum("dedicated", "shared", "mixed"),
    "cpu_thread_policy": _enum("prefer", "isolate", "require"),
    "cpu_emulator_threads": _enum("share", "isolate"),
    "cpu_dedicated_mask": _CPU_SET,
    "cpu_realtime": _bool(), "cpu_realtime_mask": _CPU_SET,
    "cpu_sockets": _int(1), "cpu_cores": _int(1), "cpu_threads": _int(1),
    "cpu_max_sockets": _int(1), "cpu_max_cores": _int(1), "cpu_max_threads": _int(1),
    "numa_nodes": _int(1), "mem_page_size": _PAGE,
    "mem_encryption": _bool(), "pmem": _ANY, "pci_numa_affinity_policy":
        _enum("required", "preferred", "legacy", "socket"),
    "boot_menu": _bool(), "vif_multiqueue_enabled": _bool(), "watchdog_action":
        _enum("disabled", "reset", "poweroff", "pause", "none"),
    "serial_port_count": _int(0), "emulation_architecture": _ANY,
    "hide_hypervisor_id": _bool(), "virtio_packed_ring": _bool(),
    "tpm_version": _enum("1.2", "2.0"), "tpm_model": _enum("tpm-tis", "tpm-crb"),
    "locked_memory": _bool(), "viommu_model": _enum("intel", "smmuv3", "virtio", "auto"),
    "maxphysaddr_mode": _enum("passthrough", "emulate"), "maxphysaddr_bits": _int(1),
    "cpu_model": _ANY, "ephemeral_encryption": _bool(),
    "ephemeral_encryption_format": _enum("luks", "plain"),
}
# Keys of hw: that end in a NUMA node number (hw:numa_cpus.0, hw:numa_mem.1, ...).
_HW_INDEXED: dict[str, Spec] = {
    "numa_cpus": _CPU_SET, "numa_mem": _int(0),
    "cpu_realtime_mask": _CPU_SET,
}
_HW_RNG = {"allowed": _bool(), "rate_bytes": _int(0), "rate_period": _int(0)}
_HW_VIDEO = {"ram_max_mb": _int(0)}
_QUOTA = re.compile(
    r"(cpu_(shares|period|quota|limit|reservation)|"
    r"disk_(read|write|total)_(bytes|iops)_sec|vif_(inbound|outbound)_(average|peak|burst)|"
    r"memory_(limit|reservation|shares_(level|share))|cpu_shares_level|"
    r"disk_io_(limit|reservation|shares_(level|share)))"
)
_RESOURCE_CLASS = re.compile(r"([A-Z0-9_]+)")
_RESOURCE_KEY = re.compile(r"resources([a-zA-Z0-9_-]{0,64}):(.+)")
_TRAIT_KEY = re.compile(r"trait([a-zA-Z0-9_-]{0,64}):(.+)")
_OS = {"secure_boot": _enum("required", "disabled", "optional"),
       "monitors": _int(1, 16)}


def _fail(key: str, why: str) -> BadRequest:
    return BadRequest(f"Validation failed; extra spec {key!r} {why}.")


def validate(key: str, value: str) -> None:
    """Check one extra spec as 2.86 does. Raises BadRequest naming the key."""
    namespace, sep, name = key.partition(":")
    if not sep:
        return
    spec: Spec | None
    if namespace == "hw":
        spec = _HW.get(name)
        if spec is None:
            base, dot, index = name.rpartition(".")
            spec = _HW_INDEXED.get(base) if dot and index.isdigit() else None
    elif namespace == "hw_rng":
        spec = _HW_RNG.get(name)
    elif namespace == "hw_video":
        spec = _HW_VIDEO.get(name)
    elif namespace == "os":
        spec = _OS.get(name)
    elif namespace == "quota":
        spec = _int() if _QUOTA.fullmatch(name) else None
    elif _RESOURCE_KEY.fullmatch(key):
        resource = key.split(":", 1)[1]
        if not _RESOURCE_CLASS.fullmatch(resource):
            raise _fail(key, "does not name a resource class")
        spec = _int(0)
    elif _TRAIT_KEY.fullmatch(key):
        spec = _enum("required", "forbidden")
    else:
        return  # a namespace we do not own (capabilities, aggregate_instance_extra_specs...)
    if spec is None:
        raise _fail(key, "does not exist")
    problem = spec.check(value)
    if problem is not None:
        raise _fail(key, f"has invalid value {value!r}: it {problem}")
