"""Requests to abort or force-complete the live migrations running from a host.

They arrive on RPC threads while the migration's own call runs. A request that comes
just before the migration starts (the conductor marks it running before the source
begins) is kept for a short while and taken when it starts; older ones are stale.
"""

from __future__ import annotations

import threading
import time
import uuid

ABORT = "abort"
FORCE = "force"
# How long a request for a migration that has not started yet stays valid.
PENDING_SECONDS = 30.0


class Steering:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running: dict[uuid.UUID, str | None] = {}
        self._pending: dict[uuid.UUID, tuple[str, float]] = {}

    def start(self, instance_uuid: uuid.UUID) -> None:
        with self._changed:
            early = self._pending.pop(instance_uuid, None)
            fresh = early is not None and time.monotonic() - early[1] < PENDING_SECONDS
            self._running[instance_uuid] = early[0] if early and fresh else None

    def stop(self, instance_uuid: uuid.UUID) -> None:
        with self._changed:
            self._running.pop(instance_uuid, None)

    def ask(self, instance_uuid: uuid.UUID, how: str) -> None:
        with self._changed:
            if instance_uuid in self._running:
                self._running[instance_uuid] = how
                self._changed.notify_all()
            else:
                self._pending[instance_uuid] = (how, time.monotonic())

    def take(self, instance_uuid: uuid.UUID) -> str | None:
        """The request for the running migration, if any (taken once)."""
        with self._changed:
            how = self._running.get(instance_uuid)
            if how is not None:
                self._running[instance_uuid] = None
            return how

    def wait(self, instance_uuid: uuid.UUID, timeout: float) -> str | None:
        """Block until a request for the running migration comes; None after timeout."""
        with self._changed:
            self._changed.wait_for(lambda: self._running.get(instance_uuid) is not None,
                                   timeout)
        return self.take(instance_uuid)

    def running(self) -> set[uuid.UUID]:
        with self._changed:
            return set(self._running)
