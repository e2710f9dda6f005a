"""One libvirt connection per driver: opened lazily, reopened after libvirtd restarts.

libvirt's default event loop is process-wide: it is registered once, before the first
connection opens, and run by one daemon thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt

from compute_agent.virt.libvirt.errors import HypervisorUnavailable, is_connection_lost

LOG = logging.getLogger(__name__)

T = TypeVar("T")
LifecycleCallback = Callable[[str, int, int], None]

_event_loop_lock = threading.Lock()
_event_loop_started = False


def _silence(_ctx: Any, _err: Any) -> None:
    """libvirt prints every error to stderr by default; we raise them instead."""


def start_event_loop() -> None:
    """Register libvirt's default event implementation and run it in a daemon thread."""
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.registerErrorHandler(_silence, None)
        libvirt.virEventRegisterDefaultImpl()
        thread = threading.Thread(target=_run_events, name="libvirt-events", daemon=True)
        thread.start()
        _event_loop_started = True


def _run_events() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except libvirt.libvirtError:
            LOG.exception("libvirt event loop iteration failed")
            time.sleep(0.1)


class Connection:
    """A libvirt connection that reconnects, and re-registers its callbacks, on loss."""

    def __init__(self, uri: str, on_lifecycle: LifecycleCallback | None = None,
                 on_reconnect: Callable[[], None] | None = None,
                 retry_seconds: float = 30.0) -> None:
        self.uri = uri
        self._on_lifecycle = on_lifecycle
        self._on_reconnect = on_reconnect
        self._retry_seconds = retry_seconds
        self._conn: libvirt.virConnect | None = None
        self._lock = threading.RLock()
        self._callback_id: int | None = None

    def get(self) -> libvirt.virConnect:
        """The open connection; opens (or reopens) it. Raises HypervisorUnavailable."""
        with self._lock:
            if self._conn is not None and self._alive(self._conn):
                return self._conn
            reopened = self._conn is not None
            self._conn = self._open()
        if reopened and self._on_reconnect is not None:
            self._on_reconnect()
        return self._conn

    def call(self, func: Callable[[libvirt.virConnect], T]) -> T:
        """Run ``func`` on the connection, once more on a fresh one if it was lost."""
        try:
            return func(self.get())
        except libvirt.libvirtError as exc:
            if not is_connection_lost(exc):
                raise
            LOG.warning("libvirt connection to %s lost (%s); reconnecting", self.uri, exc)
            self.invalidate()
            return func(self.get())

    def invalidate(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(libvirt.libvirtError):
                conn.close()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self._callback_id is not None:
                conn.domainEventDeregisterAny(self._callback_id)
            conn.close()
        except libvirt.libvirtError:
            pass

    @staticmethod
    def _alive(conn: libvirt.virConnect) -> bool:
        try:
            return bool(conn.isAlive())
        except libvirt.libvirtError:
            return False

    def _open(self) -> libvirt.virConnect:
        start_event_loop()
        deadline = time.monotonic() + self._retry_seconds
        while True:
            try:
                conn = libvirt.open(self.uri)
                break
            except libvirt.libvirtError as exc:
                if time.monotonic() > deadline:
                    raise HypervisorUnavailable(
                        f"cannot connect to {self.uri}: {exc.get_error_message()}") from exc
                time.sleep(0.5)
        self._callback_id = None
        if self._on_lifecycle is not None:
            self._callback_id = conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle, None)
        # Lets libvirt notice a dead daemon and close the connection by itself; the test
        # driver has no keepalive.
        with contextlib.suppress(libvirt.libvirtError):
            conn.setKeepAlive(5, 3)
        LOG.info("connected to %s", self.uri)
        return conn

    def _lifecycle(self, _conn: libvirt.virConnect, dom: libvirt.virDomain, event: int,
                   detail: int, _opaque: object) -> None:
        if self._on_lifecycle is None:
            return
        try:
            self._on_lifecycle(dom.UUIDString(), event, detail)
        except Exception:
            LOG.exception("lifecycle event handler failed")
