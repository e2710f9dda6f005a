"""``python -m placement.asgi``: forked workers on one socket, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from common.db import upgrade
from placement.asgi import listen

ROOT = Path(__file__).resolve().parents[3]


def test_listening_socket_is_tcp_so_connections_get_nodelay() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        # asyncio sets TCP_NODELAY only on sockets whose protocol says TCP.
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_two_workers_serve_then_stop_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'placement.sqlite'}"
    upgrade("placement", url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "KILONOVA_DATABASE__PLACEMENT_URL": url,
           "KILONOVA_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
           "KILONOVA_AUTH__STRATEGY": "noauth"}
    proc = subprocess.Popen([sys.executable, "-m", "placement.asgi", "--port", str(port),
                             "--workers", "2"], env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "placement.asgi exited early"
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "placement.asgi did not answer"
                time.sleep(0.1)
        with httpx.Client(base_url=base, headers={"X-Auth-Token": "admin:admin"}) as client:
            for _ in range(3):
                assert client.get("/resource_providers").json() == {"resource_providers": []}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_serve_placement_forks_the_configured_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'placement.sqlite'}"
    upgrade("placement", url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "KILONOVA_DATABASE__PLACEMENT_URL": url,
           "KILONOVA_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
           "KILONOVA_PLACEMENT__PORT": str(port), "KILONOVA_PLACEMENT__WORKERS": "2",
           "KILONOVA_AUTH__STRATEGY": "noauth"}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "placement"],
                            env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_answering(proc, base)
        assert len(psutil.Process(proc.pid).children()) == 2
        with httpx.Client(base_url=base, headers={"X-Auth-Token": "admin:admin"}) as client:
            for _ in range(4):
                assert client.get("/resource_providers").json() == {"resource_providers": []}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def _wait_until_answering(proc: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the server exited early"
        try:
            if httpx.get(base + "/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.1)
