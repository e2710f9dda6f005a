"""Fixtures of the data plane tests: they need root, iproute2, nftables and dnsmasq."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from compute_agent.network.runner import missing_tools
from tests.integration.network.lab import Lab


@pytest.fixture(scope="session")
def network_tools() -> None:
    missing = missing_tools() + [t for t in ("busybox", "python3")
                                 if shutil.which(t) is None]
    if missing:
        # Fail, never skip: a green run must mean packets really flowed.
        pytest.fail("data plane tests need: " + ", ".join(missing)
                    + " (bash scripts/network/setup.sh installs them)", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("data plane tests need root (network namespaces)", pytrace=False)


@pytest.fixture
def lab(network_tools: None, tmp_path: Path) -> Iterator[Lab]:
    made = Lab(tag=secrets.token_hex(2), state_dir=tmp_path)
    try:
        yield made
    finally:
        made.close()
