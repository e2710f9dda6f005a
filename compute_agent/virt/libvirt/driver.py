"""LibvirtDriver: host reporting, spawn, destroy and guest listing; other operations in
``power.py``, ``migration.py`` and ``guest_actions.py``."""

from __future__ import annotations

import logging
import queue
import shutil
import tarfile
import threading
import uuid
from pathlib import Path
from typing import Any

import libvirt

from common.errors import ControlPlaneError, DriverError, NotFound
from common.messages import InstancePayload, NodeReport
from common.settings import Settings
from compute_agent.images import ImageTransfer, image_api_auth, image_api_url
from compute_agent.virt.driver import PowerEventHandler
from compute_agent.virt.libvirt import configdrive, disks, guest_xml, host
from compute_agent.virt.libvirt.addresses import AddressOps
from compute_agent.virt.libvirt.connection import Connection
from compute_agent.virt.libvirt.errors import GuestNotFound, translated
from compute_agent.virt.libvirt.guest_actions import GuestActionOps
from compute_agent.virt.libvirt.images import HttpImageSource, ImageCache, ImageSource
from compute_agent.virt.libvirt.interfaces import InterfaceOps
from compute_agent.virt.libvirt.lxc_console import ConsolePumps
from compute_agent.virt.libvirt.migration import MigrationOps
from compute_agent.virt.libvirt.power import PowerOps
from compute_agent.virt.libvirt.state import power_state
from compute_agent.virt.steering import Steering

LOG = logging.getLogger(__name__)

UNDEFINE_FLAGS = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                  | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                  | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)


def default_uri(virt_type: str) -> str:
    return "lxc:///system" if virt_type == "lxc" else "qemu:///system"


