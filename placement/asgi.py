"""Placement in several worker processes sharing one listening socket.

``python -m placement.asgi --port 8778 --workers 2`` serves placement with the settings
``kilonova serve placement`` would read (``$KILONOVA_CONFIG`` and ``KILONOVA_*``
variables); each worker opens its own engine in the app's lifespan.

Not ``uvicorn --workers``: it binds its socket with protocol 0, which asyncio takes for
"not TCP", so accepted connections keep Nagle's algorithm on and every second response
on a kept-alive connection waits ~40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import os
import signal
import socket
from types import FrameType

import uvicorn
from fastapi import FastAPI

from common.auth import builtin_signer
from common.service import HTTP_KEEP_ALIVE
from common.settings import Settings, load_settings
from placement.app import create_app

# An allocation-candidates answer builds ~10 objects per provider; with the default
# threshold (700) the collector ran dozens of times per request and took half its time.
GC_THRESHOLD = (50_000, 20, 20)


def create_application() -> FastAPI:
    """A placement app configured from the environment. Raises ConfigError."""
    return _worker_app(load_settings())


def _worker_app(settings: Settings) -> FastAPI:
    tune_gc()
    return create_app(settings)


def tune_gc() -> None:
    """Collect less often, and never rescan what was loaded at start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def serve(host: str, port: int, workers: int, settings: Settings | None = None) -> None:
    """Fork ``workers`` servers on one socket; SIGTERM or SIGINT stops them all.

    Each worker builds its app from ``settings`` (default: read from the environment
    in the worker). Raises ConfigError.
    """
    settings = settings or load_settings()
    if settings.auth.strategy == "builtin":
        builtin_signer(settings)  # the key exists before the workers race to create it
    sock = listen(host, port)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            config = uvicorn.Config(functools.partial(_worker_app, settings), factory=True,
                                    log_level="warning", access_log=False, lifespan="on",
                                    timeout_keep_alive=HTTP_KEEP_ALIVE)
            uvicorn.Server(config).run(sockets=[sock])
            os._exit(0)
        children.append(pid)
    sock.close()

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        os.waitpid(child, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve placement with several workers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8778)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
