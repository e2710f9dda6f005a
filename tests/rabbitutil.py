"""Throw-away RabbitMQ virtual hosts on the shared broker for one test run."""

from __future__ import annotations

import os
import subprocess
import uuid

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
