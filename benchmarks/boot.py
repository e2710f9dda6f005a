"""Boot and delete N servers through the compute API and report throughput and cost.

Against a running cloud:   python benchmarks/boot.py --url http://127.0.0.1:8774/compute
Start one and measure it:  python benchmarks/boot.py --start embedded
                           python benchmarks/boot.py --start multiprocess  (PostgreSQL+RabbitMQ)

Prints boots/s, median and p95 time from POST to ACTIVE, deletes/s, and the CPU seconds
all Kilonova processes spent per server (boot + delete). ``--network`` boots every server
on one network (a /16 made for the run) instead of ``networks: none``: each boot then
also makes a port with an address, binds it and releases it on delete.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import REPO, ProcessStack, free_port


class Api:
    def __init__(self, compute_url: str, image_url: str, token: str) -> None:
        headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.47"}
        self.http = httpx.Client(headers=headers, timeout=120,
                                 limits=httpx.Limits(max_connections=64))
        self.compute = compute_url.rstrip("/") + "/v2.1"
        self.image = image_url.rstrip("/")
        self.network = image_url.rstrip("/").rsplit("/", 1)[0] + "/networking/v2.0"
        self.networks: Any = "none"

    def make_network(self, project: str) -> None:
        """Boot on a network of the run's own from now on (no port quota in the way)."""
        self.http.put(f"{self.network}/quotas/{project}",
                      json={"quota": {"port": -1}}).raise_for_status()
        net = self.http.post(f"{self.network}/networks", json={"network": {
            "name": f"bench-{uuid.uuid4().hex[:6]}"}})
        net.raise_for_status()
        net_id = net.json()["network"]["id"]
        self.http.post(f"{self.network}/subnets", json={"subnet": {
            "network_id": net_id, "ip_version": 4, "cidr": "10.128.0.0/16"}}
        ).raise_for_status()
        self.networks = [{"uuid": net_id}]

    def setup(self, project: str) -> tuple[str, str]:
        # The benchmark keeps hundreds of servers at once: no quota in its way.
        self.http.put(f"{self.compute}/os-quota-sets/{project}", json={"quota_set": {
            "instances": -1, "cores": -1, "ram": -1}}).raise_for_status()
        name = f"bench-{uuid.uuid4().hex[:6]}"
        resp = self.http.post(f"{self.compute}/flavors", json={"flavor": {
            "name": name, "ram": 64, "vcpus": 1, "disk": 1, "id": name}})
        resp.raise_for_status()
        img = self.http.post(f"{self.image}/v2/images", json={
            "name": name, "disk_format": "raw", "container_format": "bare"})
        img.raise_for_status()
        image_id = img.json()["id"]
        self.http.put(f"{self.image}/v2/images/{image_id}/file", content=b"x" * 1024,
                      headers={"Content-Type": "application/octet-stream"}).raise_for_status()
        return name, image_id

    def boot(self, flavor: str, image: str) -> str:
        resp = self.http.post(f"{self.compute}/servers", json={"server": {
            "name": "bench", "flavorRef": flavor, "imageRef": image,
            "networks": self.networks}})
        resp.raise_for_status()
        return str(resp.json()["server"]["id"])

    def delete(self, server_id: str) -> None:
        self.http.delete(f"{self.compute}/servers/{server_id}").raise_for_status()

    def changes_since(self, since: str) -> list[dict[str, Any]]:
        resp = self.http.get(f"{self.compute}/servers/detail",
                             params={"changes-since": since, "limit": 1000})
        resp.raise_for_status()
        servers: list[dict[str, Any]] = resp.json()["servers"]
        return servers


# How far back each watcher poll looks before the previous one began.
WATCH_MARGIN = 1.0


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}Z"


