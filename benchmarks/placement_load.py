"""Load our placement and upstream's with the same N providers; time their hot requests.

    python benchmarks/placement_load.py --providers 1000 --db postgresql
    python benchmarks/placement_load.py --providers 10000 --db postgresql --duration 30
    python benchmarks/placement_load.py --skip-upstream --db sqlite
    python benchmarks/placement_load.py --url http://127.0.0.1:8778 --skip-upstream
    python benchmarks/placement_load.py -n 10000 --no-answer-cache --throughput-limit 1000

Each implementation gets a throw-away database (SQLite file, or a fresh database on
the PostgreSQL at 127.0.0.1:5432) and runs as a separate server on loopback with
``--workers`` processes: ours under uvicorn workers forked by ``placement.asgi``,
upstream's ``openstack-placement`` under gunicorn (sync workers), installed by this
script into its own virtual environment (``--upstream-venv``, never the project's).

Both get the same data set through the HTTP API: N providers (80% flat with VCPU 32 /
MEMORY_MB 8192 / DISK_GB 8192; every 5th a root holding DISK_GB with two NUMA children
holding VCPU and MEMORY_MB), cycling over 10 aggregates and 4 traits, with allocations
against 30% of them, both loaded at once. Then the median and p95 milliseconds of
allocation candidates (plain, limited, with required, with member_of), provider
listing and allocation writes, and the throughput of ``--clients`` concurrent clients
asking for candidates (unlimited unless ``--throughput-limit``: unlimited at 10,000
providers each answer is ~7.6 MB of JSON, and moving that alone caps the figure well
below 100 req/s on a 2-core machine, cached or not). Both servers run side by side and
every timed round (and throughput slice) alternates between them, so a busy machine slows
both alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.db import upgrade  # noqa: E402

UPSTREAM_PACKAGES = ["openstack-placement==16.0.0", "gunicorn", "psycopg2-binary"]
DEFAULT_VENV = Path.home() / ".cache" / "kilonova-bench" / "upstream-placement"
PG_ADMIN_URL = os.environ.get(
    "KILONOVA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# A fixed namespace: both implementations get the very same provider uuids.
NAMESPACE = uuid.UUID("6b7c1d2e-0000-4000-8000-000000000001")
AGGREGATES = [str(uuid.UUID(int=i + 1)) for i in range(10)]
TRAITS = ["HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "COMPUTE_STATUS_DISABLED", "STORAGE_DISK_SSD"]
FLAVOR = "VCPU:1,MEMORY_MB:512,DISK_GB:10"
CANDIDATE_CASES: dict[str, dict[str, str]] = {
    "GET /allocation_candidates": {},
    "GET /allocation_candidates limit=10": {"limit": "10"},
    "GET /allocation_candidates required": {"required": TRAITS[0]},
    "GET /allocation_candidates member_of": {"member_of": AGGREGATES[0]},
}


class Placement:
    def __init__(self, url: str, connections: int = 32) -> None:
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/", timeout=600,
            headers={"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "placement 1.39"},
            limits=httpx.Limits(max_connections=connections),
        )

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    def provider(self, name: str, parent: str | None, inventory: dict[str, int],
                 trait: str, aggregate: str) -> str:
        rp = str(uuid.uuid5(NAMESPACE, name))
        body: dict[str, Any] = {"name": name, "uuid": rp}
        if parent:
            body["parent_provider_uuid"] = parent
        self.call("POST", "resource_providers", json=body)
        self.call("PUT", f"resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0,
            "inventories": {rc: {"total": total} for rc, total in inventory.items()}})
        self.call("PUT", f"resource_providers/{rp}/traits",
                  json={"traits": [trait], "resource_provider_generation": 1})
        self.call("PUT", f"resource_providers/{rp}/aggregates",
                  json={"aggregates": [aggregate], "resource_provider_generation": 2})
        return rp

    def allocate(self, allocations: dict[str, dict[str, int]], consumer: str | None = None) -> str:
        consumer = consumer or str(uuid.uuid4())
        self.call("PUT", f"allocations/{consumer}", json={
            "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
            "project_id": "bench", "user_id": "bench", "consumer_generation": None,
            "consumer_type": "INSTANCE"})
        return consumer


def populate(api: Placement, count: int) -> None:
    def one(index: int) -> None:
        trait, agg = TRAITS[index % len(TRAITS)], AGGREGATES[index % len(AGGREGATES)]
        name = f"bench-{index}"
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
            api.allocate(targets, str(uuid.uuid5(NAMESPACE, f"consumer-{index}")))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))


@dataclass
class Figures:
    name: str
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)
    candidates_found: int = 0
    throughput: float = 0.0
    load_seconds: float = 0.0


def timed(rounds: int, actions: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, float]]:
    """Median and p95 ms of each action; rounds alternate, so load noise hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for action in actions.values():
        action()  # warm caches and connections; not counted
    for _ in range(rounds):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            samples[name].append((time.perf_counter() - start) * 1000)
    out = {}
    for name, times in samples.items():
        times.sort()
        out[name] = statistics.median(times), times[max(0, round(len(times) * 0.95) - 1)]
    return out


