"""What a Kilonova stack costs while it does nothing: CPU, memory, threads, connections.

    python benchmarks/idle.py --start embedded --hosts 1000
    python benchmarks/idle.py --start multiprocess --hosts 1000 --computes 2

Starts the stack, waits for every simulated host to register, lets it settle, then
measures each process over ``--seconds``: share of one core, resident memory, threads;
and, for the multiprocess layout, the PostgreSQL connections the stack holds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.boot import embedded, multiprocess
from tests.dbutil import PG_ADMIN_URL


def pg_connections(databases: list[str]) -> int:
    engine = sa.create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = ANY(:names)"),
                {"names": databases}).scalar_one())
    finally:
        engine.dispose()


def measure(procs: list[psutil.Process], seconds: float) -> list[tuple[str, float, float, int]]:
    """(name, share of a core, RSS MB, threads) per process."""
    before = {p.pid: sum(p.cpu_times()[:2]) for p in procs}
    start = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - start
    out = []
    for p in procs:
        name = " ".join(p.cmdline()[-3:]) if p.cmdline() else str(p.pid)
        out.append((name, (sum(p.cpu_times()[:2]) - before[p.pid]) / wall,
                    p.memory_info().rss / 2**20, p.num_threads()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", choices=["embedded", "multiprocess"], default="embedded")
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--computes", type=int, default=2)
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds to wait after start before measuring")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        started = time.monotonic()
        ctx = (embedded(Path(tmpdir), args.hosts) if args.start == "embedded"
               else multiprocess(Path(tmpdir), args.computes, args.hosts))
        with ctx as (_, _, procs):
            up = time.monotonic() - started
            time.sleep(args.settle)
            rows = measure(procs, args.seconds)
            connections = None
            if args.start == "multiprocess":
                names = sorted({c.split("/")[-1] for c in _stack_urls(Path(tmpdir))})
                connections = pg_connections(names)
    print(f"idle benchmark ({args.start}, {args.hosts} hosts): ready in {up:.0f} s, "
          f"measured over {args.seconds:.0f} s")
    for name, cpu, rss, threads in rows:
        print(f"  {name[-40:]:40s} {cpu * 100:5.1f}% of a core  {rss:6.0f} MB  "
              f"{threads:4d} threads")
    print(f"  in all: {sum(r[1] for r in rows) * 100:.1f}% of a core, "
          f"{sum(r[2] for r in rows):.0f} MB")
    if connections is not None:
        print(f"  PostgreSQL connections held: {connections}")


def _stack_urls(tmp: Path) -> list[str]:
    """The database URLs the multiprocess stack's config names."""
    text = (tmp / "kilonova.toml").read_text()
    return [line.split('"')[1] for line in text.splitlines()
            if line.startswith(("compute_url", "placement_url"))]


if __name__ == "__main__":
    main()
