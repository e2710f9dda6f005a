"""Our placement over HTTP, driven by the real ``openstack`` CLI with osc-placement.

The CLI runs without Keystone: keystoneauth's ``admin_token`` plugin sends a fixed
token (our noauth ``admin:admin``) to a fixed endpoint (``OS_AUTH_TYPE``,
``OS_TOKEN``, ``OS_ENDPOINT``). A missing CLI is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.db import upgrade
from common.settings import load_settings
from placement.app import create_app
from tests.e2e.osc_zygote import OscZygote
from tests.httpserver import serve

ADMIN = "admin:admin"


class OpenStackCLI:
    """Runs ``openstack`` against one placement endpoint."""

    def __init__(self, zygote: OscZygote, endpoint: str, version: str = "1.39") -> None:
        self._zygote = zygote
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        self.env.update(
            OS_AUTH_TYPE="admin_token", OS_ENDPOINT=endpoint, OS_TOKEN=ADMIN,
            OS_PLACEMENT_API_VERSION=version,
        )

    def run(self, *args: str) -> str:
        """The command's standard output; a non-zero exit fails the test."""
        done = self._zygote.run(list(args), self.env, None, timeout=120)
        assert done.returncode == 0, f"openstack {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-f", "json"))


def _executable() -> str:
    found = shutil.which("openstack", path=sysconfig.get_path("scripts")) or shutil.which(
        "openstack")
    if found is None:
        pytest.fail("the openstack CLI is not installed (pip install python-openstackclient "
                    "osc-placement)", pytrace=False)
    return found


@pytest.fixture(scope="module")
def placement_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data: Path = tmp_path_factory.mktemp("placement-e2e")
    url = f"sqlite:///{data / 'placement.sqlite'}"
    upgrade("placement", url)
    with serve(create_app(load_settings(data_dir=data, database={"placement_url": url}))) as base:
        yield base


@pytest.fixture(scope="module")
def cli(placement_endpoint: str, osc_zygote: OscZygote) -> OpenStackCLI:
    _executable()  # installed, as users run it
    return OpenStackCLI(osc_zygote, placement_endpoint)
