"""kombu's in-memory transport, with blocking waits instead of busy polling.

oslo.messaging sets the memory transport's polling interval to zero ("to speed up
tests"), so every idle RPC listener spins: a process with a handful of services burnt
a whole core doing nothing. Here a listener sleeps on its own event, and a message put
on a queue wakes only the listeners consuming that queue: idle costs nothing, delivery
is immediate, and a busy bus does not wake every thread for every message.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, memory

_registry_lock = threading.Lock()
# queue name -> wake-up events of the listeners consuming it
_listeners: defaultdict[str, set[threading.Event]] = defaultdict(set)


def _announce(queue: str) -> None:
    with _registry_lock:
        events = list(_listeners.get(queue, ()))
    for event in events:
        event.set()


class Channel(memory.Channel):
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        super()._put(queue, message, **kwargs)  # type: ignore[no-untyped-call]
        _announce(queue)

    def _put_fanout(self, exchange: str, message: Any, routing_key: str | None = None,
                    **kwargs: Any) -> None:
        queues = list(self._lookup(exchange, routing_key))  # type: ignore[no-untyped-call]
        super()._put_fanout(  # type: ignore[no-untyped-call]
            exchange, message, routing_key, **kwargs)
        for queue in queues:
            _announce(queue)


class Transport(memory.Transport):
    Channel = Channel

    def __init__(self, client: Any, **kwargs: Any) -> None:
        # oslo.messaging hands kombu "memory://" without a host, and kombu then warns
        # "No hostname was supplied" for every connection it opens: name the bus.
        if not client.hostname:
            client.hostname = "localhost"
        super().__init__(client, **kwargs)  # type: ignore[no-untyped-call]

    def _wakeup_event(self) -> threading.Event:
        event: threading.Event | None = getattr(self, "_kilonova_wakeup", None)
        if event is None:
            event = threading.Event()
            self._kilonova_wakeup = event
        names = {q for ch in self.channels for q in getattr(ch, "_active_queues", ())}
        with _registry_lock:
            for name in names:
                _listeners[name].add(event)
        return event

    def drain_events(self, connection: Any, timeout: Any = None, **kwargs: Any) -> Any:
        cycle = self.cycle
        assert cycle is not None
        deadline = None if timeout is None else monotonic() + timeout
        event = self._wakeup_event()
        while True:
            # Clear before looking: a message put after the look sets it again.
            event.clear()
            try:
                cycle.get(self._deliver, timeout=timeout)  # type: ignore[no-untyped-call]
                return
            except Empty:
                pass
            remaining = None if deadline is None else deadline - monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError()
            event.wait(remaining)


def install() -> None:
    """Make ``memory://`` URLs (oslo's ``kombu+memory://``) use this transport."""
    TRANSPORT_ALIASES["memory"] = f"{__name__}:Transport"
