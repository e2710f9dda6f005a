"""Concurrent writers never over-commit a provider and never trip each other up."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from placement.client import PlacementClient

WRITERS = 20
CAPACITY = 10


@pytest.fixture
def client(placement_url: str) -> Iterator[PlacementClient]:
    c = PlacementClient(placement_url)
    try:
        yield c
    finally:
        c.close()


def _race(count: int, action: Callable[[], object]) -> list[object]:
    """Run ``action`` in ``count`` threads released at once; their results."""
    start = threading.Barrier(count)
    results: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        outcome = action()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == count
    return results


def _host(client: PlacementClient, vcpu: int) -> uuid.UUID:
    rp = uuid.uuid4()
    client.ensure_resource_provider(rp, f"race-{rp}")
    client.set_inventory(rp, {"VCPU": {"total": vcpu}})
    return rp


def test_racing_claims_fill_capacity_exactly(client: PlacementClient) -> None:
    rp = _host(client, CAPACITY)
    results = _race(WRITERS, lambda: client.claim(
        uuid.uuid4(), {str(rp): {"VCPU": 1}}, "project", "user"))
    assert results.count(True) == CAPACITY
    assert client.provider_usages(rp) == {"VCPU": CAPACITY}


def test_racing_claims_on_two_providers(client: PlacementClient) -> None:
    big, small = _host(client, CAPACITY), _host(client, CAPACITY // 2)
    results = _race(WRITERS, lambda: client.claim(
        uuid.uuid4(), {str(big): {"VCPU": 1}, str(small): {"VCPU": 1}}, "project", "user"))
    assert results.count(True) == CAPACITY // 2
    assert client.provider_usages(big) == {"VCPU": CAPACITY // 2}
    assert client.provider_usages(small) == {"VCPU": CAPACITY // 2}


def test_racing_claims_for_one_new_consumer(client: PlacementClient) -> None:
    rp, consumer = _host(client, CAPACITY), uuid.uuid4()
    results = _race(5, lambda: client.claim(consumer, {str(rp): {"VCPU": 1}}, "p", "u"))
    assert results.count(True) == 1
    assert client.provider_usages(rp) == {"VCPU": 1}


def test_racing_provider_creation(client: PlacementClient) -> None:
    rp = uuid.uuid4()
    assert _race(8, lambda: client.ensure_resource_provider(rp, f"same-{rp}")) == [0] * 8


def test_inventory_writers_and_claims_interleave(client: PlacementClient) -> None:
    rp = _host(client, CAPACITY)
    turn = iter(range(WRITERS))
    lock = threading.Lock()

    def act() -> object:
        with lock:
            mine = next(turn)
        if mine % 2:
            ratio = 1 + mine % 3  # capacity never drops below what claims need
            client.set_inventory(rp, {"VCPU": {"total": CAPACITY, "allocation_ratio": ratio}})
            return None
        return client.claim(uuid.uuid4(), {str(rp): {"VCPU": 1}}, "p", "u")

    results = _race(WRITERS, act)
    assert results.count(True) == client.provider_usages(rp)["VCPU"] == WRITERS // 2
