"""The addresses guests got: libvirt's DHCP leases (network interfaces) and ARP table
(bridge interfaces), matched to the guest's interfaces by MAC."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from common.messages import GuestAddress
from compute_agent.network import names
from compute_agent.virt.libvirt.base import DriverBase
from compute_agent.virt.libvirt.errors import translated

# libvirt's address types in interfaceAddresses() answers.
_VERSIONS = {libvirt.VIR_IP_ADDR_TYPE_IPV4: 4, libvirt.VIR_IP_ADDR_TYPE_IPV6: 6}


def plugged_networks(domain_xml: str) -> dict[str, tuple[str, str]]:
    """MAC -> (interface type, network or bridge name) of the guest's interfaces."""
    out: dict[str, tuple[str, str]] = {}
    for iface in ET.fromstring(domain_xml).iterfind("devices/interface"):
        kind = iface.get("type", "")
        mac, source = iface.find("mac"), iface.find("source")
        if kind not in ("network", "bridge") or mac is None or source is None:
            continue
        if _port_backed(iface):
            continue  # a port's addresses are the API's, never read back from the host
        name = source.get(kind)
        if name and mac.get("address"):
            out[mac.get("address", "").lower()] = (kind, name)
    return out


def _port_backed(iface: ET.Element) -> bool:
    """A port's interface (guest_xml.port_interface): its network's bridge, its tap."""
    source, target = iface.find("source"), iface.find("target")
    return (source is not None and target is not None
            and (source.get("bridge") or "").startswith(names.BRIDGE_PREFIX)
            and (target.get("dev") or "").startswith(names.TAP_PREFIX))


def from_answer(answer: dict[str, Any], plugged: dict[str, tuple[str, str]]
                ) -> list[GuestAddress]:
    """``virDomain.interfaceAddresses()``'s answer as addresses of plugged interfaces."""
    out = []
    for iface in answer.values():
        mac = str(iface.get("hwaddr") or "").lower()
        if mac not in plugged:
            continue
        for addr in iface.get("addrs") or []:
            version = _VERSIONS.get(addr.get("type"))
            if version is not None and addr.get("addr"):
                out.append(GuestAddress(network=plugged[mac][1], mac=mac,
                                        addr=str(addr["addr"]), version=version))
    return sorted(out, key=lambda a: (a.network, a.mac, a.version, a.addr))


class AddressOps(DriverBase):
    def guest_addresses(self, instance_uuid: uuid.UUID) -> list[GuestAddress]:
        dom = self._domain(instance_uuid)
        with translated(f"reading addresses of {instance_uuid}"):
            if not dom.isActive():
                return []
            plugged = plugged_networks(dom.XMLDesc(0))
            kinds = {kind for kind, _ in plugged.values()}
            answer: dict[str, Any] = {}
            # Leases only know network interfaces (libvirt's dnsmasq); a bridge's
            # addresses can only come from the host's ARP table.
            if "network" in kinds:
                answer.update(dom.interfaceAddresses(
                    libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0) or {})
            if "bridge" in kinds:
                answer.update({f"arp-{k}": v for k, v in (dom.interfaceAddresses(
                    libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, 0) or {}).items()})
            return from_answer(answer, plugged)
