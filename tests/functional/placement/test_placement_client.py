"""PlacementClient against the running service."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from common.errors import PlacementError, ServiceUnavailable
from placement.client import PlacementClient


@pytest.fixture
def client(placement_url: str) -> Iterator[PlacementClient]:
    c = PlacementClient(placement_url)
    try:
        yield c
    finally:
        c.close()


def _host(client: PlacementClient, vcpu: int = 4) -> uuid.UUID:
    rp = uuid.uuid4()
    client.ensure_resource_provider(rp, f"host-{rp}")
    client.set_inventory(rp, {"VCPU": {"total": vcpu}, "MEMORY_MB": {"total": 2048}})
    return rp


def test_ensure_provider_is_idempotent(client: PlacementClient) -> None:
    rp = uuid.uuid4()
    assert client.ensure_resource_provider(rp, f"n-{rp}") == 0
    assert client.ensure_resource_provider(rp, f"n-{rp}") == 0


def test_ensure_provider_with_parent(client: PlacementClient) -> None:
    root, child = uuid.uuid4(), uuid.uuid4()
    client.ensure_resource_provider(root, f"root-{root}")
    client.ensure_resource_provider(child, f"child-{child}", parent_uuid=root)
    client.set_inventory(child, {"VCPU": {"total": 2}})
    body = client.allocation_candidates({"VCPU": 1}, in_tree=root)
    assert body["provider_summaries"][str(child)]["root_provider_uuid"] == str(root)


def test_ensure_provider_name_taken_by_another_uuid(client: PlacementClient) -> None:
    rp = uuid.uuid4()
    client.ensure_resource_provider(rp, f"taken-{rp}")
    with pytest.raises(PlacementError):
        client.ensure_resource_provider(uuid.uuid4(), f"taken-{rp}")


def test_set_inventory_twice_keeps_generation(client: PlacementClient) -> None:
    rp = _host(client)
    generation = client.ensure_resource_provider(rp, "ignored")
    client.set_inventory(rp, {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 2048}})
    assert client.ensure_resource_provider(rp, "ignored") == generation


def test_set_traits_creates_custom_ones(client: PlacementClient) -> None:
    rp = _host(client)
    client.set_traits(rp, ["HW_CPU_X86_AVX2", "CUSTOM_GOLD"])
    body = client.allocation_candidates({"VCPU": 1}, required=["CUSTOM_GOLD"], in_tree=rp)
    # Upstream's order: standard traits first, then custom ones as they were created.
    assert body["provider_summaries"][str(rp)]["traits"] == ["HW_CPU_X86_AVX2", "CUSTOM_GOLD"]


def test_claim_then_conflict_then_delete(client: PlacementClient) -> None:
    rp = _host(client, vcpu=2)
    first, second = uuid.uuid4(), uuid.uuid4()
    assert client.claim(first, {str(rp): {"VCPU": 2}}, "proj", "user")
    assert not client.claim(second, {str(rp): {"VCPU": 1}}, "proj", "user")
    assert client.provider_usages(rp) == {"VCPU": 2, "MEMORY_MB": 0}
    assert client.project_usages("proj")["VCPU"] >= 2
    body = client.get_allocations(first)
    assert body["allocations"][str(rp)]["resources"] == {"VCPU": 2}
    assert body["consumer_generation"] == 1
    # A re-claim of an existing consumer needs its generation.
    assert not client.claim(first, {str(rp): {"VCPU": 1}}, "proj", "user")
    assert client.claim(first, {str(rp): {"VCPU": 1}}, "proj", "user", consumer_generation=1)
    client.delete_allocations(first)
    client.delete_allocations(first)
    assert client.get_allocations(first) == {"allocations": {}}


def test_claim_unknown_provider_raises(client: PlacementClient) -> None:
    with pytest.raises(PlacementError) as caught:
        client.claim(uuid.uuid4(), {str(uuid.uuid4()): {"VCPU": 1}}, "p", "u")
    assert caught.value.kwargs["status"] == 400


def test_capacity_report(client: PlacementClient) -> None:
    rp = _host(client, vcpu=3)
    client.claim(uuid.uuid4(), {str(rp): {"VCPU": 1}}, "p", "u")
    report = {entry["uuid"]: entry for entry in client.capacity_report(["VCPU"])}
    assert report[str(rp)]["free"] == {"VCPU": 2}


def test_delete_provider_tolerates_absence(client: PlacementClient) -> None:
    rp = _host(client)
    client.delete_resource_provider(rp)
    client.delete_resource_provider(rp)


def test_unreachable_service() -> None:
    client = PlacementClient("http://127.0.0.1:9/placement", timeout=2)
    with pytest.raises(ServiceUnavailable):
        client.provider_usages(uuid.uuid4())
    client.close()
