"""The real ``openstack`` CLI, a fork per command instead of a fresh interpreter.

Each ``openstack`` run spends about 1.5 s importing the client and its plugins before it
sends a request; the e2e tests run a few hundred commands. A zygote process imports
``openstackclient`` and every module its entry points name once, then forks a child per
command that runs ``openstackclient.shell.main`` (what the ``openstack`` script runs)
with the command's arguments, environment and working directory, its output captured.
The child is the CLI as users run it, less the import time. The zygote is a process of
its own, single-threaded, so forking it is safe (the test process runs server threads).

Protocol: one JSON object per line on the zygote's stdin (``args``, ``env``, ``cwd``,
``timeout``), one per line on its stdout (``returncode``, ``stdout``, ``stderr``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class OscZygote:
    """A running zygote: ``run`` answers as ``subprocess.run`` would for ``openstack``."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.osc_zygote"], cwd=REPO, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._lock = threading.Lock()

    def run(self, args: list[str], env: dict[str, str], cwd: Path | None,
            timeout: float) -> subprocess.CompletedProcess[str]:
        request = {"args": args, "env": env, "cwd": str(cwd) if cwd else None,
                   "timeout": timeout}
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with self._lock:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the openstack CLI zygote died ({self._proc.poll()})")
        answer = json.loads(line)
        return subprocess.CompletedProcess(["openstack", *args], answer["returncode"],
                                           answer["stdout"], answer["stderr"])

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _warm() -> Any:
    """Import the CLI and every module an ``openstack.*`` entry point names."""
    from openstackclient import shell

    for dist in importlib.metadata.distributions():
        for entry in dist.entry_points:
            if entry.group.startswith("openstack."):
                try:
                    importlib.import_module(entry.module)
                except Exception:
                    continue
    return shell


def _run_one(shell: Any, request: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: the CLI, as the ``openstack`` script runs it
            code = 1
            try:
                # Never the zygote's own stdin: it carries the requests.
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.environ.clear()
                os.environ.update(request["env"])
                if request["cwd"]:
                    os.chdir(request["cwd"])
                sys.argv = ["openstack", *request["args"]]
                code = shell.main(request["args"]) or 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + float(request["timeout"])
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = -1
                break
            time.sleep(0.01)
        out.seek(0)
        err.seek(0)
        returncode = os.waitstatus_to_exitcode(status) if status != -1 else -9
        return {"returncode": returncode,
                "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace")
                + ("" if status != -1 else "\n(killed: over its timeout)")}


def main() -> None:
    shell = _warm()
    for line in sys.stdin:
        answer = _run_one(shell, json.loads(line))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
