"""``kilonova serve all`` as a user runs it: what it prints, what it leaves on disk."""

from __future__ import annotations

import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cli.embedded import EmbeddedCloud
from cli.serve import banner
from common.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
LAST_BANNER_LINE = "        identity_api_version: 3"

# Every line `serve all` may print before it is stopped: a heading, the URLs, and how to
# log in (the password notice and a clouds.yaml, indented under its heading).
ALLOWED = [
    re.compile(r"Kilonova is running \(data in .+\)\."),
    re.compile(r"  (compute|placement|image|identity) API: +http://127\.0\.0\.1:\d+/\S+"),
    re.compile(r"  The admin password was generated and is shown only now; .+"),
    re.compile(r"  clouds\.yaml \(~/\.config/openstack/clouds\.yaml\):"),
    re.compile(r"    \S.*"),
    re.compile(r"      +\S.*"),
]


class Served:
    """One ``kilonova serve all`` process, its output read line by line."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "KILONOVA_AUTH__STRATEGY": "builtin",
                    # Idle work comes round every second or two (as in the functional
                    # clouds), so a few quiet seconds cover several rounds of it.
                    "KILONOVA_SERVICE__HEARTBEAT_INTERVAL": "1.0",
                    "KILONOVA_COMPUTE__SYNC_INTERVAL": "2.0",
                    "KILONOVA_CONDUCTOR__SWEEP_INTERVAL": "1.0", **env}
        # -X faulthandler: a process that will not stop can be made to show its threads.
        self.proc = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-m", "cli.main", "serve", "all",
             "--data-dir", str(data_dir), "--port", "0"],
            env=full_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, last: str, timeout: float = 120) -> list[str]:
        """The lines printed up to and including ``last``."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            if line is None:
                raise AssertionError("serve all exited:\n" + "\n".join(seen))
            seen.append(line)
            if line == last:
                return seen

    def idle(self, seconds: float) -> list[str]:
        """What it prints while nobody uses it for ``seconds``."""
        seen: list[str] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is not None:
                seen.append(line)
        return seen

    def stop(self) -> int:
        """SIGTERM, and the exit status; fails with every thread's stack if it hangs."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            # Well inside the graceful timeout (60 s), past which it would exit anyway.
            return self.proc.wait(timeout=50)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait(timeout=30)
            time.sleep(0.5)
            raise AssertionError(
                "serve all did not stop:\n" + "".join(self.output)[-20000:]) from None


@pytest.fixture
def serving() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()


def _password(lines: list[str]) -> str:
    start = lines.index("  clouds.yaml (~/.config/openstack/clouds.yaml):") + 1
    doc = yaml.safe_load("\n".join(line[4:] for line in lines[start:]))
    return str(doc["clouds"]["kilonova"]["auth"]["password"])


def test_serve_all_prints_its_urls_and_credentials_and_then_keeps_quiet(
        tmp_path: Path, serving: list[Served]) -> None:
    data_dir = tmp_path / "data"
    serving.append(first := Served(data_dir))
    printed = first.until(LAST_BANNER_LINE) + first.idle(3)
    assert first.stop() == 0
    assert [line for line in printed if not any(p.fullmatch(line) for p in ALLOWED)] == []
    assert "  The admin password was generated and is shown only now; " \
        "change it with `kilonova user set-password`." in printed
    password = _password(printed)
    assert len(password) >= 12

    serving.append(second := Served(data_dir))
    again = second.until(LAST_BANNER_LINE) + second.idle(1)
    assert second.stop() == 0
    assert [line for line in again if not any(p.fullmatch(line) for p in ALLOWED)] == []
    assert not any("generated" in line for line in again)
    assert _password(again) == "<the admin password>"
    assert not any(password in line for line in again)


def test_serve_all_keeps_its_data_directory_to_its_owner(
        tmp_path: Path, serving: list[Served]) -> None:
    data_dir = tmp_path / "data"
    # What an earlier version left behind: a readable directory and files.
    (data_dir / "images").mkdir(parents=True)
    data_dir.chmod(0o755)
    (data_dir / "images").chmod(0o755)
    (data_dir / "images" / "old-image").write_bytes(b"x")
    (data_dir / "images" / "old-image").chmod(0o644)
    serving.append(served := Served(data_dir))
    served.until(LAST_BANNER_LINE)
    assert served.stop() == 0

    modes = {str(path.relative_to(data_dir)): stat.S_IMODE(path.stat().st_mode)
             for path in data_dir.rglob("*")}
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert {"compute.sqlite", "placement.sqlite", "keys/token.key",
            "images/old-image"} <= set(modes)
    assert {name: mode for name, mode in modes.items()
            if mode != (0o700 if (data_dir / name).is_dir() else 0o600)} == {}


def test_a_configured_admin_password_is_never_printed(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, auth={"strategy": "builtin"},
                             identity={"admin_password": "configured-secret-1"})
    cloud = EmbeddedCloud(settings, base_url="http://127.0.0.1:8774")
    printed = banner(cloud)
    assert "configured-secret-1" not in printed
    assert "password: <the admin password>" in printed
