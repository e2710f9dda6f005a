"""LXC guests' console output, copied into ``<instance dir>/console.log``.

libvirt's LXC driver only offers pty consoles (no ``<serial type='file'>`` as QEMU
guests have), and a pty keeps nothing once read. One thread per running container reads
the console through ``virDomainOpenConsole`` and appends what it gets to the log, which
``console_output`` reads like a QEMU guest's. While nobody reads, the container's writes
wait in the pty, so output from before a pump (re)attaches is delayed, not lost.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from pathlib import Path

import libvirt

LOG = logging.getLogger(__name__)


class ConsolePumps:
    def __init__(self) -> None:
        # guest -> (the domain id its pump reads, the pump): a restarted container is a
        # new domain id with a new pty, while the old pump may not have seen its end yet.
        self._threads: dict[uuid.UUID, tuple[int, threading.Thread]] = {}
        self._lock = threading.Lock()

    def ensure(self, conn: libvirt.virConnect, dom: libvirt.virDomain, log: Path) -> None:
        """Copy the running ``dom``'s console into ``log`` unless a pump already does.

        Raises libvirtError.
        """
        guest_uuid = uuid.UUID(dom.UUIDString())
        with self._lock:
            dom_id = dom.ID()
            running = self._threads.get(guest_uuid)
            if running is not None and running[0] == dom_id and running[1].is_alive():
                return
            stream = conn.newStream(0)
            # No VIR_DOMAIN_CONSOLE_FORCE: the LXC driver refuses every flag.
            dom.openConsole(None, stream, 0)
            thread = threading.Thread(target=_pump, args=(stream, log), daemon=True,
                                      name=f"lxc-console-{guest_uuid}")
            self._threads[guest_uuid] = (dom_id, thread)
            thread.start()

    def forget(self, guest_uuid: uuid.UUID) -> None:
        """Drop the record of a removed guest (its pump ends with the guest's stream)."""
        with self._lock:
            self._threads.pop(guest_uuid, None)


def _pump(stream: libvirt.virStream, log: Path) -> None:
    try:
        with log.open("ab") as out:
            while True:
                data = stream.recv(4096)
                if not isinstance(data, bytes) or not data:
                    break  # the guest stopped: its console closed
                out.write(data)
                out.flush()
        stream.finish()
    except (libvirt.libvirtError, OSError) as exc:
        LOG.debug("console pump into %s ended: %s", log, exc)
        with contextlib.suppress(libvirt.libvirtError):
            stream.abort()
