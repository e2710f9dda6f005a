"""Power, console and snapshot operations of LibvirtDriver."""

from __future__ import annotations

import collections
import logging
import time
import uuid
from pathlib import Path

import libvirt

from common.errors import DriverError
from compute_agent.virt.libvirt import disks
from compute_agent.virt.libvirt.base import DriverBase
from compute_agent.virt.libvirt.errors import translated
from compute_agent.virt.libvirt.state import power_state

LOG = logging.getLogger(__name__)


def _wait_shutoff(dom: libvirt.virDomain, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF:
            return True
        time.sleep(0.2)
    return bool(dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF)


class PowerOps(DriverBase):
    def power_on(self, instance_uuid: uuid.UUID) -> int:
        dom = self._domain(instance_uuid)
        with translated(f"starting guest {instance_uuid}"):
            if not dom.isActive():
                dom.create()  # restores a managed save when there is one
            return power_state(dom)

    def power_off(self, instance_uuid: uuid.UUID, timeout: float | None = None) -> int:
        dom = self._domain(instance_uuid)
        timeout = self._cfg.shutdown_timeout if timeout is None else timeout
        with translated(f"stopping guest {instance_uuid}"):
            self._stop(dom, timeout)
            return power_state(dom)

    def _stop(self, dom: libvirt.virDomain, timeout: float) -> None:
        if not dom.isActive():
            return
        if timeout > 0 and dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING:
            try:
                dom.shutdown()
            except libvirt.libvirtError as exc:
                LOG.info("graceful shutdown of %s refused: %s", dom.name(), exc)
            if _wait_shutoff(dom, timeout):
                return
            LOG.info("%s did not shut down within %ss; destroying", dom.name(), timeout)
        try:
            dom.destroy()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise

    def reboot(self, instance_uuid: uuid.UUID, hard: bool = False) -> int:
        """Soft: graceful shutdown and start (hard stop after the timeout). Hard: at once."""
        dom = self._domain(instance_uuid)
        with translated(f"rebooting guest {instance_uuid}"):
            self._stop(dom, 0 if hard else self._cfg.shutdown_timeout)
            if dom.hasManagedSaveImage(0):
                dom.managedSaveRemove(0)
            dom.create()
            return power_state(dom)

    def pause(self, instance_uuid: uuid.UUID) -> int:
        dom = self._domain(instance_uuid)
        with translated(f"pausing guest {instance_uuid}"):
            dom.suspend()
            return power_state(dom)

    def unpause(self, instance_uuid: uuid.UUID) -> int:
        dom = self._domain(instance_uuid)
        with translated(f"unpausing guest {instance_uuid}"):
            dom.resume()
            return power_state(dom)

    def suspend(self, instance_uuid: uuid.UUID) -> int:
        """Save the guest's memory to disk (managed save) and stop it."""
        dom = self._domain(instance_uuid)
        with translated(f"suspending guest {instance_uuid}"):
            dom.managedSave(0)
            return power_state(dom)

    def resume(self, instance_uuid: uuid.UUID) -> int:
        dom = self._domain(instance_uuid)
        with translated(f"resuming guest {instance_uuid}"):
            if not dom.isActive():
                dom.create()
            elif dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                dom.resume()
            return power_state(dom)

    def console_output(self, instance_uuid: uuid.UUID, lines: int | None = None) -> str:
        self._domain(instance_uuid)  # NotFound for unknown guests
        log = self.instance_dir(instance_uuid) / "console.log"
        try:
            with log.open("rb") as fh:
                size = fh.seek(0, 2)
                fh.seek(max(0, size - self._cfg.console_log_max_bytes))
                text = fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        if lines is None:
            return text
        return "".join(collections.deque(text.splitlines(keepends=True), maxlen=lines))

    def snapshot(self, instance_uuid: uuid.UUID, dest: Path) -> None:
        """Copy the root disk; a running guest is paused meanwhile so the copy is whole."""
        dom = self._domain(instance_uuid)
        root = self.instance_dir(instance_uuid) / "disk"
        if not root.exists():
            raise DriverError(f"guest {instance_uuid} has no root disk file to snapshot")
        with translated(f"snapshotting guest {instance_uuid}"):
            was_running = dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
            if was_running:
                dom.suspend()
            try:
                disks.flatten(root, dest)
            finally:
                if was_running:
                    dom.resume()
