"""Stopping services while the message broker is down (a private RabbitMQ node)."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.stack import ProcessStack
from tests.rabbitutil import private_broker

GRACEFUL_TIMEOUT = 5.0


def test_services_stop_within_their_graceful_timeout_while_the_broker_is_down(
        tmp_path: Path) -> None:
    with private_broker() as broker:
        stack = ProcessStack(
            tmp_path, f"sqlite:///{tmp_path / 'compute.sqlite'}",
            f"sqlite:///{tmp_path / 'placement.sqlite'}", broker.url, computes=1,
            extra_env={"KILONOVA_SERVICE__GRACEFUL_SHUTDOWN_TIMEOUT": str(GRACEFUL_TIMEOUT)})
        try:
            # Every service has talked over the bus: the agent registered through the
            # conductor, whose answer left on a connection with a heartbeat thread.
            stack.start(timeout=180)
            broker.stop()
            # Long enough for heartbeats and the agent's casts to find the broker gone
            # and start reconnecting (the heartbeat interval is 1 s).
            time.sleep(3)
            started = time.monotonic()
            codes = stack.stop()
            took = time.monotonic() - started
        finally:
            stack.stop()
    assert None not in codes.values(), f"still running after 60 s: {codes}"
    # One graceful timeout, plus the time a loaded machine takes to run exit handlers.
    assert took < GRACEFUL_TIMEOUT + 10, (took, codes)
