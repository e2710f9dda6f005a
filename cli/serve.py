"""``kilonova serve <service>``: run one service, or all of them, until SIGTERM."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from typing import Any

import uvicorn

from cli.embedded import EmbeddedCloud
from cli.wiring import build_computes, build_conductor, build_http_app, build_scheduler
from common.errors import ConfigError
from common.rpc import Messaging
from common.service import wait_for_signal
from common.settings import Settings

LOG = logging.getLogger(__name__)


def serve(name: str, settings: Settings) -> None:
    if name == "all":
        _serve_all(settings)
        return
    messaging = Messaging(settings.messaging.transport_url, settings.messaging.rpc_timeout)
    try:
        if name in ("api", "placement"):
            _serve_http(name, settings, messaging)
            return
        if not settings.placement.url:
            raise ConfigError("placement.url: required when services run separately")
        builder = {"scheduler": build_scheduler, "conductor": build_conductor,
                   "compute": build_computes}[name]
        service = builder(settings, messaging, settings.placement.url)
        service.start()
        try:
            wait_for_signal()
        finally:
            service.stop()
    finally:
        messaging.close()


def _serve_http(name: str, settings: Settings, messaging: Messaging) -> None:
    if name == "placement":
        from common.auth import builtin_signer
        from placement import asgi
        from placement.app import create_app

        section = settings.placement
        if section.workers > 1:
            LOG.info("serving placement on %s:%d with %d workers",
                     section.host, section.port, section.workers)
            asgi.serve(section.host, section.port, section.workers, settings)
            return
        if settings.auth.strategy == "builtin":
            builtin_signer(settings)  # creates the key now, not in the first request
        run_http(create_app(settings), section.host, section.port)
        return
    if not settings.placement.url:
        raise ConfigError("placement.url: required when services run separately")
    app = build_http_app(settings, messaging, settings.placement.url, compute=True,
                         placement=False, prefixed=False)
    run_http(app, settings.api.host, settings.api.port)


# A detail page of 1000 servers or a candidates answer builds ~100k objects: with the
# default threshold (700) the collector ran dozens of times per request.
GC_THRESHOLD = (50_000, 20, 20)


def _tune_gc() -> None:
    """Collect less often, and never rescan what was loaded at start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def run_http(app: Any, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests and exit cleanly."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="http")
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise SystemExit(f"the HTTP server on {host}:{port} failed to start")
            time.sleep(0.05)
        LOG.info("serving HTTP on %s:%d", host, port)
        _tune_gc()
        wait_for_signal(lambda: not thread.is_alive())
    finally:
        server.should_exit = True
        thread.join()


def _serve_all(settings: Settings) -> None:
    cloud = EmbeddedCloud(settings).start()
    if settings.auth.strategy == "builtin":
        auth = f"builtin; identity API: {cloud.identity_url}"
        if cloud.generated_admin_password:
            auth += ("\n  The admin password was generated and is shown only now; "
                     "set it with `kilonova user set-password`.")
        auth += "\n  clouds.yaml (~/.config/openstack/clouds.yaml):\n" + "".join(
            f"    {line}\n" for line in cloud.clouds_yaml().splitlines())
    else:
        auth = "noauth, send 'X-Auth-Token: admin:admin' (user:project)"
    print(
        f"Kilonova is running (data in {settings.data_dir}).\n"
        f"  compute API:   {cloud.compute_url}\n"
        f"  placement API: {cloud.placement_url}\n"
        f"  image API:     {cloud.image_url}\n"
        f"  auth: {auth}\n"
        f"  {settings.compute.fake_hosts} simulated hosts. Stop with Ctrl-C.",
        file=sys.stderr, flush=True,
    )
    try:
        wait_for_signal()
    finally:
        cloud.stop()