class Watcher:
    """One thread watches every server with a list request, as a dashboard would.

    Polling each server on its own would make the benchmark measure its own polling.
    """

    def __init__(self, api: Api, interval: float = 0.05) -> None:
        self.api = api
        self.interval = interval
        self.since = _iso(time.time() - 5)
        self.status: dict[str, str] = {}
        self.hosts: dict[str, str] = {}
        self.events: dict[str, tuple[set[str], threading.Event]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            # Ask only for what changed since the last answer, with a margin for changes
            # committed a moment after their time was taken (to the microsecond: a
            # margin of whole seconds made each server shown some 50 times per state).
            started = time.time()
            changed = self.api.changes_since(self.since)
            self.since = _iso(started - WATCH_MARGIN)
            for server in changed:
                with self.lock:
                    self.status[server["id"]] = server["status"]
                    if server.get("OS-EXT-SRV-ATTR:host"):
                        self.hosts[server["id"]] = server["OS-EXT-SRV-ATTR:host"]
                    wanted = self.events.get(server["id"])
                if wanted and server["status"] in wanted[0]:
                    wanted[1].set()

    def wait(self, server_id: str, statuses: set[str], timeout: float = 600) -> str:
        event = threading.Event()
        with self.lock:
            self.events[server_id] = (statuses, event)
            if self.status.get(server_id) in statuses:
                event.set()
        if not event.wait(timeout):
            raise RuntimeError(f"{server_id} did not reach {statuses}")
        return self.status[server_id]


def kilonova_processes() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if ("kilonova" in cmd and " serve " in f" {cmd} ") or "cli.main serve" in cmd:
            found.append(proc)
    return found


def cpu_seconds(procs: list[psutil.Process]) -> float:
    return sum(cpu_by_process(procs).values())


def cpu_by_process(procs: list[psutil.Process]) -> dict[str, float]:
    """CPU seconds so far of each process, by its role (the service it serves)."""
    out: dict[str, float] = {}
    for proc in procs:
        try:
            times = proc.cpu_times()
            args = proc.cmdline()
        except psutil.NoSuchProcess:
            continue
        role = next((a for a in args if a in ROLES), f"pid {proc.pid}")
        out[role] = out.get(role, 0.0) + times.user + times.system
    return out


# The words of a service process's command line that name its role.
ROLES = ("api", "conductor", "scheduler", "compute", "placement", "all", "placement.asgi")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(api: Api, count: int, concurrency: int, procs: list[psutil.Process],
        project: str, network: bool = False) -> dict[str, Any]:
    flavor, image = api.setup(project)
    if network:
        api.make_network(project)
    watcher = Watcher(api)

    def boot_one(_: int) -> tuple[str, float, str]:
        start = time.monotonic()
        server_id = api.boot(flavor, image)
        status = watcher.wait(server_id, {"ACTIVE", "ERROR"})
        return server_id, time.monotonic() - start, status

    def delete_one(server_id: str) -> None:
        api.delete(server_id)
        watcher.wait(server_id, {"DELETED"})

    cpu0 = cpu_by_process(procs)
    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(boot_one, range(count)))
    boot_wall = time.monotonic() - t0
    t1 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(delete_one, [r[0] for r in results]))
    delete_wall = time.monotonic() - t1
    cpu1 = cpu_by_process(procs)
    roles = {role: (used - cpu0.get(role, 0.0)) / count for role, used in cpu1.items()}
    cpu = sum(cpu1.values()) - sum(cpu0.values())
    watcher.stop.set()
    times = [r[1] for r in results]
    per_host = Counter(watcher.hosts[r[0]] for r in results if r[0] in watcher.hosts)
    return {
        "servers": count, "concurrency": concurrency,
        "errors": sum(1 for r in results if r[2] != "ACTIVE"),
        "boots_per_s": count / boot_wall, "median_s": statistics.median(times),
        "p95_s": pct(times, 0.95), "deletes_per_s": count / delete_wall,
        "cpu_s_per_server": cpu / count if procs else float("nan"),
        "processes": len(procs), "cpu_by_role": roles,
        "hosts_used": len(per_host), "most_on_one_host": max(per_host.values(), default=0),
    }


