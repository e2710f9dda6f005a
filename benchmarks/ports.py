"""Ports created per second through the network API, by concurrent clients.

    python benchmarks/ports.py --start embedded            (SQLite, in-process messaging)
    python benchmarks/ports.py --url http://127.0.0.1:8774  (a running cloud's root)

Each client creates ports on one shared network (a /16), each port getting an address
from the race-free allocator, then deletes them; prints creates/s, deletes/s and the
median and p95 latency of a create.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.boot import embedded, pct


def measure(root: str, token: str, project: str, count: int, clients: int) -> None:
    api = f"{root.rstrip('/')}/networking/v2.0"
    http = httpx.Client(headers={"X-Auth-Token": token}, timeout=120,
                        limits=httpx.Limits(max_connections=clients + 4))
    http.put(f"{api}/quotas/{project}", json={"quota": {"port": -1}}).raise_for_status()
    net = http.post(f"{api}/networks", json={"network": {
        "name": f"ports-{uuid.uuid4().hex[:6]}"}})
    net.raise_for_status()
    net_id = net.json()["network"]["id"]
    http.post(f"{api}/subnets", json={"subnet": {
        "network_id": net_id, "ip_version": 4, "cidr": "10.200.0.0/16"}}).raise_for_status()
    latencies: list[float] = []
    lock = threading.Lock()

    def create(_: int) -> str:
        start = time.monotonic()
        resp = http.post(f"{api}/ports", json={"port": {"network_id": net_id}})
        resp.raise_for_status()
        with lock:
            latencies.append(time.monotonic() - start)
        return str(resp.json()["port"]["id"])

    t0 = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        made = list(pool.map(create, range(count)))
    created = time.monotonic() - t0
    t1 = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda p: http.delete(f"{api}/ports/{p}").raise_for_status(), made))
    deleted = time.monotonic() - t1
    print(f"ports benchmark: {count} ports, {clients} clients")
    print(f"  creates/s           {count / created:.1f}")
    print(f"  create latency      median {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {pct(latencies, 0.95) * 1000:.0f} ms")
    print(f"  deletes/s           {count / deleted:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="root of a running cloud (serving /networking)")
    parser.add_argument("--start", choices=["embedded"])
    parser.add_argument("--token", default="admin:admin")
    parser.add_argument("--project", default="admin")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()
    if args.start:
        with tempfile.TemporaryDirectory() as tmp, embedded(Path(tmp), 1) as (compute, _, _):
            measure(compute.rsplit("/", 1)[0], args.token, args.project, args.count,
                    args.clients)
    elif args.url:
        measure(args.url, args.token, args.project, args.count, args.clients)
    else:
        raise SystemExit("give --url of a running cloud, or --start embedded")


if __name__ == "__main__":
    main()
