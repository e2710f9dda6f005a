"""The distributed layout: every service its own OS process, PostgreSQL and RabbitMQ."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from benchmarks.stack import ProcessStack
from tests.cloud import CloudClient
from tests.dbutil import create_pg_database, drop_pg_database
from tests.rabbitutil import create_vhost, delete_vhost


class StackClient(CloudClient):
    """CloudClient for a stack whose APIs live on their own ports."""

    def __init__(self, stack: ProcessStack) -> None:
        super().__init__(stack.api_url)
        self.stack = stack
        self.placement_http = httpx.Client(
            base_url=stack.placement_url, timeout=60,
            headers={"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "placement 1.39"})

    def compute(self, method: str, path: str, **kw: object) -> httpx.Response:
        return self.http.request(method, f"/v2.1{path}", **kw)  # type: ignore[arg-type]

    def placement(self, method: str, path: str, **kw: object) -> httpx.Response:
        return self.placement_http.request(method, path, **kw)  # type: ignore[arg-type]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ProcessStack]:
    compute_db = create_pg_database("kn_it_compute")
    placement_db = create_pg_database("kn_it_placement")
    vhost = create_vhost("kn_it")
    running = ProcessStack(tmp_path, compute_db, placement_db, vhost, computes=2,
                           service_down_time=4.0)
    try:
        running.start()
        yield running
    finally:
        codes = running.stop()
        drop_pg_database(compute_db)
        drop_pg_database(placement_db)
        delete_vhost(vhost)
    # Graceful shutdown on SIGTERM: every surviving service exits cleanly.
    assert all(code == 0 for code in codes.values()), codes


def test_separate_processes_boot_delete_and_survive_a_dead_host(stack: ProcessStack) -> None:
    client = StackClient(stack)
    flavor = client.create_flavor("m1.small", ram=512, vcpus=1, disk=1)
    image = client.create_image()
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda i: client.boot(flavor, image, name=f"it{i}"), range(6)))
        servers = list(pool.map(lambda s: client.wait_status(s, {"ACTIVE", "ERROR"}), ids))
    assert {s["status"] for s in servers} == {"ACTIVE"}
    by_host: dict[str, list[str]] = {}
    for server in servers:
        by_host.setdefault(server["OS-EXT-SRV-ATTR:host"], []).append(server["id"])
    assert set(by_host) == {"host1", "host2"}
    assert client.total_usage() == {"VCPU": 6, "MEMORY_MB": 6 * 512, "DISK_GB": 6}

    # A healthy host deletes through its agent.
    for server_id in by_host["host2"]:
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id)

    # host1 dies without a goodbye; once it is seen down, deletes happen locally.
    stack.kill("compute1")
    time.sleep(stack.service_down_time + 1.5)
    for server_id in by_host["host1"]:
        assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
        client.wait_gone(server_id, timeout=30)

    assert client.total_usage() == {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
    assert client.compute("GET", "/servers").json()["servers"] == []
    client.close()