def measure(apis: dict[str, Placement], figures: dict[str, Figures], rounds: int) -> None:
    def candidates(api: Placement, params: dict[str, str]) -> Callable[[], Any]:
        return lambda: api.call("GET", "allocation_candidates",
                                params={"resources": FLAVOR, **params})

    def allocate(api: Placement, written: list[str]) -> Callable[[], Any]:
        return lambda: written.append(api.allocate({target: {"VCPU": 1, "MEMORY_MB": 1}}))

    def listing(api: Placement) -> Callable[[], Any]:
        return lambda: api.call("GET", "resource_providers")

    # A flat provider allocated by nobody: writes there never run out of room.
    target = str(uuid.uuid5(NAMESPACE, "bench-3"))
    written: dict[str, list[str]] = {name: [] for name in apis}
    cases: dict[str, dict[str, Callable[[], Any]]] = {
        label: {name: candidates(api, params) for name, api in apis.items()}
        for label, params in CANDIDATE_CASES.items()
    }
    cases["GET /resource_providers"] = {name: listing(api) for name, api in apis.items()}
    cases["PUT /allocations/{consumer}"] = {
        name: allocate(api, written[name]) for name, api in apis.items()}
    for label, actions in cases.items():
        for name, result in timed(rounds, actions).items():
            figures[name].timings[label] = result
        print(f"timed {label}", flush=True)
    for name, api in apis.items():
        figures[name].candidates_found = len(api.call(
            "GET", "allocation_candidates", params={"resources": FLAVOR}
        ).json()["allocation_requests"])
        for consumer in written[name]:
            api.call("DELETE", f"allocations/{consumer}")


def throughput(url: str, clients: int, seconds: float, limit: int | None = None
               ) -> tuple[int, float]:
    """Allocation-candidate requests answered to ``clients`` busy clients, and the time."""
    params = {"resources": FLAVOR, **({"limit": str(limit)} if limit else {})}
    deadline = time.monotonic() + seconds
    counts = [0] * clients

    def client(index: int) -> None:
        api = Placement(url, connections=1)
        while time.monotonic() < deadline:
            api.call("GET", "allocation_candidates", params=params)
            counts[index] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts), time.monotonic() - start


def benchmark(urls: dict[str, str], args: argparse.Namespace) -> dict[str, Figures]:
    """Load every placement at once, then time them side by side."""
    figures = {name: Figures(name) for name in urls}
    apis = {name: Placement(url) for name, url in urls.items()}

    def load(name: str) -> None:
        start = time.perf_counter()
        populate(apis[name], args.providers)
        figures[name].load_seconds = time.perf_counter() - start
        print(f"{name}: loaded {args.providers} providers in {figures[name].load_seconds:.1f}s",
              flush=True)

    with ThreadPoolExecutor(len(urls)) as pool:
        list(pool.map(load, urls))
    measure(apis, figures, args.rounds)
    # Throughput in alternating slices, for the same reason rounds alternate.
    slices = 3
    done = {name: (0, 0.0) for name in urls}
    for _ in range(slices):
        for name, url in urls.items():
            count, seconds = throughput(url, args.clients, args.duration / slices,
                                        args.throughput_limit)
            done[name] = (done[name][0] + count, done[name][1] + seconds)
    for name, (count, seconds) in done.items():
        figures[name].throughput = count / seconds
    return figures


