"""Actions of LibvirtDriver on a guest that stays on this host: rebuild, rescue, unrescue,
NMI, password, diagnostics."""

from __future__ import annotations

import logging
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import libvirt

from common.errors import Conflict, ControlPlaneError, DriverError
from common.messages import (
    DIAGNOSTICS_STATES,
    CpuDiagnostics,
    DiskDiagnostics,
    GuestDiagnostics,
    InstancePayload,
    MemoryDiagnostics,
    NicDiagnostics,
)
from compute_agent.virt.libvirt import disks, guest_xml
from compute_agent.virt.libvirt.base import DriverBase
from compute_agent.virt.libvirt.errors import translated
from compute_agent.virt.libvirt.images import ImageCache
from compute_agent.virt.libvirt.state import power_state

LOG = logging.getLogger(__name__)

# The guest's own definition while a rescue guest runs in its place (as upstream names it).
UNRESCUE_XML = "unrescue.xml"
RESCUE_DISK = "disk.rescue"
EPHEMERAL_DISK = "disk.eph0"
YES = {"yes", "true", "1", "on"}


def _hard_stop(dom: libvirt.virDomain) -> None:
    try:
        if dom.isActive():
            dom.destroy()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:  # already stopped
            raise


class GuestActionOps(DriverBase):
    images: ImageCache
    instances_path: Path

    @property
    def domain_type(self) -> str:
        raise NotImplementedError

    def destroy(self, instance_uuid: uuid.UUID) -> None:
        raise NotImplementedError

    def _prepare(self, instance: InstancePayload) -> guest_xml.GuestSpec:
        raise NotImplementedError

    def _pump_console(self, dom: libvirt.virDomain) -> None:
        raise NotImplementedError

    def _start(self, xml: str, doing: str) -> int:
        with translated(doing):
            dom = self.conn.call(lambda c: c.defineXML(xml))
            dom.create()
            self._pump_console(dom)
            return power_state(dom)

    # -- rebuild ---------------------------------------------------------------------

    def rebuild(self, instance: InstancePayload, admin_pass: str | None,
                preserve_ephemeral: bool) -> int:
        """Destroy the guest and its files, then spawn it from the recorded image; the
        ephemeral disk survives when asked to. A missing guest (a server in ERROR) is
        made anew. Raises DriverError (the guest is gone)."""
        del admin_pass  # the guest's password is its image's; no agent sets it at boot
        inst_dir = self.instance_dir(instance.uuid)
        eph = inst_dir / EPHEMERAL_DISK
        kept = self.instances_path / f".{instance.uuid}.{EPHEMERAL_DISK}"
        if preserve_ephemeral and eph.exists():
            eph.rename(kept)
        self.destroy(instance.uuid)
        if kept.exists():
            inst_dir.mkdir(parents=True, exist_ok=True)
            kept.rename(eph)
        try:
            spec = self._prepare(instance)
            return self._start(guest_xml.to_xml(spec), f"starting rebuilt guest {instance.uuid}")
        except ControlPlaneError as exc:
            self.destroy(instance.uuid)
            if isinstance(exc, DriverError):
                raise
            raise DriverError(f"rebuild of {instance.uuid} failed: {exc.message}") from exc

    # -- rescue ----------------------------------------------------------------------

    def rescue(self, instance: InstancePayload, rescue_image_ref: str,
               admin_pass: str | None) -> int:
        """Keep the guest's definition, boot ``rescue_image_ref`` in its place with the
        guest's root disk attached second (and its config drive)."""
        del admin_pass  # as for rebuild: nothing in the guest would read it
        if self._cfg.virt_type == "lxc":
            raise DriverError("rescue is not supported for LXC guests")
        dom = self._domain(instance.uuid)
        inst_dir = self.instance_dir(instance.uuid)
        saved = inst_dir / UNRESCUE_XML
        with translated(f"stopping guest {instance.uuid} for its rescue"):
            if not saved.exists():
                saved.write_text(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            _hard_stop(dom)
        try:
            spec = self._rescue_spec(instance, rescue_image_ref, inst_dir)
            return self._start(guest_xml.to_xml(spec), f"starting rescue of {instance.uuid}")
        except ControlPlaneError as exc:
            self._restore(instance.uuid, saved)
            if isinstance(exc, DriverError):
                raise
            raise DriverError(f"rescue of {instance.uuid} failed: {exc.message}") from exc

    def _rescue_spec(self, instance: InstancePayload, image_ref: str, inst_dir: Path
                     ) -> guest_xml.GuestSpec:
        meta = self.images.metadata(image_ref)
        props = {k: str(v) for k, v in meta.items() if isinstance(v, str)}
        base = self.images.fetch(image_ref)
        rescue_disk = inst_dir / RESCUE_DISK
        rescue_disk.unlink(missing_ok=True)
        disks.create_overlay(base, disks.image_format(meta.get("disk_format")), rescue_disk,
                             instance.flavor.root_gb)
        bus = guest_xml.disk_bus(props)
        attached = [guest_xml.Disk(rescue_disk, "qcow2", bus),
                    guest_xml.Disk(inst_dir / "disk", "qcow2", bus)]
        drive = inst_dir / "disk.config"
        if drive.exists():
            attached.append(guest_xml.Disk(drive, "raw", guest_xml.cdrom_bus(props),
                                           device="cdrom"))
        kernel = self.images.fetch(props["kernel_id"]) if props.get("kernel_id") else None
        initrd = self.images.fetch(props["ramdisk_id"]) if props.get("ramdisk_id") else None
        return guest_xml.spec_for(instance, self.hostname, props, self.domain_type, inst_dir,
                                  attached, kernel=kernel, initrd=initrd,
                                  network=self._cfg.network, bridge=self._cfg.bridge)

    def _restore(self, instance_uuid: uuid.UUID, saved: Path) -> int:
        """Put the guest's own definition back and start it."""
        dom = self._domain(instance_uuid)
        with translated(f"stopping rescue of {instance_uuid}"):
            _hard_stop(dom)
        state = self._start(saved.read_text(), f"starting guest {instance_uuid} again")
        saved.unlink(missing_ok=True)
        (saved.parent / RESCUE_DISK).unlink(missing_ok=True)
        return state

    def unrescue(self, instance: InstancePayload) -> int:
        saved = self.instance_dir(instance.uuid) / UNRESCUE_XML
        if not saved.exists():
            raise DriverError(f"guest {instance.uuid} is not rescued: no kept definition")
        return self._restore(instance.uuid, saved)

    # -- NMI, password ---------------------------------------------------------------

    def inject_nmi(self, instance_uuid: uuid.UUID) -> None:
        dom = self._domain(instance_uuid)
        with translated(f"injecting an NMI into {instance_uuid}"):
            if not dom.isActive():
                raise DriverError(f"guest {instance_uuid} is not running")
            dom.injectNMI(0)

    def set_admin_password(self, instance: InstancePayload, password: str) -> None:
        """Through the QEMU guest agent, which the image must declare
        (``hw_qemu_guest_agent=yes``), as upstream's libvirt driver. Raises Conflict."""
        props: dict[str, Any] = (self.images.metadata(instance.image_ref)
                                 if instance.image_ref else {})
        if str(props.get("hw_qemu_guest_agent", "")).lower() not in YES:
            raise Conflict("QEMU guest agent is not enabled")
        user = props.get("os_admin_user") or (
            "Administrator" if props.get("os_type") == "windows" else "root")
        dom = self._domain(instance.uuid)
        try:
            dom.setUserPassword(str(user), password, 0)
        except libvirt.libvirtError as exc:
            raise Conflict(f"Failed to set admin password on {instance.uuid}: "
                           f"{exc.get_error_message()}") from None

    # -- diagnostics -----------------------------------------------------------------

    def diagnostics(self, instance: InstancePayload) -> GuestDiagnostics:
        dom = self._domain(instance.uuid)
        with translated(f"reading diagnostics of {instance.uuid}"):
            _state, max_kib, used_kib, _ncpu, _cputime = dom.info()
            active = bool(dom.isActive())
            tree = ET.fromstring(dom.XMLDesc(0))
            cpus = [CpuDiagnostics(id=num, time=cpu_time)
                    for num, _st, cpu_time, _pcpu in (dom.vcpus()[0] if active else [])]
        return GuestDiagnostics(
            state=DIAGNOSTICS_STATES.get(power_state(dom), "pending"), driver="libvirt",
            hypervisor=self._cfg.virt_type, hypervisor_os="linux",
            uptime=_uptime(dom.name()) if active else None,
            config_drive=(self.instance_dir(instance.uuid) / "disk.config").exists(),
            memory_details=MemoryDiagnostics(maximum=max_kib // 1024, used=used_kib // 1024),
            cpu_details=cpus, disk_details=_disks(dom, tree, active),
            nic_details=_nics(dom, tree, active))


def _uptime(name: str) -> int | None:
    """Seconds since QEMU started the guest (its pid file's age)."""
    pid_file = Path("/run/libvirt/qemu") / f"{name}.pid"
    try:
        return max(0, int(time.time() - pid_file.stat().st_mtime))
    except OSError:
        return None


def _disks(dom: libvirt.virDomain, tree: ET.Element, active: bool) -> list[DiskDiagnostics]:
    out = []
    for disk in tree.findall("./devices/disk[@device='disk']"):
        target = disk.find("target")
        dev = target.get("dev") if target is not None else None
        stats: tuple[int, ...] | None = None
        if active and dev:
            try:
                stats = dom.blockStats(dev)
            except libvirt.libvirtError as exc:
                LOG.debug("no block stats of %s on %s: %s", dev, dom.name(), exc)
        if stats is None:
            out.append(DiskDiagnostics())
            continue
        rd_req, rd_bytes, wr_req, wr_bytes, errs = stats
        out.append(DiskDiagnostics(read_bytes=rd_bytes, read_requests=rd_req,
                                   write_bytes=wr_bytes, write_requests=wr_req,
                                   errors_count=max(errs, 0)))
    return out


def _nics(dom: libvirt.virDomain, tree: ET.Element, active: bool) -> list[NicDiagnostics]:
    out = []
    for nic in tree.findall("./devices/interface"):
        mac = nic.find("mac")
        target = nic.find("target")
        dev = target.get("dev") if target is not None else None
        address = mac.get("address") if mac is not None else None
        stats: tuple[int, ...] | None = None
        if active and dev:
            try:
                stats = dom.interfaceStats(dev)
            except libvirt.libvirtError as exc:
                LOG.debug("no interface stats of %s on %s: %s", dev, dom.name(), exc)
        if stats is None:
            out.append(NicDiagnostics(mac_address=address))
            continue
        rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop = stats
        out.append(NicDiagnostics(
            mac_address=address, rx_octets=rx_bytes, rx_packets=rx_packets,
            rx_errors=rx_errs, rx_drop=rx_drop, tx_octets=tx_bytes, tx_packets=tx_packets,
            tx_errors=tx_errs, tx_drop=tx_drop))
    return out

