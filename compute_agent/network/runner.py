"""Every command the data plane runs goes through here; failures become our errors."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from common.errors import DriverError, NotFound

LOG = logging.getLogger(__name__)

# Commands the data plane needs on the host (Debian: iproute2, nftables, dnsmasq-base).
REQUIRED_TOOLS = ("ip", "bridge", "nft", "dnsmasq", "sysctl")
# ``namespace=HOST``: the machine's own namespace, whatever the root one is.
HOST = ""


class NetworkCommandFailed(DriverError):
    code = "network.command_failed"


class DeviceNotFound(NotFound):
    code = "network.device_not_found"


def missing_tools() -> list[str]:
    return [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]


class Runner:
    """Runs commands in the data plane's root namespace (``namespace``; None: the
    process's own) or in one of its namespaces, with a timeout."""

    def __init__(self, namespace: str | None = None, timeout: float = 30.0) -> None:
        self.namespace = namespace
        self.timeout = timeout

    def run(self, args: Sequence[str], *, stdin: str | None = None,
            namespace: str | None = None, check: bool = True) -> str:
        """Run ``args`` in ``namespace`` (None: the root one; ``HOST``: the machine's
        own), answer its stdout.

        Raises DeviceNotFound when the command says a device does not exist,
        NetworkCommandFailed for any other failure (or a timeout) when ``check``.
        """
        ns = self.namespace if namespace is None else namespace
        argv = (["ip", "netns", "exec", ns] if ns else []) + list(args)
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise NetworkCommandFailed(f"{' '.join(argv)}: timed out after "
                                       f"{self.timeout}s") from exc
        except OSError as exc:
            raise NetworkCommandFailed(f"{' '.join(argv)}: {exc}") from exc
        if done.returncode != 0 and check:
            message = f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}"
            if "does not exist" in done.stderr or "Cannot find device" in done.stderr:
                raise DeviceNotFound(message)
            raise NetworkCommandFailed(message)
        LOG.debug("ran %s", argv)
        return done.stdout

    def json(self, args: Sequence[str], *, namespace: str | None = None) -> Any:
        out = self.run(args, namespace=namespace)
        return json.loads(out) if out.strip() else []

    def ip(self, *args: str, namespace: str | None = None, check: bool = True) -> str:
        return self.run(["ip", *args], namespace=namespace, check=check)

    def nft(self, script: str, *, namespace: str | None = None) -> None:
        """Apply an nft script as one transaction (all of it or nothing)."""
        self.run(["nft", "-f", "-"], stdin=script, namespace=namespace)

    def namespaces(self) -> list[str]:
        """Every named network namespace of the machine (their names are global)."""
        found = self.json(["ip", "-j", "netns", "list"], namespace=HOST)
        return [str(entry["name"]) for entry in found]
