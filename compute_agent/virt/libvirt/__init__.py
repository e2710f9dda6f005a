"""The libvirt driver: QEMU/KVM and LXC guests through libvirt-python."""

from compute_agent.virt.libvirt.driver import LibvirtDriver

__all__ = ["LibvirtDriver"]
