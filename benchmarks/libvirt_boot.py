"""Real QEMU guests: time from API create to ACTIVE and to the first console line.

    bash scripts/libvirt/setup.sh
    .venv/bin/python benchmarks/libvirt_boot.py                 # 1, 5 and 10 guests
    .venv/bin/python benchmarks/libvirt_boot.py --counts 1 3

Starts an embedded cloud (SQLite, in-memory messaging) whose agent drives this machine's
libvirtd with TCG guests (the tiny kernel + busybox image built by the setup script),
boots N servers at once, and reports the median and worst time from POST /servers to
ACTIVE and to the guest's first console line, then deletes them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cli.embedded import EmbeddedCloud
from common.settings import load_settings
from tests.cloud import CloudClient
from tests.integration.libvirt.guest import (
    UP_MARKER,
    destroy_guests_under,
    missing_prerequisites,
    upload_test_image,
    use_libvirt,
)


def boot_one(client: CloudClient, flavor: str, image: str, instances: Path
             ) -> tuple[float, float]:
    """Seconds from the create request to ACTIVE, and to the first console line."""
    start = time.monotonic()
    server_id = client.boot(flavor, image, name=f"bench-{uuid.uuid4().hex[:6]}")
    active = None
    log = instances / server_id / "console.log"
    deadline = start + 300
    while time.monotonic() < deadline:
        if active is None:
            server = client.server(server_id)
            if server["status"] == "ERROR":
                raise RuntimeError(f"{server_id} went to ERROR: {server.get('fault')}")
            if server["status"] == "ACTIVE":
                active = time.monotonic() - start
        if active is not None and log.exists() and UP_MARKER in log.read_text(errors="replace"):
            return active, time.monotonic() - start
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-500:] if log.exists() else "(no log)"
    raise RuntimeError(f"{server_id}: no console line within 300 s; console: {tail!r}")


def run(counts: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="kn-libvirt-bench-") as tmp:
        data_dir = Path(tmp)
        settings = load_settings(data_dir=data_dir, log={"level": "WARNING"},
                                 auth={"strategy": "noauth"},
                                 service={"heartbeat_interval": 2.0},
                                 compute={"sync_interval": 10.0})
        settings = use_libvirt(settings, data_dir, host="bench")
        # Ten one-vCPU guests on a two-core machine.
        settings.compute = settings.compute.model_copy(update={"cpu_allocation_ratio": 16.0})
        cloud = EmbeddedCloud(settings).start()
        client = CloudClient(cloud.base_url)
        try:
            flavor = client.create_flavor("bench", ram=128, vcpus=1, disk=1)
            image = upload_test_image(client.http, cloud.image_url)
            print(f"{'guests':>6} {'ACTIVE median':>14} {'ACTIVE max':>11} "
                  f"{'console median':>15} {'console max':>12}")
            for n in counts:
                with ThreadPoolExecutor(n) as pool:
                    times = list(pool.map(
                        lambda _: boot_one(client, flavor, image, data_dir / "instances"),
                        range(n)))
                active = [a for a, _ in times]
                console = [c for _, c in times]
                print(f"{n:>6} {statistics.median(active):>13.2f}s {max(active):>10.2f}s "
                      f"{statistics.median(console):>14.2f}s {max(console):>11.2f}s",
                      flush=True)
                servers = client.compute("GET", "/servers").json()["servers"]
                for s in servers:
                    client.compute("DELETE", f"/servers/{s['id']}")
                for s in servers:
                    client.wait_gone(s["id"], timeout=120)
        finally:
            client.close()
            cloud.stop()
            destroy_guests_under(data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 5, 10])
    args = parser.parse_args()
    missing = missing_prerequisites()
    if missing:
        sys.exit("missing: " + "; ".join(missing))
    run(args.counts)


if __name__ == "__main__":
    main()
