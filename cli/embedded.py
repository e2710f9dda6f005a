"""The whole cloud in one process: HTTP APIs, scheduler, conductor and compute agents."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn

from cli.wiring import build_computes, build_conductor, build_http_app, build_scheduler
from common import db
from common.rpc import Messaging
from common.service import Service
from common.settings import Settings

LOG = logging.getLogger(__name__)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class EmbeddedCloud:
    settings: Settings
    upgrade_db: bool = True
    base_url: str = ""
    services: list[Service] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _messaging: Messaging | None = None

    @property
    def compute_url(self) -> str:
        return f"{self.base_url}/compute/v2.1"

    @property
    def placement_url(self) -> str:
        return f"{self.base_url}/placement"

    @property
    def image_url(self) -> str:
        return f"{self.base_url}/image"

    def start(self) -> EmbeddedCloud:
        s = self.settings
        if self.upgrade_db:
            db.upgrade("compute", s.compute_db_url)
            db.upgrade("placement", s.placement_db_url)
        self._messaging = Messaging(s.messaging.transport_url, s.messaging.rpc_timeout)
        self._start_http(s)
        placement_url = s.placement.url or self.placement_url
        for build in (build_scheduler, build_conductor, build_computes):
            service = build(s, self._messaging, placement_url)
            service.start()
            self.services.append(service)
        return self

    def _start_http(self, s: Settings) -> None:
        connect_host = "127.0.0.1" if s.api.host in ("0.0.0.0", "") else s.api.host
        port = s.api.port or _free_port(s.api.host)
        self.base_url = f"http://{connect_host}:{port}"
        assert self._messaging is not None
        app = build_http_app(s, self._messaging, s.placement.url or self.placement_url,
                             compute=True, placement=s.placement.url is None)
        config = uvicorn.Config(app, host=s.api.host, port=port, log_level="warning",
                                lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"HTTP server failed to start on {s.api.host}:{port}")
            time.sleep(0.02)

    def stop(self) -> None:
        # Agents first, then the conductor they call, then the scheduler it calls.
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._messaging is not None:
            self._messaging.close()
