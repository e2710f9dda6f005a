"""Wiring a host's ports before its guests use them ("network-vif-plugged").

``PortWiring.wire(instance)`` makes the instance's ports ready on this host or raises
``DriverError`` naming the port that is not. ``HostNetworkAgent`` is the libvirt hosts'
one: it fetches the host's desired state from the conductor (``host_network_state``),
applies it with the data plane, and checks every port of the instance is in it; the data
plane runs a metadata server per network in its DHCP namespace, asking the conductor.
Simulated hosts program nothing (``compute_agent/virt/fake.py``'s ``FakeWiring``).
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from common.context import admin_context
from common.errors import ControlPlaneError, DriverError
from common.messages import HostNetworkState, InstancePayload
from compute_agent.network.dataplane import Dataplane
from compute_agent.network.metadata import Lookup, conductor_lookup
from conductor.rpc.client import ConductorClient

LOG = logging.getLogger(__name__)


class PortWiring(Protocol):
    """A host's port wiring. One with a true ``immediate`` attribute (FakeWiring) never
    waits, so the manager calls it directly rather than in a thread bounded by the
    plugging timeout."""

    def wire(self, instance: InstancePayload) -> None:
        """Make the instance's ports ready here. Raises DriverError (names the port)."""


class HostNetworkAgent:
    """The data plane of one host, converged with the conductor's view of it."""

    def __init__(self, host: str, conductor: ConductorClient, dataplane: Dataplane,
                 metadata: Lookup | None = None) -> None:
        self.host = host
        self._conductor = conductor
        self._dataplane = dataplane
        dataplane.serve_metadata(metadata or conductor_lookup(conductor, host))
        # One apply at a time: a spawn's and the periodic sync's would race on devices.
        self._lock = threading.Lock()
        # A converge asked for (``converge_soon``) and not started yet: later asks join it.
        self._pending = False
        self._pending_lock = threading.Lock()

    def converge(self) -> HostNetworkState:
        """Fetch the host's desired state and apply it (removing what is not wanted).
        Raises ControlPlaneError (conductor), DriverError (a command failed).

        Fetched and applied under one lock: converges run one after another, each
        applying a state read after the last one's, never an older one over a newer.
        """
        with self._lock:
            return self._converge_locked()

    def _converge_locked(self) -> HostNetworkState:
        state = self._conductor.host_network_state(admin_context(), self.host)
        self._dataplane.apply(state)
        return state

    def converge_quietly(self) -> None:
        """``converge`` for timers: a failure is logged, the next run tries again."""
        try:
            self.converge()
        except ControlPlaneError as exc:
            LOG.warning("host %s: network not converged (%s); the next sync retries",
                        self.host, exc)

    def converge_soon(self) -> None:
        """Converge in the background. Asks that arrive before it reads the state are
        served by it; one that arrives later starts one more, which waits for it: at
        most one running and one waiting, whatever the rate of asks."""
        with self._pending_lock:
            if self._pending:
                return
            self._pending = True
        threading.Thread(target=self._converge_pending, name=f"network-{self.host}",
                         daemon=True).start()

    def _converge_pending(self) -> None:
        try:
            with self._lock:
                with self._pending_lock:
                    self._pending = False  # from here on, an ask needs a new read
                self._converge_locked()
        except ControlPlaneError as exc:
            LOG.warning("host %s: network not converged (%s); the next sync retries",
                        self.host, exc)

    def wire(self, instance: InstancePayload) -> None:
        if not instance.ports:
            return
        try:
            state = self.converge()
        except ControlPlaneError as exc:
            raise DriverError(f"port {instance.ports[0].id} was not wired on {self.host}: "
                              f"{exc}") from exc
        present = {p.id for p in state.ports}
        for port in instance.ports:
            if port.id not in present:
                raise DriverError(f"port {port.id} was not wired on {self.host}: the "
                                  "host's network state does not hold it")
