"""Nothing waits forever: overdue builds end in ERROR and leave nothing behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud import CloudClient
from tests.conftest import cloud_settings, running_cloud


@pytest.fixture
def slow_cloud(tmp_path: Path, backend: str) -> Iterator[CloudClient]:
    # Spawns take 3 s, builds may take 1 s: every build overruns its deadline.
    settings = cloud_settings(tmp_path, backend, conductor={"build_timeout": 1},
                              fake_spawn_seconds=3.0)
    with running_cloud(settings) as cloud:
        client = CloudClient(cloud.base_url)
        yield client
        client.close()


def test_a_build_that_overruns_its_deadline_ends_in_error(slow_cloud: CloudClient) -> None:
    client = slow_cloud
    flavor = client.create_flavor()
    image = client.create_image()
    server_id = client.boot(flavor, image)

    server = client.wait_status(server_id, {"ERROR", "ACTIVE"}, timeout=20)

    assert server["status"] == "ERROR"
    assert "did not finish in time" in server["fault"]["message"]
    # The late spawn finds the server gone from under it and gives everything back.
    deadline = time.monotonic() + 10
    while client.total_usage()["VCPU"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.total_usage() == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)
