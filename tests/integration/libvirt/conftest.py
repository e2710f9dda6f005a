"""A cloud whose compute agent drives this machine's libvirtd (real QEMU guests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.conftest import cloud_settings
from tests.integration.libvirt.guest import destroy_guests_under, missing_prerequisites, use_libvirt


@pytest.fixture(scope="session")
def real_libvirt() -> None:
    missing = missing_prerequisites()
    if missing:
        # Fail, never skip: a green run must mean a real guest booted.
        pytest.fail("real-guest tests need: " + "; ".join(missing), pytrace=False)


@pytest.fixture
def libvirt_cloud(real_libvirt: None, tmp_path: Path) -> Iterator[EmbeddedCloud]:
    # One host: a resize can only happen in place (the libvirt driver copies no disks
    # between hosts yet).
    settings = use_libvirt(cloud_settings(tmp_path, "sqlite-memory",
                                          conductor={"allow_resize_to_same_host": True}),
                           tmp_path)
    running = EmbeddedCloud(settings).start()
    try:
        yield running
    finally:
        running.stop()
        destroy_guests_under(tmp_path)


@pytest.fixture
def libvirt_client(libvirt_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = CloudClient(libvirt_cloud.base_url)
    try:
        yield c
    finally:
        c.close()