# --- servers -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def database(kind: str, tmp: Path, name: str) -> Iterator[str]:
    """A throw-away SQLAlchemy URL (``postgresql+psycopg``) for ``kind``."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / (name + '.sqlite')}"
        return
    import sqlalchemy as sa

    db = f"kn_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def process(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """Run a server in its own process group until it answers on ``port``; stop it after.

    It runs in the log's folder: gunicorn puts its working directory first on sys.path,
    where ours (also named ``placement``) would shadow upstream's package.
    """
    with log.open("w") as out:
        proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, cwd=log.parent,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def ours(kind: str, tmp: Path, workers: int, answer_cache: bool = True) -> Iterator[str]:
    with database(kind, tmp, "ours") as url:
        upgrade("placement", url)
        port = free_port()
        command = [sys.executable, "-m", "placement.asgi", "--port", str(port),
                   "--workers", str(workers)]
        env = {"KILONOVA_AUTH__STRATEGY": "noauth",
               "KILONOVA_DATABASE__PLACEMENT_URL": url, "KILONOVA_DATA_DIR": str(tmp),
               "KILONOVA_PLACEMENT__ANSWER_CACHE": str(answer_cache).lower(),
               "PYTHONPATH": str(ROOT)}
        with process(command, env, port, tmp / "ours.log") as base:
            yield base


def upstream_venv(venv: Path) -> Path:
    """The virtual environment holding upstream placement, created when missing."""
    if not (venv / "bin" / "placement-manage").exists():
        print(f"installing {' '.join(UPSTREAM_PACKAGES)} into {venv}", flush=True)
        python = shutil.which("python3") or sys.executable
        subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *UPSTREAM_PACKAGES],
                       check=True)
    return venv


@contextmanager
def upstream(kind: str, tmp: Path, workers: int, venv: Path) -> Iterator[str]:
    with database(kind, tmp, "upstream") as url:
        conf_dir = tmp / "upstream-etc"
        conf_dir.mkdir()
        connection = url.replace("postgresql+psycopg://", "postgresql+psycopg2://")
        (conf_dir / "placement.conf").write_text(textwrap.dedent(f"""\
            [DEFAULT]
            debug = False
            [api]
            auth_strategy = noauth2
            [placement_database]
            connection = {connection}
            max_pool_size = 10
            """))
        subprocess.run([str(venv / "bin" / "placement-manage"), "--config-dir", str(conf_dir),
                        "db", "sync"], check=True)
        port = free_port()
        command = [str(venv / "bin" / "gunicorn"), "--workers", str(workers),
                   "--bind", f"127.0.0.1:{port}", "--timeout", "600",
                   "--log-level", "warning", "placement.wsgi.api:application"]
        with process(command, {"OS_PLACEMENT_CONFIG_DIR": str(conf_dir)}, port,
                     tmp / "upstream.log") as base:
            yield base


# --- report --------------------------------------------------------------------------


def report(mine: Figures, theirs: Figures | None, providers: int, limit: int | None) -> None:
    print(f"\n{providers} providers; {mine.candidates_found} allocation requests for {FLAVOR}"
          + (f" (upstream: {theirs.candidates_found})" if theirs else ""))
    head = f"{'request':38} {'ours med':>9} {'ours p95':>9}"
    if theirs:
        head += f" {'upst med':>9} {'upst p95':>9} {'ours/upst':>9}"
    print(head)
    for label, (median, p95) in mine.timings.items():
        line = f"{label:38} {median:9.1f} {p95:9.1f}"
        if theirs:
            up_median, up_p95 = theirs.timings[label]
            line += f" {up_median:9.1f} {up_p95:9.1f} {median / up_median:9.3f}"
        print(line)
    label = "throughput (req/s, candidates" + (f", limit={limit})" if limit else ")")
    line = f"{label:38} {mine.throughput:9.1f} {'':9}"
    if theirs:
        line += f" {theirs.throughput:9.1f} {'':9} {mine.throughput / theirs.throughput:9.1f}x"
    print(line)
    if theirs:
        print()
        for verdict in targets(mine, theirs, providers):
            print(verdict)


def targets(mine: Figures, theirs: Figures, providers: int) -> list[str]:
    """The issue's targets, each with PASS or MISS."""
    checks: list[tuple[str, bool]] = []
    share = 5 if providers < 10000 else 10
    for label in CANDIDATE_CASES:
        ratio = mine.timings[label][0] / theirs.timings[label][0]
        checks.append((f"{label}: median <= 1/{share} of upstream ({ratio:.3f})",
                       ratio <= 1 / share))
    if providers >= 10000:
        limited = mine.timings["GET /allocation_candidates limit=10"][0]
        checks.append((f"limit=10 under 50 ms ({limited:.1f} ms)", limited < 50))
    times = mine.throughput / theirs.throughput
    checks.append((f"throughput >= 10x upstream ({times:.1f}x)", times >= 10))
    put = "PUT /allocations/{consumer}"
    checks.append((f"{put} no slower than upstream "
                   f"({mine.timings[put][0]:.1f} vs {theirs.timings[put][0]:.1f} ms)",
                   mine.timings[put][0] <= theirs.timings[put][0]))
    return [f"{'PASS' if ok else 'MISS'}  {text}" for text, ok in checks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--providers", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql",
                        help="backend of both implementations' throw-away databases")
    parser.add_argument("--skip-upstream", action="store_true")
    parser.add_argument("--no-answer-cache", action="store_true",
                        help="ours computes every candidates answer ([placement] answer_cache)")
    parser.add_argument("--url", help="measure this running placement instead of starting ours")
    parser.add_argument("--workers", type=int, default=2, help="server processes of each")
    parser.add_argument("--rounds", type=int, default=20, help="timed requests per case")
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=30.0,
                        help="seconds of the throughput test")
    parser.add_argument("--throughput-limit", type=int, default=None,
                        help="the throughput test's limit= (a scheduler sends one: ours "
                             "1000, as upstream's max_placement_results); none by default")
    parser.add_argument("--upstream-venv", type=Path, default=DEFAULT_VENV)
    args = parser.parse_args()
    # A SIGTERM still stops the servers and drops the databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        urls = {"ours": args.url or stack.enter_context(ours(args.db, Path(tmp), args.workers,
                                                                   not args.no_answer_cache))}
        if not args.skip_upstream:
            venv = upstream_venv(args.upstream_venv)
            urls["upstream"] = stack.enter_context(
                upstream(args.db, Path(tmp), args.workers, venv))
        figures = benchmark(urls, args)
    report(figures["ours"], figures.get("upstream"), args.providers, args.throughput_limit)

if __name__ == "__main__":
    main()
