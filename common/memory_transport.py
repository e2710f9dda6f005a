"""kombu's in-memory transport, with blocking waits instead of busy polling.

oslo.messaging sets the memory transport's polling interval to zero ("to speed up
tests"), so every idle RPC listener spins: a process with a handful of services burnt
a whole core doing nothing. This transport wakes listeners with a condition variable
when a message is put, so idle costs nothing and delivery is immediate.
"""

from __future__ import annotations

import threading
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, memory

_arrived = threading.Condition()
_generation = 0


def _announce() -> None:
    global _generation
    with _arrived:
        _generation += 1
        _arrived.notify_all()


class Channel(memory.Channel):
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        super()._put(queue, message, **kwargs)  # type: ignore[no-untyped-call]
        _announce()

    def _put_fanout(self, exchange: str, message: Any, routing_key: str | None = None,
                    **kwargs: Any) -> None:
        super()._put_fanout(  # type: ignore[no-untyped-call]
            exchange, message, routing_key, **kwargs)
        _announce()


class Transport(memory.Transport):
    Channel = Channel

    def drain_events(self, connection: Any, timeout: Any = None, **kwargs: Any) -> Any:
        cycle = self.cycle
        assert cycle is not None
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            with _arrived:
                seen = _generation
            try:
                cycle.get(self._deliver, timeout=timeout)  # type: ignore[no-untyped-call]
                return
            except Empty:
                pass
            remaining = None if deadline is None else deadline - monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError()
            with _arrived:
                if _generation == seen:
                    _arrived.wait(remaining)


def install() -> None:
    """Make ``memory://`` URLs (oslo's ``kombu+memory://``) use this transport."""
    TRANSPORT_ALIASES["memory"] = f"{__name__}:Transport"
