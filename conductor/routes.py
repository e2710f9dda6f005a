"""Which queue carries each compute host's messages.

An agent process that serves many hosts (simulated ones) listens on one queue, named
for the process, and records it as each host's ``rpc_server`` when it registers them.
The conductor's compute client asks here before each message to a host.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.models import Service
from common.db import read_only, transaction

LOG = logging.getLogger(__name__)

COMPUTE_BINARY = "kilonova-compute"
# How long the routes read are used; a host not among them is looked up again at once,
# but not more often than MISS_INTERVAL.
ROUTES_TTL = 10.0
MISS_INTERVAL = 1.0


class HostRoutes:
    def __init__(self, sessions: sessionmaker[Session], ttl: float = ROUTES_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = read_only(sessions)
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._routes: dict[str, str] = {}
        self._read_at = -math.inf

    def __call__(self, host: str) -> str:
        """The queue (RPC server name) that serves ``host``: its own name unless routed."""
        now = self._clock()
        with self._lock:
            age = now - self._read_at
            known = host in self._routes
            if age >= self._ttl or (not known and age >= MISS_INTERVAL):
                try:
                    self._routes = self._read()
                except SQLAlchemyError:
                    if not known:
                        raise
                    # The database away a moment: a route read before still holds.
                    LOG.warning("compute routes not read again (database unavailable); "
                                "using those read %.0f s ago", age)
                self._read_at = now
            return self._routes.get(host, host)

    def _read(self) -> dict[str, str]:
        with transaction(self._sessions) as session:
            rows = session.execute(sa.select(Service.host, Service.rpc_server)
                                   .where(Service.binary == COMPUTE_BINARY)).all()
        return {host: server or host for host, server in rows}
