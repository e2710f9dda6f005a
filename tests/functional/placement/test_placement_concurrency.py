"""Concurrent claims never over-commit a provider."""

from __future__ import annotations

import threading
import uuid

from placement.client import PlacementClient

WRITERS = 20
CAPACITY = 10


def test_racing_claims_fill_capacity_exactly(placement_url: str) -> None:
    client = PlacementClient(placement_url)
    try:
        rp = uuid.uuid4()
        client.ensure_resource_provider(rp, f"race-{rp}")
        client.set_inventory(rp, {"VCPU": {"total": CAPACITY}})
        start = threading.Barrier(WRITERS)
        results: list[bool] = []
        lock = threading.Lock()

        def claim() -> None:
            start.wait()
            won = client.claim(uuid.uuid4(), {str(rp): {"VCPU": 1}}, "project", "user")
            with lock:
                results.append(won)

        threads = [threading.Thread(target=claim) for _ in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(results) == WRITERS
        assert results.count(True) == CAPACITY
        assert client.provider_usages(rp) == {"VCPU": CAPACITY}
    finally:
        client.close()
