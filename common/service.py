"""Service runner: RPC servers, periodic tasks, heartbeats and graceful shutdown."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.context import admin_context, request_id_var

LOG = logging.getLogger(__name__)

# Seconds an HTTP server keeps an idle client connection open. Longer than clients keep
# theirs (httpx: 5 s), so the client drops an idle connection first: a server closing
# one just as a client sends on it was answered "Server disconnected without sending a
# response" (uvicorn's default is those same 5 s).
HTTP_KEEP_ALIVE = 75


@dataclass
class PeriodicTask:
    """Run ``func`` every ``interval`` seconds in its own thread until stopped."""

    name: str
    interval: float
    func: Callable[[], None]
    initial_delay: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"periodic-{self.name}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay = self.interval if self.initial_delay is None else self.initial_delay
        while not self._stop.wait(delay):
            token = request_id_var.set(admin_context().request_id)
            try:
                self.func()
            except Exception:
                # A periodic task must survive a bad round: the next one may succeed.
                LOG.exception("periodic task %s failed", self.name)
            finally:
                request_id_var.reset(token)
            delay = self.interval

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class Service:
    """A group of RPC servers and periodic tasks started and stopped together."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rpc_servers: list[Any] = []
        self.periodic: list[PeriodicTask] = []
        self.on_start: list[Callable[[], None]] = []
        self.on_stop: list[Callable[[], None]] = []
        self._started = False

    def add_rpc_server(self, server: Any) -> None:
        self.rpc_servers.append(server)

    def add_periodic(self, name: str, interval: float, func: Callable[[], None],
                     initial_delay: float | None = None) -> None:
        self.periodic.append(PeriodicTask(name, interval, func, initial_delay))

    def start(self) -> None:
        for hook in self.on_start:
            hook()
        for server in self.rpc_servers:
            server.start()
        for task in self.periodic:
            task.start()
        self._started = True
        # The process that runs the service says so once (cli/serve.py): an embedded
        # cloud starts several and prints its URLs instead.
        LOG.debug("service %s started", self.name)

    def stop_consuming(self) -> None:
        """Stop taking new messages and new periodic rounds; returns at once."""
        for server in self.rpc_servers:
            server.stop()
        for task in self.periodic:
            task.stop()

    def stop(self) -> None:
        """Stop consuming, let in-flight messages finish, then stop periodic tasks."""
        if not self._started:
            return
        self._started = False
        self.stop_consuming()
        for server in self.rpc_servers:
            server.wait()
        for task in self.periodic:
            task.wait(timeout=30)
        for hook in self.on_stop:
            hook()
        LOG.debug("service %s stopped", self.name)


def stop_within(timeout: float, steps: Sequence[Callable[[], None]]) -> bool:
    """Run ``steps`` in order; False if they have not all returned after ``timeout``.

    They run in a daemon thread because a step can block for as long as the message
    broker is unreachable: oslo.messaging reconnects without end, also while closing a
    connection whose heartbeat thread is reconnecting. The caller decides what to do
    when time is up.
    """
    done = threading.Event()

    def _run() -> None:
        for step in steps:
            try:
                step()
            except Exception:
                # The next steps still release what they hold (connections, ports).
                LOG.exception("stopping: %s failed", getattr(step, "__qualname__", step))
        done.set()

    threading.Thread(target=_run, name="shutdown", daemon=True).start()
    return done.wait(timeout)


class Interrupted(Exception):
    """SIGTERM or SIGINT arrived while the process was starting."""


def interrupt_start_on_signal() -> None:
    """Until ``wait_for_signal`` takes over, make SIGTERM and SIGINT raise Interrupted.

    Without it a SIGTERM between start-up and ``wait_for_signal`` killed the process
    without stopping anything; with an event instead, a start-up that waits on an absent
    peer (an agent retrying the conductor) could not be stopped at all.
    """

    def _raise(signum: int, _frame: Any) -> None:
        raise Interrupted(f"received signal {signum} while starting")

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGINT, _raise)


def wait_for_signal(done: Callable[[], bool] | None = None) -> None:
    """Block the main thread until SIGTERM or SIGINT (or until ``done()`` is true)."""
    stop = threading.Event()

    def _handler(signum: int, _frame: Any) -> None:
        LOG.info("received signal %d, shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    while not stop.wait(0.5):
        if done is not None and done():
            return
