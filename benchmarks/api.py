"""Time the compute API's server reads with many servers in the database.

    python benchmarks/api.py                      # 10,000 servers, PostgreSQL + RabbitMQ
    python benchmarks/api.py --servers 2000 --rounds 50

Starts Kilonova in the distributed layout (``benchmarks/stack.py``: api, placement,
scheduler, conductor and one compute process) on a throw-away database, writes N server
records straight into the compute database (booting 10,000 servers through the API would
measure the boot path, which ``benchmarks/boot.py`` does), a tenth of them in ERROR with
a fault and a third with tags, then times, as the servers' project would see them:

- ``GET /servers/detail?limit=1000`` (first page, and a page in the middle via ``marker``)
- ``GET /servers?limit=1000``
- ``GET /servers/{id}``

and prints the median and p95 in milliseconds (microversion 2.100, the fullest view).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import ProcessStack
from common.compute_db.models import Instance, InstanceFault, InstanceTag
from common.db import utcnow

PROJECT = "bench"
FLAVOR = {"flavorid": "bench.small", "name": "bench.small", "vcpus": 1, "memory_mb": 512,
          "root_gb": 1, "ephemeral_gb": 0, "swap": 0, "extra_specs": {}}


def fill(db_url: str, count: int, host: str) -> list[str]:
    """Insert ``count`` servers of PROJECT (plus faults and tags); return their uuids."""
    engine = sa.create_engine(db_url)
    now = utcnow()
    rng = random.Random(7)
    rows = []
    ids = []
    for i in range(count):
        server_id = uuid.uuid4()
        ids.append(str(server_id))
        errored = i % 10 == 9
        rows.append({
            "uuid": server_id, "display_name": f"server-{i:05d}", "description": None,
            "project_id": PROJECT, "user_id": "bench-user",
            "image_ref": str(uuid.UUID(int=1)), "flavor": FLAVOR,
            "vm_state": "error" if errored else "active", "task_state": None,
            "power_state": 0 if errored else 1, "host": None if errored else host,
            "node": None if errored else host, "availability_zone": None,
            "key_name": None, "user_data": None, "config_drive": "",
            "metadata_items": {"role": rng.choice(["web", "db", "cache"])},
            "progress": 0, "reservation_id": f"r-{i:08x}", "launch_index": 0,
            "locked": False, "hostname": f"server-{i:05d}", "scheduler_hints": {},
            "image_meta": {"disk_format": "qcow2"},
            "launched_at": None if errored else now,
            "created_at": now - timedelta(seconds=count - i),
            "updated_at": now - timedelta(seconds=count - i),
            "deleted": False, "attempted_hosts": [], "cleaned": False,
        })
    with engine.begin() as conn:
        for start in range(0, count, 2000):
            conn.execute(sa.insert(Instance), rows[start:start + 2000])
        by_uuid = dict(conn.execute(sa.select(Instance.uuid, Instance.id)).all())
        faults = [{"instance_id": by_uuid[uuid.UUID(ids[i])], "code": 500,
                   "message": "No valid host was found.", "details": None,
                   "created_at": now} for i in range(9, count, 10)]
        if faults:
            conn.execute(sa.insert(InstanceFault), faults)
        tags = [{"instance_id": by_uuid[uuid.UUID(ids[i])], "tag": f"t{i % 5}"}
                for i in range(0, count, 3)]
        if tags:
            conn.execute(sa.insert(InstanceTag), tags)
    engine.dispose()
    return ids


def timed(call: Callable[[], httpx.Response], rounds: int) -> list[float]:
    call().raise_for_status()  # warm up (connection, caches)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        resp = call()
        samples.append((time.perf_counter() - start) * 1000)
        resp.raise_for_status()
    return samples


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def stack(workdir: Path) -> Iterator[tuple[ProcessStack, str]]:
    """The distributed layout on throw-away PostgreSQL databases and a RabbitMQ vhost."""
    from tests.dbutil import create_pg_database, drop_pg_database
    from tests.rabbitutil import create_vhost, delete_vhost

    cdb, pdb = create_pg_database("kn_bench"), create_pg_database("kn_bench")
    transport = create_vhost("kn_bench")
    running = ProcessStack(workdir, cdb, pdb, transport, computes=1, service_down_time=60)
    try:
        running.start()
        yield running, cdb
    finally:
        running.stop()
        drop_pg_database(cdb)
        drop_pg_database(pdb)
        delete_vhost(transport)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--version", default="2.100", help="compute microversion to ask for")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, stack(Path(tmp)) as (running, db):
        started = time.perf_counter()
        ids = fill(db, args.servers, "host1")
        loaded = time.perf_counter() - started
        headers = {"X-Auth-Token": f"bench-user:{PROJECT}",
                   "OpenStack-API-Version": f"compute {args.version}"}
        base = f"{running.api_url}/v2.1"
        with httpx.Client(headers=headers, timeout=120) as http:
            middle = ids[len(ids) // 2]
            cases = {
                "GET /servers/detail?limit=1000": lambda: http.get(
                    f"{base}/servers/detail", params={"limit": 1000}),
                "GET /servers/detail?limit=1000&marker=(middle)": lambda: http.get(
                    f"{base}/servers/detail", params={"limit": 1000, "marker": middle}),
                "GET /servers?limit=1000": lambda: http.get(
                    f"{base}/servers", params={"limit": 1000}),
                "GET /servers/{id}": lambda: http.get(
                    f"{base}/servers/{random.choice(ids)}"),
            }
            first = http.get(f"{base}/servers/detail", params={"limit": 1000}).json()
            assert len(first["servers"]) == min(1000, args.servers), "page is short"
            results = {name: timed(call, args.rounds) for name, call in cases.items()}
    print(f"compute API reads (PostgreSQL, {args.servers} servers written in {loaded:.1f} s, "
          f"microversion {args.version}, {args.rounds} rounds each)")
    for name, samples in results.items():
        print(f"  {name:<48} median {statistics.median(samples):7.1f} ms   "
              f"p95 {pct(samples, 0.95):7.1f} ms")


if __name__ == "__main__":
    main()
