"""Live migration and cold resize of LibvirtDriver."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import libvirt

from common.errors import DriverError
from common.messages import FlavorPayload, InstancePayload
from compute_agent.virt.libvirt import disks, guest_xml
from compute_agent.virt.libvirt.base import DriverBase
from compute_agent.virt.libvirt.errors import translate, translated
from compute_agent.virt.libvirt.state import power_state

LOG = logging.getLogger(__name__)

# The source libvirtd drives the move (peer to peer). Disks are local, not shared: the
# overlays are copied, the destination fetched the bases in prepare_incoming.
MIGRATE_FLAGS = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
                 | libvirt.VIR_MIGRATE_PERSIST_DEST
                 | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE | libvirt.VIR_MIGRATE_NON_SHARED_INC)


class MigrationOps(DriverBase):
    def _prepare(self, instance: InstancePayload) -> guest_xml.GuestSpec:
        raise NotImplementedError

    def prepare_incoming(self, instance: InstancePayload) -> None:
        """Fetch bases and create empty overlays and the config drive, define nothing."""
        self._prepare(instance)

    def live_migrate(self, instance_uuid: uuid.UUID, dest_host: str,
                     timeout: float | None = None) -> None:
        """migrateToURI3 watched by a monitor: aborted after ``timeout`` seconds."""
        dom = self._domain(instance_uuid)
        timeout = timeout or self._cfg.live_migration_completion_timeout
        dest_uri = self._cfg.live_migration_uri.format(host=dest_host)
        with translated(f"reading the definition of {instance_uuid}"):
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE | libvirt.VIR_DOMAIN_XML_SECURE)
        params: dict[str, str | int] = {
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: guest_xml.with_owner(xml, dest_host)}
        if self._cfg.live_migration_bandwidth:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = self._cfg.live_migration_bandwidth
        if self._cfg.live_migration_inbound_addr:
            params[libvirt.VIR_MIGRATE_PARAM_URI] = self._cfg.live_migration_inbound_addr
        failure: list[BaseException] = []

        def run() -> None:
            try:
                dom.migrateToURI3(dest_uri, params, MIGRATE_FLAGS)
            except libvirt.libvirtError as exc:
                failure.append(exc)

        worker = threading.Thread(target=run, name=f"migrate-{instance_uuid}", daemon=True)
        worker.start()
        self._monitor(dom, worker, timeout)
        if failure:
            exc = failure[0]
            assert isinstance(exc, libvirt.libvirtError)
            raise translate(exc, f"live migration of {instance_uuid} to {dest_host}") from exc
        LOG.info("guest %s migrated to %s", instance_uuid, dest_host)

    def _monitor(self, dom: libvirt.virDomain, worker: threading.Thread,
                 timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while worker.is_alive():
            worker.join(0.5)
            if not worker.is_alive():
                return
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
                raise DriverError(f"live migration of {dom.name()} did not complete within "
                                  f"{timeout}s and was aborted; the guest stays here")

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
