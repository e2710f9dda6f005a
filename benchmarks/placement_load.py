"""Load a placement service with N providers and time its hot requests.

Against a running placement:  python benchmarks/placement_load.py --url http://127.0.0.1:8778
In-process on a fresh DB:     python benchmarks/placement_load.py [--db sqlite|postgresql|URL]

Creates N providers (80% flat with VCPU 32 / MEMORY_MB 8192 / DISK_GB 8192; every 5th
a root holding DISK_GB with two NUMA children holding VCPU and MEMORY_MB), spread over
10 aggregates and a few traits, with allocations against 30% of them. Then prints the
median and p95 milliseconds of allocation candidates (plain, limited, with required,
with member_of), provider listing and allocation writes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.db import upgrade
from common.settings import load_settings
from placement.app import create_app

AGGREGATES = [str(uuid.UUID(int=i + 1)) for i in range(10)]
TRAITS = ["HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "COMPUTE_STATUS_DISABLED", "STORAGE_DISK_SSD"]
FLAVOR = "VCPU:1,MEMORY_MB:512,DISK_GB:10"


class Placement:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/", timeout=120,
            headers={"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "placement 1.39"},
            limits=httpx.Limits(max_connections=32),
        )

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def provider(self, name: str, parent: str | None, inventory: dict[str, int],
                 trait: str, aggregate: str) -> str:
        rp = str(uuid.uuid4())
        body: dict[str, Any] = {"name": name, "uuid": rp}
        if parent:
            body["parent_provider_uuid"] = parent
        self.call("POST", "resource_providers", json=body)
        generation = 0
        if inventory:
            self.call("PUT", f"resource_providers/{rp}/inventories", json={
                "resource_provider_generation": generation,
                "inventories": {rc: {"total": total} for rc, total in inventory.items()}})
            generation += 1
        self.call("PUT", f"resource_providers/{rp}/traits",
                  json={"traits": [trait], "resource_provider_generation": generation})
        self.call("PUT", f"resource_providers/{rp}/aggregates",
                  json={"aggregates": [aggregate], "resource_provider_generation": generation + 1})
        return rp

    def allocate(self, allocations: dict[str, dict[str, int]]) -> str:
        consumer = str(uuid.uuid4())
        self.call("PUT", f"allocations/{consumer}", json={
            "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
            "project_id": "bench", "user_id": "bench", "consumer_generation": None,
            "consumer_type": "INSTANCE"})
        return consumer


def populate(api: Placement, count: int) -> None:
    def one(index: int) -> None:
        trait, agg = TRAITS[index % len(TRAITS)], AGGREGATES[index % len(AGGREGATES)]
        name = f"bench-{index}-{uuid.uuid4().hex[:6]}"
        if index % 5 == 4:
            root = api.provider(name, None, {"DISK_GB": 8192}, trait, agg)
            numa = [api.provider(f"{name}-numa{n}", root, {"VCPU": 16, "MEMORY_MB": 4096},
                                 trait, agg) for n in range(2)]
            targets = {numa[0]: {"VCPU": 2, "MEMORY_MB": 1024}, root: {"DISK_GB": 20}}
        else:
            rp = api.provider(name, None, {"VCPU": 32, "MEMORY_MB": 8192, "DISK_GB": 8192},
                              trait, agg)
            targets = {rp: {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 20}}
        if index % 10 < 3:
            api.allocate(targets)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))


def timed(rounds: int, action: Callable[[], Any]) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def measure(api: Placement, rounds: int) -> None:
    def candidates(**params: str) -> Callable[[], Any]:
        return lambda: api.call("GET", "allocation_candidates",
                                params={"resources": FLAVOR, **params})

    some_rp = api.call("GET", "resource_providers", params={"limit": "1",
                                                            "resources": FLAVOR})
    target = some_rp.json()["resource_providers"][0]["uuid"]
    written: list[str] = []
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("GET /allocation_candidates", candidates()),
        ("GET /allocation_candidates limit=10", candidates(limit="10")),
        ("GET /allocation_candidates required", candidates(required=TRAITS[0])),
        ("GET /allocation_candidates member_of", candidates(member_of=AGGREGATES[0])),
        ("GET /resource_providers", lambda: api.call("GET", "resource_providers")),
        ("PUT /allocations/{consumer}",
         lambda: written.append(api.allocate({target: {"VCPU": 1, "MEMORY_MB": 1}}))),
    ]
    found = len(api.call("GET", "allocation_candidates",
                         params={"resources": FLAVOR}).json()["allocation_requests"])
    print(f"{found} allocation requests for {FLAVOR}")
    print(f"{'request':45} {'median ms':>10} {'p95 ms':>10}")
    for label, action in cases:
        median, p95 = timed(rounds, action)
        print(f"{label:45} {median:10.1f} {p95:10.1f}")
    for consumer in written:
        api.call("DELETE", f"allocations/{consumer}")


@contextmanager
def local_placement(db: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = _db_url(db, Path(tmp))
        upgrade("placement", url)
        settings = load_settings(data_dir=tmp, database={"placement_url": url})
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            _drop(db, url)


def _db_url(db: str, tmp: Path) -> str:
    if db == "sqlite":
        return f"sqlite:///{tmp / 'placement.sqlite'}"
    if db == "postgresql":
        from tests.dbutil import create_pg_database

        return create_pg_database("kn_bench")
    return db


def _drop(db: str, url: str) -> None:
    if db == "postgresql":
        from tests.dbutil import drop_pg_database

        drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running placement; default: start one in-process")
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql or an SQLAlchemy URL")
    parser.add_argument("-n", "--providers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with (contextmanager(lambda: iter([args.url]))() if args.url
          else local_placement(args.db)) as url:
        api = Placement(url)
        start = time.perf_counter()
        populate(api, args.providers)
        print(f"created {args.providers} providers in {time.perf_counter() - start:.1f}s")
        measure(api, args.rounds)


if __name__ == "__main__":
    main()
