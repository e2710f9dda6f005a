"""Interfaces hot-plugged into a guest and out (os-interface) by LibvirtDriver.

A running guest changes live and in its persistent definition, a stopped one only in
its definition; libvirt matches the interface to remove by its MAC.
"""

from __future__ import annotations

import uuid

import libvirt

from common.messages import InstancePayload, PortPayload
from compute_agent.virt.libvirt import guest_xml
from compute_agent.virt.libvirt.base import DriverBase
from compute_agent.virt.libvirt.errors import translated

LIVE_AND_CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG


def _flags(dom: libvirt.virDomain) -> int:
    return int(LIVE_AND_CONFIG if dom.isActive() else libvirt.VIR_DOMAIN_AFFECT_CONFIG)


class InterfaceOps(DriverBase):
    def attach_interface(self, instance: InstancePayload, port_info: PortPayload) -> None:
        dom = self._domain(instance.uuid)
        with translated(f"attaching port {port_info.id} to guest {instance.uuid}"):
            current = dom.XMLDesc(0)
            if guest_xml.has_interface(current, port_info.mac_address):
                return  # a message delivered twice: plugged already
            model = guest_xml.interface_model(current) or "virtio"
            dom.attachDeviceFlags(guest_xml.port_interface_xml(port_info, model), _flags(dom))

    def detach_interface(self, instance: InstancePayload, port_id: uuid.UUID) -> None:
        port = next((p for p in instance.ports if p.id == port_id), None)
        if port is None:
            return  # nothing names its MAC: the guest cannot have it
        dom = self._domain(instance.uuid)
        with translated(f"detaching port {port_id} from guest {instance.uuid}"):
            if not guest_xml.has_interface(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
                                           port.mac_address):
                return
            dom.detachDeviceFlags(guest_xml.port_interface_xml(port), _flags(dom))
