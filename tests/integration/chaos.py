"""What the chaos tests share: a stack client that counts 5xx answers, bursts of boots,
and the end state every fault must converge to."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from benchmarks.stack import ProcessStack
from tests.cloud import CloudClient

TRANSIENT = {"BUILD", "REBOOT", "HARD_REBOOT", "RESIZE", "MIGRATING"}
FLAVOR = {"VCPU": 1, "MEMORY_MB": 256, "DISK_GB": 1}


class ChaosClient(CloudClient):
    """A client of a multi-process stack that records every 5xx it is answered."""

    def __init__(self, stack: ProcessStack, token: str = "admin:admin") -> None:
        super().__init__(stack.api_url, token=token)
        self.errors: list[str] = []
        self.http.event_hooks["response"].append(self._record)
        self.placement_http = httpx.Client(
            base_url=stack.placement_url, timeout=60,
            headers={"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "placement 1.39"})

    def _record(self, response: httpx.Response) -> None:
        if response.status_code >= 500 and response.status_code != 503:
            response.read()
            self.errors.append(f"{response.request.method} {response.request.url}: "
                               f"{response.status_code} {response.text[:300]}")

    def compute(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self._patient(lambda: self.http.request(method, f"/v2.1{path}", **kw))

    def placement(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.placement_http.request(method, path, **kw)

    @staticmethod
    def _patient(send: Callable[[], httpx.Response], tries: int = 60) -> httpx.Response:
        """A client honouring 503 + Retry-After, as openstacksdk does."""
        for _ in range(tries - 1):
            try:
                resp = send()
            except httpx.TransportError:
                time.sleep(1)
                continue
            if resp.status_code != 503:
                return resp
            time.sleep(float(resp.headers.get("Retry-After", "1")))
        return send()

    def close(self) -> None:
        super().close()
        self.placement_http.close()


def boot_burst(client: ChaosClient, flavor: str, image: str, count: int,
               fault: Callable[[], None] | None = None, after: int = 0,
               **extra: Any) -> list[str]:
    """Boot ``count`` servers from 6 threads; ``fault`` runs once ``after`` were asked."""
    asked: list[int] = []

    def one(i: int) -> str:
        asked.append(i)
        return client.boot(flavor, image, name=f"chaos{i}", **extra)

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(one, i) for i in range(count)]
        if fault is not None:
            while len(asked) < after:
                time.sleep(0.05)
            fault()
        return [f.result() for f in futures]


def settle(client: ChaosClient, ids: list[str], timeout: float = 120
           ) -> list[dict[str, Any]]:
    """Wait until no server is in a transient state; the servers as they ended."""
    deadline = time.monotonic() + timeout
    while True:
        servers = [client.server(s) for s in ids]
        busy = [s for s in servers if s["status"] in TRANSIENT
                or s["OS-EXT-STS:task_state"] is not None]
        if not busy:
            return servers
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(busy)} servers still transient {timeout:.0f} s after the fault "
                f"cleared: {[(s['id'], s['status'], s['OS-EXT-STS:task_state']) for s in busy]}")
        time.sleep(0.5)


def assert_converged(client: ChaosClient, servers: list[dict[str, Any]]) -> None:
    """Every server ACTIVE, placement holding exactly what they use, no 5xx answered."""
    assert [s["id"] for s in servers if s["status"] != "ACTIVE"] == [], [
        (s["status"], s.get("fault")) for s in servers if s["status"] != "ACTIVE"]
    for server in servers:
        held = client.placement("GET", f"/allocations/{server['id']}").json()["allocations"]
        assert len(held) == 1, (server["id"], held)
        assert next(iter(held.values()))["resources"] == FLAVOR
    n = len(servers)
    assert client.total_usage() == {rc: n * v for rc, v in FLAVOR.items()}
    assert client.errors == []


def delete_all(client: ChaosClient, ids: list[str]) -> None:
    for server_id in ids:
        assert client.compute("DELETE", f"/servers/{server_id}").status_code in (204, 404)
    for server_id in ids:
        client.wait_gone(server_id, timeout=60)
    deadline = time.monotonic() + 30
    while any(client.total_usage().values()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(client.total_usage().values())


def chaos_env(stack_dir: str) -> dict[str, str]:
    """Settings of a stack under faults: slow spawns, guests that outlive their agent,
    quick re-drives, small pools (the machine's PostgreSQL is shared)."""
    return {
        "KILONOVA_COMPUTE__FAKE_SPAWN_SECONDS": "0.5",
        "KILONOVA_COMPUTE__FAKE_STATE_DIR": f"{stack_dir}/guests",
        "KILONOVA_CONDUCTOR__REDRIVE_AFTER": "8",
        "KILONOVA_CONDUCTOR__SCHEDULER_RETRY_PAUSE": "0.5",
        # Unanswered scheduler calls are asked again for about two minutes: a broker's
        # restart, the clients' reconnection back-off, and a scheduler working through
        # the requests queued meanwhile (a short timeout would only queue more of them).
        "KILONOVA_CONDUCTOR__SCHEDULER_ATTEMPTS": "4",
        "KILONOVA_MESSAGING__RPC_TIMEOUT": "30",
        "KILONOVA_DATABASE__POOL_SIZE": "2",
        "KILONOVA_DATABASE__MAX_POOL": "8",
    }
