"""Live migration and cold resize of LibvirtDriver."""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid

import libvirt

from common.errors import DriverError
from common.messages import FlavorPayload, InstancePayload
from common.states import VmState
from compute_agent.virt.libvirt import disks, guest_xml
from compute_agent.virt.libvirt.base import DriverBase
from compute_agent.virt.libvirt.errors import GuestNotFound, translate, translated
from compute_agent.virt.libvirt.state import power_state
from compute_agent.virt.steering import ABORT, FORCE, Steering

LOG = logging.getLogger(__name__)

# The source libvirtd drives the move (peer to peer). Disks are local, not shared: the
# overlays are copied, the destination fetched the bases in prepare_incoming.
MIGRATE_FLAGS = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
                 | libvirt.VIR_MIGRATE_PERSIST_DEST
                 | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE | libvirt.VIR_MIGRATE_NON_SHARED_INC)


class MigrationOps(DriverBase):
    _steering: Steering

    def _prepare(self, instance: InstancePayload) -> guest_xml.GuestSpec:
        raise NotImplementedError

    def abort_live_migration(self, instance_uuid: uuid.UUID) -> None:
        self._steering.ask(instance_uuid, ABORT)

    def force_complete_live_migration(self, instance_uuid: uuid.UUID) -> None:
        self._steering.ask(instance_uuid, FORCE)

    def prepare_incoming(self, instance: InstancePayload) -> dict[str, str]:
        """Fetch bases and create empty overlays and the config drive, define nothing;
        answer this host's ``live_migration_inbound_addr`` as ``migrate_uri``."""
        self._prepare(instance)
        inbound = self._cfg.live_migration_inbound_addr
        return {"migrate_uri": inbound} if inbound else {}

    def live_migrate(self, instance_uuid: uuid.UUID, dest_host: str,
                     timeout: float | None = None, migrate_uri: str | None = None) -> None:
        """migrateToURI3 watched by a monitor: aborted after ``timeout`` seconds.

        The migration data goes to ``migrate_uri`` (the destination's inbound address);
        without one, to this host's own setting (drivers used without an agent), else
        wherever the destination's libvirtd says.
        """
        dom = self._domain(instance_uuid)
        timeout = timeout or self._cfg.live_migration_completion_timeout
        dest_uri = self._cfg.live_migration_uri.format(host=dest_host)
        with translated(f"reading the definition of {instance_uuid}"):
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE | libvirt.VIR_DOMAIN_XML_SECURE)
        params: dict[str, str | int] = {
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: guest_xml.with_owner(xml, dest_host)}
        if self._cfg.live_migration_bandwidth:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = self._cfg.live_migration_bandwidth
        migrate_uri = migrate_uri or self._cfg.live_migration_inbound_addr
        if migrate_uri:
            params[libvirt.VIR_MIGRATE_PARAM_URI] = migrate_uri
        failure: list[BaseException] = []

        def run() -> None:
            try:
                dom.migrateToURI3(dest_uri, params, MIGRATE_FLAGS)
            except libvirt.libvirtError as exc:
                failure.append(exc)

        worker = threading.Thread(target=run, name=f"migrate-{instance_uuid}", daemon=True)
        self._steering.start(instance_uuid)
        try:
            worker.start()
            paused = self._monitor(dom, worker, timeout, instance_uuid)
        finally:
            self._steering.stop(instance_uuid)
        if failure:
            exc = failure[0]
            assert isinstance(exc, libvirt.libvirtError)
            if paused:
                self._resume_here(dom)
            raise translate(exc, f"live migration of {instance_uuid} to {dest_host}") from exc
        LOG.info("guest %s migrated to %s", instance_uuid, dest_host)

    def _resume_here(self, dom: libvirt.virDomain) -> None:
        """A forced migration paused the guest and then failed: it runs on here."""
        try:
            dom.resume()
        except libvirt.libvirtError as exc:
            LOG.warning("guest %s stays paused after a failed migration: %s", dom.name(),
                        exc)

    def _steer(self, dom: libvirt.virDomain, worker: threading.Thread,
               instance_uuid: uuid.UUID) -> bool:
        """Act on an abort or force-complete request. True if the guest was paused."""
        how = self._steering.take(instance_uuid)
        if how == ABORT:
            LOG.info("live migration of %s aborted on request", dom.name())
            try:
                dom.abortJob()
            except libvirt.libvirtError as exc:
                LOG.warning("abort of migration of %s failed: %s", dom.name(), exc)
                return False
            worker.join()
            raise DriverError(f"live migration of {dom.name()} was aborted; the guest "
                              "stays here")
        if how == FORCE:
            # Without post-copy, a paused guest stops dirtying memory, so the copy ends;
            # the destination resumes it on arrival.
            LOG.info("live migration of %s forced to complete: pausing the guest",
                     dom.name())
            try:
                dom.suspend()
                return True
            except libvirt.libvirtError as exc:
                LOG.warning("pausing %s to complete its migration failed: %s",
                            dom.name(), exc)
        return False

    def _monitor(self, dom: libvirt.virDomain, worker: threading.Thread,
                 timeout: float, instance_uuid: uuid.UUID) -> bool:
        """Wait for the migration; True if a force-complete paused the guest."""
        deadline = time.monotonic() + timeout
        paused = False
        while worker.is_alive():
            worker.join(0.5)
            if not worker.is_alive():
                return paused
            paused = self._steer(dom, worker, instance_uuid) or paused
            try:
                stats = dom.jobStats()
                LOG.debug("migration of %s: %s of %s bytes left", dom.name(),
                          stats.get("data_remaining"), stats.get("data_total"))
            except libvirt.libvirtError:
                pass
            if time.monotonic() > deadline:
                LOG.warning("live migration of %s over %ss: aborting", dom.name(), timeout)
                try:
                    dom.abortJob()
                except libvirt.libvirtError as exc:
                    LOG.warning("abort of migration of %s failed: %s", dom.name(), exc)
                worker.join()
                if paused:
                    self._resume_here(dom)
                raise DriverError(f"live migration of {dom.name()} did not complete within "
                                  f"{timeout}s and was aborted; the guest stays here")
        return paused

    def resize(self, instance: InstancePayload, flavor: FlavorPayload) -> int:
        """Cold resize on this host: stop, grow the root disk, new vCPUs/RAM, start."""
        dom = self._domain(instance.uuid)
        root = self.instance_dir(instance.uuid) / "disk"
        with translated(f"resizing guest {instance.uuid}"):
            if dom.isActive():
                dom.destroy()
            if flavor.root_gb and root.exists():
                disks.resize(root, flavor.root_gb)
            dom.setVcpusFlags(flavor.vcpus, libvirt.VIR_DOMAIN_AFFECT_CONFIG
                              | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
            dom.setVcpusFlags(flavor.vcpus, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            dom.setMemoryFlags(flavor.memory_mb * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG
                               | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
            dom.setMemoryFlags(flavor.memory_mb * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            dom.create()
            return power_state(dom)

    def post_live_migration_at_destination(self, instance: InstancePayload) -> int:
        """The guest arrived persistent and owned by this host (its XML said so); one a
        forced completion paused runs again."""
        dom = self._domain(instance.uuid)
        with translated(f"reading state of {instance.uuid}"):
            state, _reason = dom.state()
            if instance.vm_state == VmState.ACTIVE and state == libvirt.VIR_DOMAIN_PAUSED:
                dom.resume()
            return power_state(dom)

    def rollback_live_migration_at_destination(self, instance_uuid: uuid.UUID) -> None:
        """Remove what prepare_incoming laid out, unless a guest of it is defined here.

        Instance storage is never shared between hosts (the move copies the disks,
        MIGRATE_FLAGS), so the directory holds only this host's preparation; a stale
        overlay left there would otherwise be reused by the next attempt.
        """
        try:
            self._domain(instance_uuid)
        except GuestNotFound:
            LOG.info("live migration of %s into this host failed; removing its files",
                     instance_uuid)
            shutil.rmtree(self.instance_dir(instance_uuid), ignore_errors=True)
            return
        LOG.warning("live migration of %s into this host failed but a guest of it is "
                    "defined here; its files stay", instance_uuid)

    def migrate_disk_and_power_off(self, instance: InstancePayload, dest_host: str
                                   ) -> dict[str, str]:
        """Stop the guest and send a standalone copy of its root disk to ``dest_host``.

        The copy travels through the image API (a private image, deleted by the
        destination once it has it); the guest stays defined here, stopped, for a revert.
        Other disks (ephemeral, swap, config drive) are made anew on the destination.
        """
        if self.transfer is None:
            raise DriverError("no image API to carry the disk to another host")
        self.power_off(instance.uuid, self._cfg.shutdown_timeout)
        root = self.instance_dir(instance.uuid) / "disk"
        if not root.exists():
            raise DriverError(f"guest {instance.uuid} has no root disk file to migrate")
        copy = root.with_name("disk.migrating")
        try:
            disks.flatten(root, copy)
            image_id = self.transfer.create({
                "name": f"migration of {instance.uuid} to {dest_host}",
                "disk_format": "qcow2", "container_format": "bare",
                "visibility": "private", "kilonova_migration_of": str(instance.uuid)})
            try:
                self.transfer.upload(image_id, copy)
            except DriverError:
                self.transfer.delete(image_id)
                raise
        finally:
            copy.unlink(missing_ok=True)
        LOG.info("root disk of %s sent to %s as image %s", instance.uuid, dest_host,
                 image_id)
        return {"root_image": image_id}

    def finish_migration(self, instance: InstancePayload, flavor: FlavorPayload,
                         power_on: bool, disk_info: dict[str, str]) -> int:
        """Define the guest here with ``flavor`` on the received root disk."""
        image_id = disk_info.get("root_image")
        if self.transfer is None or not image_id:
            raise DriverError("the cold migration brought no root disk to this host")
        inst_dir = self.instance_dir(instance.uuid)
        inst_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.transfer.download(image_id, inst_dir / "disk")
        finally:
            # Received or not, the copy has served: a failed move restarts the source.
            try:
                self.transfer.delete(image_id)
            except DriverError as exc:
                LOG.warning("transfer image %s of %s not deleted: %s", image_id,
                            instance.uuid, exc)
        spec = self._prepare(instance.model_copy(update={"flavor": flavor}))
        with translated(f"defining migrated guest {instance.uuid}"):
            dom = self.conn.call(lambda c: c.defineXML(guest_xml.to_xml(spec)))
            if power_on:
                dom.create()
            return power_state(dom)

    def finish_revert_migration(self, instance: InstancePayload, power_on: bool) -> int:
        dom = self._domain(instance.uuid)
        with translated(f"restarting guest {instance.uuid} after a reverted move"):
            if power_on and not dom.isActive():
                dom.create()
            return power_state(dom)
