"""With allow_resize_to_same_host a one-host cloud resizes in place, both claims on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from common.states import PowerState
from tests.cloud import CloudClient
from tests.conftest import cloud_settings, running_cloud
from tests.functional.compute.actions_helpers import (
    act,
    allocations,
    events,
    migration_of,
    provider_of,
    settled,
)

SMALL = {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}
LARGE = {"VCPU": 2, "MEMORY_MB": 128, "DISK_GB": 1}


@pytest.fixture
def one_host(tmp_path: Path, backend: str) -> Iterator[CloudClient]:
    settings = cloud_settings(tmp_path, backend,
                              conductor={"allow_resize_to_same_host": True}, fake_hosts=1)
    with running_cloud(settings) as cloud:
        client = CloudClient(cloud.base_url, version="2.73")
        yield client
        client.close()


def test_resize_in_place_then_revert_and_confirm(one_host: CloudClient) -> None:
    client = one_host
    small = client.create_flavor("small", ram=64)
    client.create_flavor("large", ram=128, vcpus=2)
    server_id = client.boot(small, client.create_image())
    settled(client, server_id, "ACTIVE")
    rp = provider_of(client, "fake")

    assert act(client, server_id, {"resize": {"flavorRef": "large"}}).status_code == 202
    settled(client, server_id, "VERIFY_RESIZE")
    migration = migration_of(client, server_id)
    assert (migration["source_compute"], migration["dest_compute"]) == ("fake", "fake")
    # Both flavors are held on the one host until the resize is confirmed or reverted.
    assert allocations(client, server_id) == {rp: LARGE}
    assert allocations(client, migration["uuid"]) == {rp: SMALL}
    assert client.placement("GET", f"/resource_providers/{rp}/usages").json()["usages"] == {
        "VCPU": 3, "MEMORY_MB": 192, "DISK_GB": 2}

    assert act(client, server_id, {"revertResize": None}).status_code == 202
    server = settled(client, server_id, "ACTIVE")
    assert server["flavor"]["original_name"] == "small"
    assert server["OS-EXT-STS:power_state"] == PowerState.RUNNING
    assert allocations(client, server_id) == {rp: SMALL}
    assert allocations(client, migration["uuid"]) == {}

    assert act(client, server_id, {"resize": {"flavorRef": "large"}}).status_code == 202
    settled(client, server_id, "VERIFY_RESIZE")
    assert [e["event"] for e in events(client, server_id, "resize")] == [
        "conductor_migrate_server", "compute_resize_instance"]
    assert act(client, server_id, {"confirmResize": None}).status_code == 204
    server = settled(client, server_id, "ACTIVE")
    assert server["flavor"]["original_name"] == "large"
    assert client.placement("GET", f"/resource_providers/{rp}/usages").json()["usages"] == {
        "VCPU": 2, "MEMORY_MB": 128, "DISK_GB": 1}
    assert client.compute("DELETE", f"/servers/{server_id}").status_code == 204
    client.wait_gone(server_id)
