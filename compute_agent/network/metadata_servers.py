"""One metadata server per network, listening on 169.254.169.254:80 inside the network's
DHCP namespace, all of them served by this process's threads.

The listening socket is made in the namespace (a socket belongs to the namespace it was
created in, whichever the thread using it later); the server itself runs here. A socket
keeps its namespace alive after ``ip netns del``, devices included: a network's server is
stopped before its namespace is removed.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import threading
import uuid
from pathlib import Path

from common.errors import DriverError
from compute_agent.network.dhcp import METADATA_ADDRESS
from compute_agent.network.metadata import LISTEN_PORT, Lookup, MetadataServer

LOG = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000


def _enter_and_bind(ns: str, address: str, port: int, out: list[socket.socket | BaseException],
                    ) -> None:
    """In a thread of its own (it stays in ``ns`` until it ends): a TCP socket of ``ns``
    bound to ``address``:``port``, or the error, appended to ``out``."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            # os.setns is Python 3.12+; setns(2) moves only the calling thread.
            if libc.setns(fd, CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"setns {ns}: {os.strerror(errno)}")
        finally:
            os.close(fd)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
        except BaseException:
            sock.close()
            raise
        out.append(sock)
    except BaseException as exc:  # handed to the caller's thread
        out.append(exc)


def bind_in_namespace(ns: str, address: str, port: int) -> socket.socket:
    """A TCP socket of the named namespace ``ns``, bound (not listening) to
    ``address``:``port``. Raises DriverError."""
    out: list[socket.socket | BaseException] = []
    worker = threading.Thread(target=_enter_and_bind, args=(ns, address, port, out),
                              name=f"bind-{ns}", daemon=True)
    worker.start()
    worker.join()
    found = out[0] if out else DriverError(f"binding in {ns}: no result")
    if isinstance(found, BaseException):
        raise DriverError(f"cannot listen on {address}:{port} in {ns}: {found}") from found
    return found


def _namespace_inode(ns: str) -> int | None:
    try:
        return (NETNS_DIR / ns).stat().st_ino
    except OSError:
        return None


class MetadataServers:
    """The running metadata servers, one per network, kept in step with its namespaces."""

    def __init__(self, lookup: Lookup, address: str = METADATA_ADDRESS,
                 port: int = LISTEN_PORT) -> None:
        self._lookup = lookup
        self._address = address
        self._port = port
        # network id -> (its server, the inode of the namespace its socket is in)
        self._running: dict[uuid.UUID, tuple[MetadataServer, int | None]] = {}

    @property
    def networks(self) -> set[uuid.UUID]:
        return set(self._running)

    def sync(self, wanted: dict[uuid.UUID, str]) -> None:
        """Serve the networks of ``wanted`` (network id -> its DHCP namespace), stop the
        others. A server whose namespace was made again is restarted in the new one; a
        server that cannot start is logged, and the next sync tries again."""
        for network_id in list(self._running):
            inode = self._running[network_id][1]
            ns = wanted.get(network_id)
            if ns is None or _namespace_inode(ns) != inode:
                self._stop(network_id)
        for network_id, ns in wanted.items():
            if network_id not in self._running:
                try:
                    self._start(network_id, ns)
                except DriverError as exc:
                    LOG.warning("network %s: no metadata server: %s", network_id, exc)

    def _start(self, network_id: uuid.UUID, ns: str) -> None:
        inode = _namespace_inode(ns)
        sock = bind_in_namespace(ns, self._address, self._port)
        try:
            server = MetadataServer(network_id, self._lookup, sock=sock).start()
        except OSError as exc:
            sock.close()
            raise DriverError(f"metadata server of {network_id} in {ns}: {exc}") from exc
        self._running[network_id] = (server, inode)
        LOG.info("network %s: metadata server in %s", network_id, ns)

    def _stop(self, network_id: uuid.UUID) -> None:
        server, _ = self._running.pop(network_id)
        server.stop()

    def stop_all(self) -> None:
        for network_id in list(self._running):
            self._stop(network_id)
