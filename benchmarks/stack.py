"""Run Kilonova as separate OS processes (the distributed layout) on one machine.

Used by the multi-process integration test and by the benchmarks.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

KILONOVA = [sys.executable, "-m", "cli.main"]
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ProcessStack:
    workdir: Path
    compute_db_url: str
    placement_db_url: str
    transport_url: str
    computes: int = 2
    fake_hosts_per_compute: int = 1
    # More than one of each runs them side by side (named conductor2, scheduler2, ...).
    conductors: int = 1
    schedulers: int = 1
    service_down_time: float = 6.0
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # How each process was started, so a killed one can be started again.
    _launch: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    api_port: int = 0
    placement_port: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def placement_url(self) -> str:
        return f"http://127.0.0.1:{self.placement_port}"

    def _config(self) -> Path:
        self.api_port = self.api_port or free_port()
        self.placement_port = self.placement_port or free_port()
        path = self.workdir / "kilonova.toml"
        path.write_text(f"""
data_dir = "{self.workdir / 'data'}"
[database]
compute_url = "{self.compute_db_url}"
placement_url = "{self.placement_db_url}"
[messaging]
transport_url = "{self.transport_url}"
[auth]
strategy = "noauth"
[api]
port = {self.api_port}
[placement]
url = "{self.placement_url}"
port = {self.placement_port}
[service]
heartbeat_interval = 1.0
service_down_time = {self.service_down_time}
[conductor]
sweep_interval = 1.0
[compute]
sync_interval = 5.0
fake_hosts = {self.fake_hosts_per_compute}
[log]
level = "WARNING"
""")
        return path

    def _env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["KILONOVA_CONFIG"] = str(self.workdir / "kilonova.toml")
        env["PYTHONPATH"] = str(REPO)
        env.update(self.extra_env)
        env.update(extra)
        return env

    def _spawn(self, name: str, service: str, **env: str) -> None:
        self._launch[name] = (service, env)
        log = (self.workdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [*KILONOVA, "serve", service], env=self._env(**env), stdout=log,
            stderr=subprocess.STDOUT, cwd=REPO,
        )

    def start(self, timeout: float = 90) -> ProcessStack:
        self.start_scheduling(timeout)
        self._spawn("api", "api")
        for i in range(1, self.conductors + 1):
            self._spawn(self.numbered("conductor", i), "conductor",
                        KILONOVA_COMPUTE__HOST=f"conductor{i}")
        for i in range(1, self.computes + 1):
            self._spawn(f"compute{i}", "compute", KILONOVA_COMPUTE__HOST=f"host{i}")
        self._wait_http(f"{self.api_url}/", timeout)
        self._wait_providers(self.computes * self.fake_hosts_per_compute, timeout)
        return self

    def start_scheduling(self, timeout: float = 90) -> ProcessStack:
        """Placement and the schedulers only: the scheduler benchmark is their client,
        and writes the hosts itself."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._config()
        subprocess.run([*KILONOVA, "db", "upgrade"], env=self._env(), check=True, cwd=REPO,
                       capture_output=True)
        self._spawn("placement", "placement")
        self._wait_http(f"{self.placement_url}/", timeout)
        for i in range(1, self.schedulers + 1):
            self._spawn(self.numbered("scheduler", i), "scheduler",
                        KILONOVA_COMPUTE__HOST=f"scheduler{i}")
        return self

    def _wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                httpx.get(url, timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {timeout}s; logs in {self.workdir}")

    def _wait_providers(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        headers = {"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "placement 1.39"}
        while time.monotonic() < deadline:
            self._check_alive()
            resp = httpx.get(f"{self.placement_url}/resource_providers", headers=headers)
            rps = resp.json().get("resource_providers", [])
            if len(rps) >= count and all(self._has_inventory(r["uuid"], headers) for r in rps):
                return
            time.sleep(0.3)
        raise RuntimeError(f"compute hosts did not register; logs in {self.workdir}")

    def _has_inventory(self, rp: str, headers: dict[str, str]) -> bool:
        resp = httpx.get(f"{self.placement_url}/resource_providers/{rp}/inventories",
                         headers=headers)
        return bool(resp.json().get("inventories"))

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log}")

    @staticmethod
    def numbered(service: str, i: int) -> str:
        """The process name of the i-th scheduler or conductor: the first has no number."""
        return service if i == 1 else f"{service}{i}"

    def restart(self, name: str) -> None:
        """Start a killed process again, as its supervisor (systemd) would."""
        service, env = self._launch[name]
        self._spawn(name, service, **env)

    def kill(self, name: str) -> None:
        """Kill a process the hard way, as a crashed host would die."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs.values() if p.poll() is None]

    def stop(self) -> dict[str, int | None]:
        """SIGTERM every process and wait; returns the exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = None
        self.procs.clear()
        return codes
