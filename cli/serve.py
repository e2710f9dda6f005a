"""``kilonova serve <service>``: run one service, or all of them, until SIGTERM."""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cli.wiring import build_computes, build_conductor, build_http_app, build_scheduler
from common.errors import ConfigError
from common.rpc import Messaging, messaging_from
from common.service import (
    HTTP_KEEP_ALIVE,
    interrupt_start_on_signal,
    stop_within,
    wait_for_signal,
)
from common.settings import Settings

if TYPE_CHECKING:
    from cli.embedded import EmbeddedCloud

LOG = logging.getLogger(__name__)


def serve(name: str, settings: Settings) -> None:
    interrupt_start_on_signal()
    if name == "all":
        _serve_all(settings)
        return
    messaging = messaging_from(settings.messaging)
    stopping: list[Callable[[], None]] = []
    try:
        if name in ("api", "placement"):
            _serve_http(name, settings, messaging, stopping)
            return
        if not settings.placement.url:
            raise ConfigError("placement.url: required when services run separately")
        builder = {"scheduler": build_scheduler, "conductor": build_conductor,
                   "compute": build_computes}[name]
        service = builder(settings, messaging, settings.placement.url)
        service.start()
        stopping.append(service.stop)
        LOG.info("%s started", name)
        _tune_gc()
        wait_for_signal()
    finally:
        _stop(settings, [*stopping, messaging.close])
        if stopping:
            LOG.info("%s stopped", name)


def _stop(settings: Settings, steps: list[Callable[[], None]]) -> None:
    """Run the stop steps; past the graceful timeout, exit without them."""
    timeout = settings.service.graceful_shutdown_timeout
    if stop_within(timeout, steps):
        return
    LOG.error("not stopped within %ss ([service] graceful_shutdown_timeout; is the message "
              "broker reachable?): exiting without finishing", timeout)
    logging.shutdown()
    # Threads blocked on an unreachable broker would keep the interpreter from exiting.
    os._exit(1)


def _serve_http(name: str, settings: Settings, messaging: Messaging,
                stopping: list[Callable[[], None]]) -> None:
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
        run_http(create_app(settings), section.host, section.port, stopping)
        return
    if not settings.placement.url:
        raise ConfigError("placement.url: required when services run separately")
    app = build_http_app(settings, messaging, settings.placement.url, compute=True,
                         placement=False, prefixed=False)
    run_http(app, settings.api.host, settings.api.port, stopping)


# A detail page of 1000 servers or a candidates answer builds ~100k objects: with the
# default threshold (700) the collector ran dozens of times per request. Every service
# tunes it once started (``serve all``: a boot and delete ran ~9 collections before).
GC_THRESHOLD = (50_000, 20, 20)


def _tune_gc() -> None:
    """Collect less often, and never rescan what was loaded at start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def run_http(app: Any, host: str, port: int, stopping: list[Callable[[], None]]) -> None:
    """Serve until SIGTERM/SIGINT; ``stopping`` gets the step that drains requests."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           lifespan="on", timeout_keep_alive=HTTP_KEEP_ALIVE))
    # A daemon thread: a request stuck on an unreachable broker must not keep the
    # process alive past its graceful timeout.
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()

    def _drain() -> None:
        server.should_exit = True
        thread.join()

    stopping.append(_drain)
    while not server.started:
        if not thread.is_alive():
            raise SystemExit(f"the HTTP server on {host}:{port} failed to start")
        time.sleep(0.05)
    LOG.info("serving HTTP on %s:%d", host, port)
    _tune_gc()
    wait_for_signal(lambda: not thread.is_alive())


def _serve_all(settings: Settings) -> None:
    from cli.embedded import EmbeddedCloud

    cloud = EmbeddedCloud(settings)
    try:
        cloud.start()
        _tune_gc()
        print(banner(cloud), end="", file=sys.stderr, flush=True)
        wait_for_signal()
    finally:
        _stop(settings, [cloud.stop])


def banner(cloud: EmbeddedCloud) -> str:
    """What ``serve all`` prints once started: where the APIs are and how to log in."""
    settings = cloud.settings
    lines = [
        f"Kilonova is running (data in {settings.data_dir}).",
        f"  compute API:   {cloud.compute_url}",
        f"  placement API: {cloud.placement_url}",
        f"  image API:     {cloud.image_url}",
    ]
    if settings.auth.strategy != "builtin":
        lines.append(f"  auth: {settings.auth.strategy}"
                     + (", send 'X-Auth-Token: admin:admin' (user:project)"
                        if settings.auth.strategy == "noauth" else ""))
        return "\n".join(lines) + "\n"
    lines.append(f"  identity API:  {cloud.identity_url}")
    generated = cloud.generated_admin_password
    if generated:
        lines.append("  The admin password was generated and is shown only now; "
                     "change it with `kilonova user set-password`.")
    # A configured password is never printed: it is in a file the operator already has.
    yaml = cloud.clouds_yaml(password=generated or "<the admin password>")
    lines.append("  clouds.yaml (~/.config/openstack/clouds.yaml):")
    lines.extend(f"    {line}" for line in yaml.splitlines())
    return "\n".join(lines) + "\n"
