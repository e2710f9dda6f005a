"""How many decisions a second the scheduler makes, and how long one takes.

    python benchmarks/scheduler.py                     (1,000 hosts, 1 and 2 schedulers)
    python benchmarks/scheduler.py --hosts 200 --schedulers 1 --decisions 300

Runs placement and the scheduler processes on PostgreSQL and RabbitMQ, writes the
simulated hosts itself (providers with inventory in placement; compute nodes and
services, heartbeats fresh, in the compute database) and calls ``select_destination``
over RPC as the conductor does. Every decision claims in placement.

- single: concurrent decisions, each of a flavor of its own (no two share an answer);
- batch: bursts of identical decisions arriving together (a multi-server create).

Prints decisions/s, p50 and p95 decision latency, and how evenly the claims spread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import ProcessStack
from common.compute_db.models import ComputeNode, Service
from common.context import admin_context
from common.db import create_engine, session_factory, transaction, utcnow
from common.messages import FlavorPayload, RequestSpec
from common.rpc import Messaging
from placement.client import PlacementClient
from scheduler.rpc.client import SchedulerClient
from tests.dbutil import create_pg_database, drop_pg_database
from tests.rabbitutil import create_vhost, delete_vhost

VCPUS, MEMORY_MB, DISK_GB = 64, 262144, 4000


def add_hosts(stack: ProcessStack, count: int) -> dict[str, str]:
    """``count`` hosts in placement and the compute database; provider uuid -> host."""
    placement = PlacementClient(stack.placement_url)
    hosts = {str(uuid.uuid5(uuid.NAMESPACE_DNS, f"bench-host-{i}")): f"bench-host-{i}"
             for i in range(count)}

    def provider(item: tuple[str, str]) -> None:
        rp, host = item
        placement.ensure_resource_provider(uuid.UUID(rp), host)
        placement.set_inventory(uuid.UUID(rp), {
            "VCPU": {"total": VCPUS}, "MEMORY_MB": {"total": MEMORY_MB},
            "DISK_GB": {"total": DISK_GB}})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(provider, hosts.items()))
    placement.close()
    engine = create_engine(stack.compute_db_url, pool_size=1)
    with transaction(session_factory(engine)) as session:
        for rp, host in hosts.items():
            session.add(Service(host=host, binary="kilonova-compute", topic="compute",
                                last_seen_up=utcnow() + timedelta(days=1)))
            session.add(ComputeNode(
                uuid=uuid.UUID(rp), host=host, hypervisor_hostname=host,
                hypervisor_type="fake", vcpus=VCPUS, memory_mb=MEMORY_MB, local_gb=DISK_GB,
                cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0,
                disk_allocation_ratio=1.0))
    engine.dispose()
    return hosts


def wait_schedulers(stack: ProcessStack, count: int, timeout: float = 90) -> None:
    """Until every scheduler process has started (its first heartbeat is written)."""
    engine = create_engine(stack.compute_db_url, pool_size=1)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with transaction(session_factory(engine)) as session:
                up = session.scalar(sa.select(sa.func.count()).select_from(Service).where(
                    Service.binary == "kilonova-scheduler"))
            if up == count:
                return
            time.sleep(0.3)
        raise RuntimeError(f"schedulers did not start; logs in {stack.workdir}")
    finally:
        engine.dispose()


def spec(memory_mb: int) -> RequestSpec:
    flavor = FlavorPayload(flavorid=f"f{memory_mb}", name=f"f{memory_mb}", vcpus=1,
                           memory_mb=memory_mb, root_gb=1)
    return RequestSpec(instance_uuid=uuid.uuid4(), project_id="bench", user_id="bench",
                       flavor=flavor, first_claim=True)


def run(client: SchedulerClient, specs: list[list[RequestSpec]], concurrency: int
        ) -> tuple[float, list[float], Counter[str], int]:
    """Send each group of specs together; returns decisions/s, latencies, hosts, errors."""
    ctx = admin_context()
    latencies: list[float] = []
    hosts: Counter[str] = Counter()
    errors = 0

    def decide(one: RequestSpec) -> None:
        nonlocal errors
        start = time.monotonic()
        try:
            chosen = client.select_destination(ctx, one)
        except Exception as exc:
            errors += 1
            print(f"  decision failed: {exc}", file=sys.stderr)
            return
        latencies.append(time.monotonic() - start)
        hosts[chosen.host] += 1

    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        for group in specs:
            list(pool.map(decide, group))
    wall = time.monotonic() - t0
    return len(latencies) / wall, latencies, hosts, errors


def measure(schedulers: int, args: argparse.Namespace) -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="kn-sched-bench-"))
    cdb = create_pg_database("kn_sbench")
    pdb = create_pg_database("kn_sbench")
    vhost = create_vhost("kn_sbench")
    stack = ProcessStack(tmp, cdb, pdb, vhost, computes=0, schedulers=schedulers,
                         service_down_time=3600)
    lines = []
    try:
        stack.start_scheduling()
        t0 = time.monotonic()
        add_hosts(stack, args.hosts)
        print(f"{args.hosts} hosts written in {time.monotonic() - t0:.0f} s", flush=True)
        wait_schedulers(stack, schedulers)
        messaging = Messaging(vhost)
        client = SchedulerClient(messaging)
        # Warm up: every scheduler process answers once before the clock starts.
        run(client, [[spec(64) for _ in range(schedulers * 4)]], schedulers * 4)
        n = args.decisions
        singles = [[spec(65 + i) for i in range(n)]]
        batches = [[spec(128) for _ in range(args.batch)]
                   for _ in range(max(1, n // args.batch))]
        total: Counter[str] = Counter()
        for mode, groups, conc in (("single", singles, args.concurrency),
                                   ("batch", batches, args.batch)):
            rate, lat, hosts, errors = run(client, groups, conc)
            total.update(hosts)
            lat.sort()
            lines.append(
                f"  {schedulers} scheduler(s) {mode:6s} {rate:6.1f} decisions/s  "
                f"p50 {statistics.median(lat) * 1000:5.0f} ms  "
                f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:5.0f} ms  errors {errors}")
            print(lines[-1], flush=True)
        fair = sum(total.values()) / args.hosts
        lines.append(f"  {schedulers} scheduler(s) spread: {sum(total.values())} claims on "
                     f"{len(total)} hosts, most on one host {max(total.values())} "
                     f"(fair share {fair:.2f})")
        print(lines[-1], flush=True)
        messaging.close()
    finally:
        stack.stop()
        drop_pg_database(cdb)
        drop_pg_database(pdb)
        delete_vhost(vhost)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--schedulers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--batch", type=int, default=10,
                        help="decisions per burst of identical ones")
    args = parser.parse_args()
    lines = []
    for count in args.schedulers:
        lines += measure(count, args)
    print(f"scheduler benchmark: {args.hosts} hosts, {args.decisions} decisions per mode, "
          f"concurrency {args.concurrency}, bursts of {args.batch}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