class LibvirtDriver(PowerOps, MigrationOps, AddressOps, GuestActionOps, InterfaceOps):
    def __init__(self, settings: Settings, *, images: ImageSource | None = None,
                 hostname: str | None = None, transfer: ImageTransfer | None = None) -> None:
        self._settings = settings
        self._cfg = cfg = settings.libvirt
        self.hostname = hostname or settings.compute.host
        self.uri = cfg.uri or default_uri(cfg.virt_type)
        self.instances_path = cfg.instances_path or settings.data_dir / "instances"
        if images is None:
            http = HttpImageSource(image_api_url(settings), **image_api_auth(settings))
            images, transfer = http, transfer or http
        # Carries root disks of cold migrations between hosts (through the image API).
        self.transfer = transfer
        self.images = ImageCache(cfg.image_cache_path or self.instances_path / "_base", images)
        self._handler: PowerEventHandler | None = None
        self._events: queue.SimpleQueue[uuid.UUID | None] = queue.SimpleQueue()
        self._dispatcher: threading.Thread | None = None
        self._consoles = ConsolePumps()
        self._steering = Steering()
        self.conn = Connection(self.uri, on_lifecycle=self._lifecycle_event,
                               on_reconnect=self._readopt)

    @property
    def domain_type(self) -> str:
        return "test" if self.uri.startswith("test:") else self._cfg.virt_type

    def instance_dir(self, instance_uuid: uuid.UUID) -> Path:
        return self.instances_path / str(instance_uuid)

    # -- host ----------------------------------------------------------------------

    def node_report(self) -> NodeReport:
        with translated("reading host capacity"):
            info, caps, hv_type = self.conn.call(
                lambda c: (c.getInfo(), c.getCapabilities(), c.getType()))
        hv = "lxc" if self._cfg.virt_type == "lxc" else str(hv_type).lower()
        return host.node_report(info, caps, self.hostname, self.instances_path, hv,
                                self._settings.compute)

    def node_traits(self) -> list[str]:
        with translated("reading host capabilities"):
            caps = self.conn.call(lambda c: c.getCapabilities())
        return host.traits(caps, self._cfg.virt_type)

    # -- events --------------------------------------------------------------------

    def set_power_event_handler(self, handler: PowerEventHandler | None) -> None:
        self._handler = handler
        if handler is not None and self._dispatcher is None:
            # Handlers make RPC calls: never run them on libvirt's event loop thread.
            self._dispatcher = threading.Thread(target=self._dispatch, daemon=True,
                                                name=f"libvirt-events-{self.hostname}")
            self._dispatcher.start()
            self.conn.get()  # registers the lifecycle callback

    def _lifecycle_event(self, dom_uuid: str, event: int, detail: int) -> None:
        LOG.debug("lifecycle event %s on %s (detail %s)", event, dom_uuid, detail)
        self._events.put(uuid.UUID(dom_uuid))

    def _readopt(self) -> None:
        """After libvirtd came back: report every guest it still runs."""
        LOG.info("re-adopting guests after reconnecting to %s", self.uri)
        for guest_uuid in self.list_guests():
            self._events.put(guest_uuid)

    def _dispatch(self) -> None:
        while True:
            guest_uuid = self._events.get()
            if guest_uuid is None:
                return
            handler = self._handler
            if handler is None:
                continue
            try:
                dom = self._domain(guest_uuid)
                with translated(f"reading state of {guest_uuid}"):
                    if self._owner(dom) != self.hostname:
                        continue  # another agent's guest on a shared libvirtd
                    state = power_state(dom)
                handler(guest_uuid, state)
            except GuestNotFound:
                continue  # undefined meanwhile: the next sync reports it
            except Exception as exc:
                # The periodic sync records the state later; e.g. messaging is down.
                LOG.warning("power event for %s not delivered: %r", guest_uuid, exc)

    def close(self) -> None:
        self._events.put(None)
        self.conn.close()

    # -- lookups -------------------------------------------------------------------

    def _domain(self, instance_uuid: uuid.UUID) -> libvirt.virDomain:
        """The guest's domain. Raises GuestNotFound."""
        with translated(f"looking up guest {instance_uuid}"):
            return self.conn.call(lambda c: c.lookupByUUIDString(str(instance_uuid)))

    def power_state(self, instance_uuid: uuid.UUID) -> int:
        dom = self._domain(instance_uuid)
        with translated(f"reading state of {instance_uuid}"):
            return power_state(dom)

    def list_guests(self) -> dict[uuid.UUID, int]:
        with translated("listing guests"):
            domains = self.conn.call(lambda c: c.listAllDomains(0))
            out: dict[uuid.UUID, int] = {}
            for dom in domains:
                try:
                    if self._owner(dom) != self.hostname:
                        continue  # another agent's, or not ours at all
                    out[uuid.UUID(dom.UUIDString())] = power_state(dom)
                    self._pump_console(dom)
                except libvirt.libvirtError:
                    continue  # vanished while listing
            return out

    def _pump_console(self, dom: libvirt.virDomain) -> None:
        """LXC: (re)attach the console copier of a running guest; each listing (the
        periodic sync) converges it after starts, reboots and agent restarts."""
        if self._cfg.virt_type != "lxc" or not dom.isActive():
            return
        log = self.instance_dir(uuid.UUID(dom.UUIDString())) / "console.log"
        try:
            self.conn.call(lambda c: self._consoles.ensure(c, dom, log))
        except libvirt.libvirtError as exc:
            # E.g. another client holds the console: the next listing tries again.
            LOG.warning("console of %s not copied: %s", dom.name(), exc)

    @staticmethod
    def _owner(dom: libvirt.virDomain) -> str | None:
        if not dom.name().startswith("instance-"):
            return None
        try:
            xml = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, guest_xml.METADATA_NS, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
                return None
            raise
        return guest_xml.owner(xml)

    # -- spawn / destroy -----------------------------------------------------------

    def spawn(self, instance: InstancePayload) -> int:
        """Lay out disks and config drive, define and start the guest. Raises DriverError."""
        try:
            spec = self._prepare(instance)
            with translated(f"starting guest {instance.uuid}"):
                dom = self.conn.call(lambda c: c.defineXML(guest_xml.to_xml(spec)))
                dom.create()
                self._pump_console(dom)
                return power_state(dom)
        except ControlPlaneError as exc:
            self._cleanup_failed(instance.uuid)
            if isinstance(exc, DriverError):
                raise
            raise DriverError(f"spawn of {instance.uuid} failed: {exc.message}") from exc

    def _cleanup_failed(self, instance_uuid: uuid.UUID) -> None:
        try:
            self.destroy(instance_uuid)
        except ControlPlaneError:
            LOG.exception("cleaning up failed spawn of %s", instance_uuid)

    def _prepare(self, instance: InstancePayload) -> guest_xml.GuestSpec:
        """Files of ``instance`` in its directory, and the guest that uses them."""
        if not instance.image_ref:
            raise DriverError("booting from volume is not supported by the libvirt driver")
        image_id, meta = self._image_of(instance)
        props = {k: str(v) for k, v in meta.items() if isinstance(v, str)}
        base = self.images.fetch(image_id)
        base_fmt = disks.image_format(meta.get("disk_format"))
        inst_dir = self.instance_dir(instance.uuid)
        inst_dir.mkdir(parents=True, exist_ok=True)
        kernel = self.images.fetch(props["kernel_id"]) if props.get("kernel_id") else None
        initrd = self.images.fetch(props["ramdisk_id"]) if props.get("ramdisk_id") else None
        cfg = self._cfg
        if self._cfg.virt_type == "lxc":
            rootfs = self._lxc_rootfs(base, inst_dir)
            configdrive.write_tree(instance, rootfs)
            return guest_xml.spec_for(instance, self.hostname, props, "lxc", inst_dir, [],
                                      network=cfg.network, bridge=cfg.bridge,
                                      lxc_rootfs=rootfs)
        if image_id != instance.root_image and instance.root_image and not (
                inst_dir / "disk").exists():
            self._root_from_snapshot(instance.root_image, base, base_fmt, inst_dir / "disk")
        return guest_xml.spec_for(instance, self.hostname, props, self.domain_type, inst_dir,
                                  self._layout_disks(instance, props, base, base_fmt, inst_dir),
                                  kernel=kernel, initrd=initrd, network=cfg.network,
                                  bridge=cfg.bridge)

    def _layout_disks(self, instance: InstancePayload, props: dict[str, str], base: Path,
                      base_fmt: str, inst_dir: Path) -> list[guest_xml.Disk]:
        bus = guest_xml.disk_bus(props)
        flavor = instance.flavor
        root = inst_dir / "disk"
        if root.exists():
            # A cold migration brought the root disk (finish_migration): grow it, keep it.
            disks.resize(root, flavor.root_gb)
        else:
            disks.create_overlay(base, base_fmt, root, flavor.root_gb)
        out = [guest_xml.Disk(root, "qcow2", bus)]
        if flavor.ephemeral_gb:
            eph = inst_dir / "disk.eph0"
            if not eph.exists():  # a rebuild that preserves the ephemeral disk keeps it
                disks.create_blank(eph, flavor.ephemeral_gb * disks.GiB)
            out.append(guest_xml.Disk(eph, "qcow2", bus))
        if flavor.swap:
            swap = inst_dir / "disk.swap"
            disks.create_blank(swap, flavor.swap * 1024 * 1024)
            out.append(guest_xml.Disk(swap, "qcow2", bus))
        drive = inst_dir / "disk.config"
        configdrive.build(instance, drive)
        out.append(guest_xml.Disk(drive, "raw", guest_xml.cdrom_bus(props), device="cdrom"))
        return out

    def _image_of(self, instance: InstancePayload) -> tuple[str, dict[str, Any]]:
        """The image the guest's disks are laid out on, and its record: the server's
        image; for an unshelve whose image is gone, its snapshot (kept as a whole)."""
        assert instance.image_ref is not None
        try:
            return instance.image_ref, self.images.metadata(instance.image_ref)
        except NotFound:
            if not instance.root_image:
                raise
            LOG.info("image %s of %s is gone: its disk stays on its snapshot %s",
                     instance.image_ref, instance.uuid, instance.root_image)
            return instance.root_image, self.images.metadata(instance.root_image)

    def _root_from_snapshot(self, image_id: str, base: Path, base_fmt: str, root: Path) -> None:
        """The root disk of an unshelved server: an overlay of its snapshot, rebased onto
        the server's own image, so the disk is laid out as a spawned one (the backing file
        a live migration's destination prepares) whatever becomes of the snapshot."""
        snapshot = self.images.fetch(image_id)
        disks.create_overlay(snapshot, "qcow2", root, 0)
        disks.rebase(root, base, base_fmt)
        snapshot.unlink(missing_ok=True)  # served; nothing else is laid out on it

    def _lxc_rootfs(self, base: Path, inst_dir: Path) -> Path:
        """LXC images are tarballs (any compression) of a root filesystem, unpacked here."""
        rootfs = inst_dir / "rootfs"
        rootfs.mkdir(exist_ok=True)
        try:
            with tarfile.open(base, "r:*") as tar:
                # "tar" filter: no absolute paths or escapes, but keeps modes and links.
                tar.extractall(rootfs, filter="tar")
        except (tarfile.TarError, OSError) as exc:
            raise DriverError(f"unpacking the LXC root filesystem failed: {exc}") from exc
        return rootfs

    def destroy(self, instance_uuid: uuid.UUID) -> None:
        try:
            dom = self._domain(instance_uuid)
        except GuestNotFound:
            dom = None
        if dom is not None:
            with translated(f"destroying guest {instance_uuid}"):
                _destroy_quietly(dom)
                _undefine(dom)
        self._consoles.forget(instance_uuid)
        shutil.rmtree(self.instance_dir(instance_uuid), ignore_errors=True)


def _destroy_quietly(dom: libvirt.virDomain) -> None:
    try:
        if dom.isActive():
            dom.destroy()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:  # already stopped
            raise


def _undefine(dom: libvirt.virDomain) -> None:
    try:
        dom.undefineFlags(UNDEFINE_FLAGS)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return
        if exc.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT,
                                        libvirt.VIR_ERR_INVALID_ARG):
            raise
        dom.undefine()


