"""Telling hosts their network changed, so they converge now rather than at their sync.

The network API (and the compute API's security group and floating IP actions) changes
what hosts' data planes should hold: a rule, a port's groups, a floating IP, a new
port on a network a host serves. Each such change, once committed, casts
``network_changed`` here (and a host reporting ports wired, or a guest destroyed, is
one); every host that is not simulated is told to converge (``refresh_network``): it
fetches its state (``host_network_state``) and applies it, as its periodic sync would.
Simulated hosts program nothing and are not told. A host that misses the message
(down, restarting) converges at its next sync.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import ComputeNode
from common.context import RequestContext
from common.db import read_only, transaction
from compute_agent.rpc.client import ComputeClient

LOG = logging.getLogger(__name__)

SIMULATED = "fake"
# Seconds changes are gathered before the hosts are told (once for all of them).
PUSH_DELAY = 0.25


def data_plane_hosts(session: Session) -> list[str]:
    """Hosts that are not simulated. All of them, not only those with ports bound now:
    a host whose last port was just released must still take its taps and rules down."""
    rows = session.scalars(sa.select(ComputeNode.host).distinct()
                           .where(ComputeNode.hypervisor_type != SIMULATED))
    return sorted(rows)


class NetworkPush:
    """Tells hosts to converge. Changes that arrive within PUSH_DELAY of each other are
    told once: a burst of API writes (or of spawns reporting ports wired) costs the
    hosts one converge, and no caller waits for the casts."""

    def __init__(self, sessions: sessionmaker[Session], compute: ComputeClient) -> None:
        self._reads = read_only(sessions)
        self._compute = compute
        self._lock = threading.Lock()
        # The hosts each change waiting to be told may skip (None: none), and whether a
        # telling is due.
        self._skips: list[str | None] = []
        self._due = False

    def changed(self, ctx: RequestContext, skip: str | None = None) -> None:
        """Have every data plane host but ``skip`` converge, within PUSH_DELAY."""
        with self._lock:
            self._skips.append(skip)
            if self._due:
                return
            self._due = True
        timer = threading.Timer(PUSH_DELAY, self._tell, args=(ctx,))
        timer.daemon = True
        timer.start()

    def _tell(self, ctx: RequestContext) -> None:
        with self._lock:
            skips, self._skips, self._due = self._skips, [], False
        # A host is skipped only when every change told it is its own (it converged).
        skip = skips[0] if skips and all(s == skips[0] for s in skips) else None
        try:
            with transaction(self._reads) as session:
                hosts = [h for h in data_plane_hosts(session) if h != skip]
        except Exception:  # a timer thread: log, the hosts' next sync converges them
            LOG.exception("finding the hosts to tell of a network change failed")
            return
        for host in hosts:
            try:
                self._compute.refresh_network(ctx, host)
            except Exception as exc:  # a timer thread: the next sync catches up
                LOG.warning("telling %s its network changed failed (%s); its next sync "
                            "converges it", host, exc)
