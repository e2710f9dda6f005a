"""Throw-away RabbitMQ virtual hosts on the shared broker, and private broker nodes."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.stack import free_port

RABBIT_HOST = os.environ.get("KILONOVA_TEST_RABBIT", "guest:guest@127.0.0.1:5672")


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def create_vhost(prefix: str = "kn") -> str:
    """Create a vhost the guest user may use and return its transport URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _ctl("add_vhost", name)
    _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return f"rabbit://{RABBIT_HOST}/{name}"


def delete_vhost(url: str) -> None:
    _ctl("delete_vhost", url.rsplit("/", 1)[1])


class PrivateBroker:
    """A RabbitMQ node of its own, to stop and start without touching the shared one."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.node = f"kn{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        # The machine's rabbitmq.conf names the shared node's port (5672) and would win
        # over RABBITMQ_NODE_PORT; no plugins, so none binds a port of its own.
        (workdir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (workdir / "enabled_plugins").write_text("[].\n")
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(workdir / "log"),
            "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
        }

    @property
    def url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def start(self, timeout: float = 120) -> None:
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env, cwd=self.workdir,
                       check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._diagnostics("check_running"):
                return
            time.sleep(1)
        raise RuntimeError(f"RabbitMQ node {self.node} did not start; logs in {self.workdir}")

    def stop(self) -> None:
        subprocess.run(["rabbitmqctl", "-q", "-n", self.node, "stop"], env=self.env,
                       capture_output=True, timeout=120)

    def _diagnostics(self, check: str) -> bool:
        done = subprocess.run(["rabbitmq-diagnostics", "-q", "-n", self.node, check],
                              env=self.env, capture_output=True, timeout=60)
        return done.returncode == 0


@contextlib.contextmanager
def private_broker() -> Iterator[PrivateBroker]:
    """A started private node, stopped and removed afterwards."""
    if shutil.which("rabbitmq-server") is None:
        pytest.skip("rabbitmq-server is not installed")
    # Not under pytest's tmp_path: run as root, rabbitmq-server drops to the rabbitmq
    # user, which cannot enter pytest's private (0700) directories.
    workdir = Path(tempfile.mkdtemp(prefix="kn-rabbit-"))
    workdir.chmod(0o755)
    if os.geteuid() == 0:
        user = pwd.getpwnam("rabbitmq")
        os.chown(workdir, user.pw_uid, user.pw_gid)
    broker = PrivateBroker(workdir)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
