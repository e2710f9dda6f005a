"""A cloud with builtin password auth, driven by the real OpenStack clients."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.conftest import cloud_settings, running_cloud
from tests.e2e.osc_zygote import OscZygote

ADMIN_PASSWORD = "e2e-admin-secret"


def openstack_cli() -> str:
    """The ``openstack`` executable beside this interpreter, else on PATH; fail if absent."""
    beside = Path(sys.executable).parent / "openstack"
    found = str(beside) if beside.exists() else shutil.which("openstack")
    if found is None:
        pytest.fail("python-openstackclient is not installed (the `openstack` command is "
                    "missing): install the project's e2e extra")
    return found


@pytest.fixture(scope="module")
def builtin_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    settings = cloud_settings(tmp_path_factory.mktemp("e2e"), "sqlite-memory")
    settings.auth = settings.auth.model_copy(update={"strategy": "builtin"})
    settings.identity = settings.identity.model_copy(update={"admin_password": ADMIN_PASSWORD})
    with running_cloud(settings) as running:
        yield running


@pytest.fixture(scope="module")
def conn(builtin_cloud: EmbeddedCloud) -> Iterator[Any]:
    """An openstacksdk connection to the cloud as its admin."""
    try:
        import openstack
    except ImportError:
        pytest.fail("openstacksdk is not installed: install the project's e2e extra")
    connection = openstack.connect(
        auth_url=builtin_cloud.identity_url, username="admin", password=ADMIN_PASSWORD,
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", identity_api_version="3")
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture(scope="module")
def clouds_yaml(builtin_cloud: EmbeddedCloud, tmp_path_factory: pytest.TempPathFactory
                ) -> Path:
    path = tmp_path_factory.mktemp("osc") / "clouds.yaml"
    path.write_text(builtin_cloud.clouds_yaml())
    return path


class OpenStackCLI:
    def __init__(self, zygote: OscZygote, clouds_yaml: Path, workdir: Path) -> None:
        self._zygote = zygote
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        self.env.update({"OS_CLIENT_CONFIG_FILE": str(clouds_yaml), "OS_CLOUD": "kilonova"})

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = self._zygote.run(list(args), self.env, self.workdir, timeout=180)
        if check and proc.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-f", "json").stdout)


@pytest.fixture(scope="module")
def osc(clouds_yaml: Path, tmp_path_factory: pytest.TempPathFactory,
        osc_zygote: OscZygote) -> OpenStackCLI:
    openstack_cli()  # installed, as users run it
    return OpenStackCLI(osc_zygote, clouds_yaml, tmp_path_factory.mktemp("work"))