@contextmanager
def embedded(tmp: Path, hosts: int) -> Iterator[tuple[str, str, list[psutil.Process]]]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), KILONOVA_LOG__LEVEL="WARNING",
               KILONOVA_AUTH__STRATEGY="noauth", KILONOVA_COMPUTE__FAKE_HOSTS=str(hosts))
    log = (tmp / "serve-all.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "all", "--data-dir",
                             str(tmp / "data"), "--port", str(port)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/compute/", proc)
        wait_hosts(f"{base}/placement", hosts, proc)
        yield f"{base}/compute", f"{base}/image", [psutil.Process(proc.pid)]
    finally:
        proc.terminate()
        proc.wait(60)


def wait_hosts(placement: str, count: int, proc: subprocess.Popen[bytes]) -> None:
    """Until ``count`` hosts have their providers (with inventory) in placement."""
    headers = {"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "placement 1.39"}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("kilonova exited early")
        resp = httpx.get(f"{placement}/resource_providers", headers=headers,
                         params={"resources": "VCPU:1"}, timeout=30)
        if resp.status_code == 200 and len(resp.json()["resource_providers"]) >= count:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{count} hosts did not register")


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("kilonova exited early")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} never answered")


@contextmanager
def multiprocess(tmp: Path, computes: int, hosts: int
                 ) -> Iterator[tuple[str, str, list[psutil.Process]]]:
    sys.path.insert(0, str(REPO))
    from tests.dbutil import create_pg_database, drop_pg_database
    from tests.rabbitutil import create_vhost, delete_vhost

    cdb, pdb, vhost = create_pg_database("kn_bench"), create_pg_database("kn_bench"), \
        create_vhost("kn_bench")
    stack = ProcessStack(tmp, cdb, pdb, vhost, computes=computes,
                         fake_hosts_per_compute=max(1, hosts // computes),
                         service_down_time=60)
    try:
        stack.start()
        yield stack.api_url, f"{stack.api_url}/image", [psutil.Process(p) for p in stack.pids()]
    finally:
        stack.stop()
        drop_pg_database(cdb)
        drop_pg_database(pdb)
        delete_vhost(vhost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="compute API root of a running cloud")
    parser.add_argument("--image-url", help="image API root (default: sibling /image)")
    parser.add_argument("--token", default="admin:admin")
    parser.add_argument("--project", default="admin", help="project the token is scoped to")
    parser.add_argument("--start", choices=["embedded", "multiprocess"])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--computes", type=int, default=2,
                        help="agent processes of the multiprocess layout")
    parser.add_argument("--hosts", type=int, default=4,
                        help="simulated hosts in all (spread over the agent processes)")
    parser.add_argument("--network", action="store_true",
                        help="boot on a network (a port and an address each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        if args.start == "embedded":
            ctx = embedded(Path(tmpdir), args.hosts)
        elif args.start == "multiprocess":
            ctx = multiprocess(Path(tmpdir), args.computes, args.hosts)
        else:
            ctx = _running(args)
        with ctx as (compute_url, image_url, procs):
            result = run(Api(compute_url, image_url, args.token), args.count,
                         args.concurrency, procs, args.project, args.network)
    label = (args.start or "running cloud") + (", on a network" if args.network else "")
    print(f"boot benchmark ({label}, {args.hosts} hosts): {result['servers']} servers, "
          f"concurrency {result['concurrency']}, {result['errors']} errors")
    print(f"  boots/s             {result['boots_per_s']:.1f}")
    print(f"  time to ACTIVE      median {result['median_s'] * 1000:.0f} ms, "
          f"p95 {result['p95_s'] * 1000:.0f} ms")
    print(f"  deletes/s           {result['deletes_per_s']:.1f}")
    print(f"  CPU s per server    {result['cpu_s_per_server']:.3f} "
          f"(boot + delete, {result['processes']} kilonova processes)")
    if len(result["cpu_by_role"]) > 1:
        print("    by process      " + ", ".join(
            f"{role} {value:.3f}" for role, value in sorted(result["cpu_by_role"].items())))
    fair = result["servers"] / args.hosts
    print(f"  spread              most on one host {result['most_on_one_host']} (fair share "
          f"{fair:.1f}), {result['hosts_used']} of {args.hosts} hosts used")


@contextmanager
def _running(args: argparse.Namespace) -> Iterator[tuple[str, str, list[psutil.Process]]]:
    if not args.url:
        raise SystemExit("give --url of a running cloud, or --start embedded|multiprocess")
    image = args.image_url or args.url.rstrip("/").rsplit("/", 1)[0] + "/image"
    yield args.url, image, kilonova_processes()


if __name__ == "__main__":
    threading.excepthook = lambda a: None
    main()
