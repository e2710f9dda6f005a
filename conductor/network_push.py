"""Telling hosts their network changed, so they converge now rather than at their sync.

The network API (and the compute API's security group and floating IP actions) changes
what hosts' data planes should hold: a rule, a port's groups, a floating IP, a new
port on a network a host serves. Each such change, once committed, casts
``network_changed`` here (and a host reporting ports wired, or a guest destroyed, is
one); every host with a data plane and a port bound to it is told
to converge (``refresh_network``): it fetches its state (``host_network_state``) and
applies it, as its periodic sync would. Simulated hosts program nothing and are not
told. A host that misses the message (down, restarting) converges at its next sync.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import ComputeNode
from common.compute_db.network_models import Port
from common.context import RequestContext
from common.db import read_only, transaction
from common.errors import ControlPlaneError
from compute_agent.rpc.client import ComputeClient

LOG = logging.getLogger(__name__)

SIMULATED = "fake"


def data_plane_hosts(session: Session) -> list[str]:
    """Hosts that have a port bound to them and are not simulated."""
    rows = session.scalars(
        sa.select(Port.binding_host_id).distinct()
        .join(ComputeNode, ComputeNode.host == Port.binding_host_id)
        .where(Port.binding_host_id != "", ComputeNode.hypervisor_type != SIMULATED))
    return sorted(rows)


class NetworkPush:
    def __init__(self, sessions: sessionmaker[Session], compute: ComputeClient) -> None:
        self._reads = read_only(sessions)
        self._compute = compute

    def changed(self, ctx: RequestContext, skip: str | None = None) -> None:
        """Tell every data plane host but ``skip`` to converge."""
        with transaction(self._reads) as session:
            hosts = [h for h in data_plane_hosts(session) if h != skip]
        for host in hosts:
            try:
                self._compute.refresh_network(ctx, host)
            except ControlPlaneError as exc:
                LOG.warning("telling %s its network changed failed (%s); its next sync "
                            "converges it", host, exc)
